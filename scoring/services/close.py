"""The weekly close (SPEC §3, §4): scores, flags and badges of one organization-week.

`week_close` is set-based: a fixed number of SQL statements per organization-week, whatever
the number of producers or activities — aggregates in SQL, the per-producer arithmetic in
Python over the aggregated rows, and bulk upserts (`INSERT … ON CONFLICT`).

Decisions where SPEC §3 leaves room (tests pin each one):
- A week with no applicable expectation is *not* excused: met_all = true, completion
  100.0, expectations 0/0, so it extends the streak.
- A week is excused when it has at least one applicable expectation and all of them are
  excused; met_all is then true (nothing non-excused was missed) and the streak is carried
  over unchanged.
- An exemption names one Expectation row; it covers the applicable expectation of that
  row's activity type (so it survives an effective-dated target change). Without an
  expectation it covers every expectation of the weeks.
- Two applicable expectations with the same (highest) target: the lower id counts.
- Flags of a (producer, week) that are no longer missed are kept (their ids may be referred
  to) and become `excused` when the expectation of their type is excused now, else
  `resolved`; a missed one is (re)opened. The close owns missed-expectation flags.
- Badges of a recomputed week that no longer hold are removed. `perfect-month` needs every
  final week starting in the month met and not excused (a ramp month is not perfect), and
  the producer scored in each of those weeks.
- A producer no longer active in a recomputed week loses that week's score.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import operator
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, Min, OuterRef, Q, Sum, Value, When
from django.utils import timezone

from accountability.models import Membership, Organization, Role, User
from accountability.services import audit_log
from accountability.weeks import ONE_WEEK, align, current_week_start, week_closes_at, weeks_between
from activities.models import Activity, Expectation
from activities.models import Status as ActivityStatus
from scoring.badges import BUILTIN_BADGES, STREAK_BADGES
from scoring.locks import organization_lock
from scoring.models import Badge, BadgeAward, ExemptionRequest, Flag, WeekClose, WeeklyScore

# Computed per (producer, week): updated in place when a week is closed again.
SCORE_COMPUTED_COLUMNS = [
    "points",
    "completion",
    "expectations_met",
    "expectations_total",
    "excused",
    "met_all",
    "streak",
    "rank_org",
    "rank_team",
    "is_final",
    "computed_at",
]


@dataclass
class _Line:
    """One producer's week while it is being computed."""

    producer_id: int
    team_id: int | None
    points: int = 0
    completion: Decimal = Decimal("100.0")
    met: int = 0
    total: int = 0
    excused: bool = False
    met_all: bool = True
    streak: int = 0
    streak_grew: bool = False
    rank_org: int | None = None
    rank_team: int | None = None


@dataclass
class _Week:
    """Everything read for one organization-week (a fixed number of queries)."""

    organization: Organization
    week_start: dt.date
    members: list[tuple[int, int | None, dt.date]]
    quantities: dict[tuple[int, int], int]
    points: dict[int, int]
    expectations: list[tuple[int, int, int | None, int]]
    exempt_all: set[int]
    exempt_types: set[tuple[int, int]]
    previous_streaks: dict[int, int]

    @functools.cached_property
    def ramp_end(self) -> dict[int, dt.date]:
        """Per producer, the first week that is neither the partial first week nor a ramp week."""
        org = self.organization
        ends = {}
        for producer_id, _team_id, active_from in self.members:
            first_full = align(active_from, org.week_start)
            if first_full < active_from:
                first_full += ONE_WEEK
            ends[producer_id] = first_full + org.ramp_weeks * ONE_WEEK
        return ends

    @functools.cached_property
    def _in_force_by_team(self) -> dict:
        return {}

    def in_force(self, team_id: int | None) -> dict[int, tuple[int, int]]:
        """Activity type → (expectation id, target) applicable to a producer of `team_id`."""
        if team_id not in self._in_force_by_team:
            self._in_force_by_team[team_id] = self._in_force_compute(team_id)
        return self._in_force_by_team[team_id]

    def _in_force_compute(self, team_id: int | None) -> dict[int, tuple[int, int]]:
        best: dict[int, tuple[int, int]] = {}
        for expectation_id, type_id, exp_team_id, target in sorted(self.expectations):
            if exp_team_id is not None and exp_team_id != team_id:
                continue
            if type_id not in best or target > best[type_id][1]:
                best[type_id] = (expectation_id, target)
        return best

    def is_excused(self, producer_id: int, type_id: int) -> bool:
        return (
            producer_id in self.exempt_all
            or (producer_id, type_id) in self.exempt_types
            or self.week_start < self.ramp_end.get(producer_id, self.week_start)
        )


def week_close(*, organization: Organization, week_start: dt.date, final: bool = True) -> int:
    """Compute (final=True: close) one organization-week; returns the number of producers scored.

    Final: scores with is_final, flags, badges and the WeekClose record, in one transaction
    under the organization's lock. Provisional (final=False): scores with is_final = false
    only, and nothing at all if the week is already closed.
    """
    if week_start.weekday() != organization.week_start:
        raise ValueError(f"{week_start} is not a week start of {organization}.")
    now = timezone.now()
    with transaction.atomic():
        organization_lock(organization_id=organization.pk)
        if not final and WeekClose.objects.filter(organization=organization, week_start=week_start).exists():
            return 0
        week = _week_read(organization=organization, week_start=week_start, final=final)
        lines = _lines_compute(week)
        _scores_write(week=week, lines=lines, final=final, now=now)
        if final:
            _flags_write(week=week, lines=lines, now=now)
            _badges_write(week=week, lines=lines, now=now)
            WeekClose.objects.bulk_create(
                [WeekClose(organization=organization, week_start=week_start, producers=len(lines), closed_at=now)],
                update_conflicts=True,
                unique_fields=["organization", "week_start"],
                update_fields=["producers"],
            )
            audit_log(
                organization=organization,
                actor=None,
                action="scoring.week_closed",
                after={"week_start": week_start.isoformat(), "producers": len(lines)},
            )
    return len(lines)


def close_due_weeks(*, organization: Organization, now: dt.datetime, until: dt.date | None = None) -> list[dt.date]:
    """Close every due week of the organization not closed yet, oldest first; returns them.

    Starts at the week of the organization's first producer membership. `until`: close no
    week starting after that date. A failure stops the run (later weeks depend on the
    failed one's streaks); the failed week is left as it was and the next run retries it.
    """
    first_active = Membership.objects.filter(organization=organization, role=Role.PRODUCER).aggregate(
        first=Min("active_from")
    )["first"]
    if first_active is None:
        return []
    last = current_week_start(organization, now) - ONE_WEEK
    if now < week_closes_at(last, organization):
        last -= ONE_WEEK
    if until is not None:
        last = min(last, align(until, organization.week_start))
    first = align(first_active, organization.week_start)
    closed = set(
        WeekClose.objects.filter(organization=organization, week_start__gte=first).values_list("week_start", flat=True)
    )
    done = []
    for week_start in weeks_between(first, last):
        if week_start in closed:
            continue
        with transaction.atomic():
            organization_lock(organization_id=organization.pk)
            # Another worker may have closed it while this one waited for the lock.
            if WeekClose.objects.filter(organization=organization, week_start=week_start).exists():
                continue
            week_close(organization=organization, week_start=week_start, final=True)
        done.append(week_start)
    return done


def _active_memberships(*, organization: Organization, week_start: dt.date):
    """Producer memberships active on at least one day of the week."""
    return Membership.objects.filter(
        organization=organization, role=Role.PRODUCER, active_from__lte=week_start + dt.timedelta(days=6)
    ).filter(Q(active_to__isnull=True) | Q(active_to__gte=week_start))


def _week_read(*, organization: Organization, week_start: dt.date, final: bool) -> _Week:
    members = list(
        _active_memberships(organization=organization, week_start=week_start)
        .order_by("user_id")
        .values_list("user_id", "team_id", "active_from")
    )
    quantities, points = {}, {}
    totals = (
        Activity.objects.filter(organization=organization, week_start=week_start)
        .exclude(status=ActivityStatus.REJECTED)
        .order_by()
        .values("producer_id", "activity_type_id")
        .annotate(units=Sum("quantity"), worth=Sum(F("quantity") * F("activity_type__points")))
    )
    for row in totals:
        quantities[row["producer_id"], row["activity_type_id"]] = row["units"]
        points[row["producer_id"]] = points.get(row["producer_id"], 0) + row["worth"]
    expectations = list(
        Expectation.objects.filter(organization=organization, effective_from__lte=week_start)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=week_start))
        .values_list("id", "activity_type_id", "team_id", "target")
    )
    exempt_all, exempt_types = set(), set()
    exemptions = ExemptionRequest.objects.filter(
        organization=organization,
        status=ExemptionRequest.Status.APPROVED,
        week_from__lte=week_start,
        week_to__gte=week_start,
    ).values_list("producer_id", "expectation__activity_type_id")
    for producer_id, type_id in exemptions:
        if type_id is None:
            exempt_all.add(producer_id)
        else:
            exempt_types.add((producer_id, type_id))
    previous = WeeklyScore.objects.filter(organization=organization, week_start=week_start - ONE_WEEK)
    if final:
        previous = previous.filter(is_final=True)
    return _Week(
        organization=organization,
        week_start=week_start,
        members=members,
        quantities=quantities,
        points=points,
        expectations=expectations,
        exempt_all=exempt_all,
        exempt_types=exempt_types,
        previous_streaks=dict(previous.values_list("producer_id", "streak")),
    )


def _completion(parts: list[tuple[int, int]]) -> Decimal:
    """Mean over (actual, target) of min(actual / target, 1) × 100, rounded half up to one
    decimal, in exact integer arithmetic (no float surprises at x.x5)."""
    if not parts:
        return Decimal("100.0")
    common = math.lcm(*(target for _actual, target in parts))
    numerator = sum(min(actual, target) * (common // target) for actual, target in parts)
    denominator = common * len(parts)
    tenths = (2000 * numerator + denominator) // (2 * denominator)
    return Decimal(tenths).scaleb(-1)


def _lines_compute(week: _Week) -> list[_Line]:
    lines = []
    for producer_id, team_id, _active_from in week.members:
        line = _Line(producer_id=producer_id, team_id=team_id, points=week.points.get(producer_id, 0))
        applicable = week.in_force(team_id)
        ratios = []
        for type_id, (_expectation_id, target) in applicable.items():
            if week.is_excused(producer_id, type_id):
                continue
            actual = week.quantities.get((producer_id, type_id), 0)
            ratios.append((actual, target))
            line.met += actual >= target
        line.total = len(ratios)
        line.completion = _completion(ratios)
        line.met_all = line.met == line.total
        line.excused = bool(applicable) and line.total == 0
        previous = week.previous_streaks.get(producer_id, 0)
        if line.excused:
            line.streak = previous
        elif line.met_all:
            line.streak, line.streak_grew = previous + 1, True
        lines.append(line)
    _ranks_assign(lines, key="rank_org", group=lambda line: None)
    _ranks_assign(lines, key="rank_team", group=lambda line: line.team_id)
    return lines


def _ranks_assign(lines: list[_Line], *, key: str, group) -> None:
    """Standard competition ranking by points (1, 2, 2, 4) within each group."""
    groups: dict = {}
    for line in lines:
        groups.setdefault(group(line), []).append(line)
    for members in groups.values():
        members.sort(key=lambda line: -line.points)
        for position, line in enumerate(members):
            tied_with_previous = position and members[position - 1].points == line.points
            setattr(line, key, getattr(members[position - 1], key) if tied_with_previous else position + 1)


def _scores_write(*, week: _Week, lines: list[_Line], final: bool, now: dt.datetime) -> None:
    org_id, week_start = week.organization.pk, week.week_start
    scores = [
        (
            org_id,
            line.producer_id,
            line.team_id,
            week_start,
            line.points,
            line.completion,
            line.met,
            line.total,
            line.excused,
            line.met_all,
            line.streak,
            line.rank_org,
            line.rank_team,
            final,
            now,
        )
        for line in lines
    ]
    active = _active_memberships(organization=week.organization, week_start=week.week_start).values("user_id")
    WeeklyScore.objects.filter(organization=week.organization, week_start=week.week_start).exclude(
        producer_id__in=active
    ).delete()
    rows_upsert(
        WeeklyScore,
        ["organization_id", "producer_id", "team_id", "week_start", *SCORE_COMPUTED_COLUMNS],
        scores,
        conflict=["producer_id", "week_start"],
        update=["organization_id", "team_id", *SCORE_COMPUTED_COLUMNS],
    )


def _flags_write(*, week: _Week, lines: list[_Line], now: dt.datetime) -> None:
    """One open flag per missed, non-excused expectation; stale ones excused or resolved."""
    missed: dict[tuple[int, int], tuple[int, int]] = {}
    for line in lines:
        for type_id, (expectation_id, target) in week.in_force(line.team_id).items():
            actual = week.quantities.get((line.producer_id, type_id), 0)
            if actual < target and not week.is_excused(line.producer_id, type_id):
                missed[line.producer_id, expectation_id] = (actual, target)
    active = {line.producer_id for line in lines}
    existing = Flag.objects.filter(
        organization=week.organization, week_start=week.week_start, kind=Flag.Kind.MISSED_EXPECTATION
    ).values_list("id", "producer_id", "expectation_id", "expectation__activity_type_id", "actual", "target", "status")
    changes: dict[int, tuple] = {}
    for flag_id, producer_id, expectation_id, type_id, actual, target, status in existing:
        wanted = missed.pop((producer_id, expectation_id), None)
        if wanted is not None:
            new = (*wanted, Flag.Status.OPEN)
        elif producer_id in active and week.is_excused(producer_id, type_id):
            new = (actual, target, Flag.Status.EXCUSED)
        else:
            new = (actual, target, Flag.Status.RESOLVED)
        if new != (actual, target, status):
            changes[flag_id] = new
    rows_update(
        Flag, ["id", "actual", "target", "status", "updated_at"], [(i, *new, now) for i, new in changes.items()]
    )
    org_id, week_start, kind, status = (
        week.organization.pk,
        week.week_start,
        Flag.Kind.MISSED_EXPECTATION,
        Flag.Status.OPEN,
    )
    rows_upsert(
        Flag,
        [
            "organization_id",
            "producer_id",
            "week_start",
            "kind",
            "expectation_id",
            "actual",
            "target",
            "status",
            "created_at",
            "updated_at",
        ],
        [
            (org_id, producer_id, week_start, kind, expectation_id, actual, target, status, now, now)
            for (producer_id, expectation_id), (actual, target) in missed.items()
        ],
    )


def badges_builtin() -> dict[str, int]:
    """Code → id of the built-in badges (created here if a flushed test database lacks them)."""
    ids = dict(Badge.objects.filter(code__in=BUILTIN_BADGES).values_list("code", "id"))
    for code in BUILTIN_BADGES.keys() - ids.keys():
        name, description, icon = BUILTIN_BADGES[code]
        badge, _ = Badge.objects.get_or_create(
            code=code, defaults={"name": name, "description": description, "icon": icon}
        )
        ids[code] = badge.id
    return ids


def _badges_write(*, week: _Week, lines: list[_Line], now: dt.datetime) -> None:
    badge_ids = badges_builtin()
    earned: dict[str, set[int]] = {code: set() for code in BUILTIN_BADGES}
    by_producer = {line.producer_id: line for line in lines}
    # Probe once per producer of the week, not once per activity: the NOT EXISTS runs on
    # the (producer, week_start) index for each distinct producer only.
    week_producers = (
        Activity.objects.filter(organization=week.organization, week_start=week.week_start)
        .exclude(status=ActivityStatus.REJECTED)
        .order_by()
        .values("producer_id")
    )
    earlier = Activity.objects.filter(producer=OuterRef("pk"), week_start__lt=week.week_start).exclude(
        status=ActivityStatus.REJECTED
    )
    first_timers = User.objects.filter(pk__in=week_producers).filter(~Exists(earlier)).values_list("pk", flat=True)
    earned["first-activity"] = set(first_timers) & by_producer.keys()
    for line in lines:
        if line.streak_grew and line.streak in STREAK_BADGES:
            earned[STREAK_BADGES[line.streak]].add(line.producer_id)
        if line.rank_org == 1 and line.points > 0:
            earned["top-of-the-week"].add(line.producer_id)
    earned["perfect-month"] = _perfect_month(week=week, by_producer=by_producer)
    BadgeAward.objects.filter(
        organization=week.organization, week_start=week.week_start, badge_id__in=badge_ids.values()
    ).exclude(
        functools.reduce(
            operator.or_, [Q(badge_id=badge_ids[code], producer_id__in=sorted(ps)) for code, ps in earned.items()]
        )
    ).delete()
    rows_upsert(
        BadgeAward,
        ["organization_id", "producer_id", "badge_id", "week_start", "created_at"],
        [
            (week.organization.pk, producer_id, badge_ids[code], week.week_start, now)
            for code, producers in earned.items()
            for producer_id in sorted(producers)
        ],
    )


def _perfect_month(*, week: _Week, by_producer: dict[int, _Line]) -> set[int]:
    """Producers for whom the closing week ends a calendar month of met weeks."""
    week_start = week.week_start
    if (week_start + ONE_WEEK).month == week_start.month:
        return set()  # not the last week starting in its month
    month_first = week_start.replace(day=1)
    first_week = align(month_first, week.organization.week_start)
    if first_week < month_first:
        first_week += ONE_WEEK
    earlier_weeks = (week_start - first_week).days // 7
    met_earlier = dict(
        WeeklyScore.objects.filter(
            organization=week.organization,
            is_final=True,
            week_start__gte=first_week,
            week_start__lt=week_start,
            met_all=True,
            excused=False,
        )
        .order_by()
        .values("producer_id")
        .annotate(weeks=Count("id"))
        .values_list("producer_id", "weeks")
    )
    return {
        producer_id
        for producer_id, line in by_producer.items()
        if line.met_all and not line.excused and met_earlier.get(producer_id, 0) == earlier_weeks
    }


def rows_upsert(model, columns: list[str], rows: list[tuple], *, conflict=None, update=None) -> None:
    """INSERT many rows in one statement. With `conflict`/`update`: ON CONFLICT (conflict) DO
    UPDATE SET update = the new values; without: ON CONFLICT DO NOTHING (any constraint).

    On PostgreSQL the columns travel as arrays and are unnested (a fixed number of
    parameters, no model instances: the close of 5,000 producers stays well under a
    second); elsewhere it is bulk_create.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        if update:
            model.objects.bulk_create(objects, update_conflicts=True, unique_fields=conflict, update_fields=update)
        else:
            model.objects.bulk_create(objects, ignore_conflicts=True)
        return
    fields = [model._meta.get_field(column) for column in columns]
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    if update:
        targets = ", ".join(quote(model._meta.get_field(column).column) for column in conflict)
        sets = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in (model._meta.get_field(u).column for u in update))
        on_conflict = f"ON CONFLICT ({targets}) DO UPDATE SET {sets}"
    else:
        on_conflict = "ON CONFLICT DO NOTHING"
    # Identifiers come from model metadata only; every value is a parameter.
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({names}) SELECT * FROM unnest({arrays}) {on_conflict}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [_pg_array(values) for values in zip(*rows, strict=True)])


def rows_update(model, columns: list[str], rows: list[tuple]) -> None:
    """UPDATE many rows by id (the first column) to per-row values, in one statement."""
    if not rows:
        return
    fields = [model._meta.get_field(column) for column in columns]
    if connection.vendor != "postgresql":
        ids = [row[0] for row in rows]
        model.objects.filter(id__in=ids).update(
            **{
                field.name: Case(*[When(id=row[0], then=Value(row[i])) for row in rows], output_field=field)
                for i, field in enumerate(fields)
                if i
            }
        )
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    aliases = [f"c{i}" for i in range(len(fields))]
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    sets = ", ".join(f"{quote(field.column)} = v.{alias}" for field, alias in zip(fields[1:], aliases[1:], strict=True))
    # Identifiers come from model metadata only; every value is a parameter.
    where = f"{table}.{quote(fields[0].column)} = v.c0"
    sql = f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v({', '.join(aliases)}) WHERE {where}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [_pg_array(values) for values in zip(*rows, strict=True)])


def _pg_array(values) -> str:
    """A PostgreSQL array literal ('{1,2,NULL}'): one constant for the planner, where a
    Python list would become ARRAY[...] with one expression per element (much slower to parse)."""

    def item(value) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, int | Decimal):
            return str(value)
        text = value.isoformat() if isinstance(value, dt.date) else str(value)
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    if all(type(value) is int for value in values):  # the common case, fast
        return "{" + ",".join(map(str, values)) + "}"
    if len(set(values)) == 1:  # a constant column (organization, week, now)
        return "{" + ",".join([item(values[0])] * len(values)) + "}"
    return "{" + ",".join(item(value) for value in values) + "}"
