"""Weekly close benchmark (SPEC §7): `week_close` against a one-statement SQL floor and a
naive per-producer ORM loop, measured side by side in the same run. PostgreSQL only.

Run by `make bench` with DATABASE_URL pointing at PostgreSQL (without it, or on another
database, it says so and exits 0). It works in a throwaway test database created and
destroyed with Django's test machinery, so it never touches real data.

Data (generated in SQL, INSERT … SELECT generate_series):
- "main": one organization, 5,000 producers on 50 teams, the default activity types with
  3 organization-wide expectations, 1,000,000 activities over 52 weeks (≈19,200 in the
  closing week, a week in the past); 5 % rejected.
- "stress": the same shape with 200,000 activities in the closing week plus 200,000 spread
  over the 51 weeks before it (400,000 in all, to keep generation short).
- "small": 500 producers on 5 teams and ≈1,900 activities in the closing week, for the
  query-count comparison (the number of queries of a close must not grow with producers).

Measured per variant:
(a) week_close(final=True): the first close, and the re-close (the second run, which
    updates every row; a third run too, the faster of the two counts, as the machine may be
    busy) — scores, flags, badges, WeekClose and audit.
(b) the floor: ONE hand-written INSERT … SELECT … ON CONFLICT DO UPDATE computing the same
    score rows (points, completion, met/total, met_all, streak, rank_org and rank_team by
    RANK()) into scoring_weeklyscore; run on the close's rows (an update, like the re-close),
    best of 2. Its rows are checked against what week_close wrote.
(c) a naive per-producer ORM loop (per producer: query activities, query expectations,
    compute in Python, update_or_create a WeeklyScore; in one transaction, ranks left out,
    so it is a lower bound) on 200 producers, best of 2, extrapolated ×25 to 5,000.

Bars: (a) re-close / (b) ≤ 5×; (c) / (a) re-close ≥ 50×; queries of (a) equal for 500 and
5,000 producers. PASS/FAIL is printed; `--strict` makes a failed bar exit 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accountability.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment, teardown_test_environment  # noqa: E402

PRODUCERS = 5_000
TEAMS = 50
WEEKS = 52
ACTIVITIES = 1_000_000
STRESS_WEEK = 200_000
STRESS_BACKGROUND = 200_000
SMALL_PRODUCERS = 500
NAIVE_SLICE = 200
LAST_WEEK = dt.date(2026, 11, 23)  # a Monday; the 52 weeks of history end with it
CLOSING_WEEK = dt.date(2026, 11, 16)  # closed in the benchmark (in the past)
HISTORY = [LAST_WEEK - dt.timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]
SINCE = dt.date(2024, 1, 1)  # memberships start long before: no ramp weeks
# Organization-wide weekly targets (type name → target): a mix of met and missed weeks.
TARGETS = {"CRM entry": 2, "Social post": 1, "New policy sold": 1}

BAR_FLOOR = 5.0
BAR_NAIVE = 50.0


def organization_build(*, slug: str, producers: int, teams: int):
    """An organization with producers on teams, a leader, the default types and targets."""
    from accountability.models import Membership, Organization, Role, Team, User
    from activities.models import Expectation
    from activities.services.config import default_activity_types_create

    org = Organization.objects.create(name=f"Bench {slug}", slug=slug, timezone="UTC", week_start=0)
    team_rows = Team.objects.bulk_create(Team(organization=org, name=f"Team {n}") for n in range(teams))
    people = [User(email=f"p{n}@{slug}.bench.example", name=f"Producer {n}") for n in range(producers)]
    leader = User(email=f"leader@{slug}.bench.example", name="Leader")
    for user in [*people, leader]:
        user.password = "!"  # unusable, without generating 5,000 random strings
    User.objects.bulk_create([*people, leader], batch_size=2_000)
    people = list(User.objects.filter(email__endswith=f"@{slug}.bench.example").exclude(pk=leader.pk).order_by("pk"))
    leader = User.objects.get(email=f"leader@{slug}.bench.example")
    Membership.objects.bulk_create(
        [Membership(user=u, organization=org, role=Role.PRODUCER, team=team_rows[n % teams], active_from=SINCE)
         for n, u in enumerate(people)]
        + [Membership(user=leader, organization=org, role=Role.LEADER, active_from=SINCE)],
        batch_size=2_000,
    )  # fmt: skip
    types = {t.name: t for t in default_activity_types_create(organization=org)}
    Expectation.objects.bulk_create(
        Expectation(organization=org, activity_type=types[name], target=target, effective_from=HISTORY[0])
        for name, target in TARGETS.items()
    )
    return org


def activities_generate(*, org, weeks: list[dt.date], rows: int) -> None:
    """`rows` activities in one statement, round-robin over `weeks` and the producers, types
    and quantities (1–3) at random, 5 % rejected, 25 % verified. occurred_at is unique per
    week and row, so the no-exact-duplicate constraint holds."""
    per_week = -(-rows // len(weeks))
    spacing = max(1, 604_799 // per_week)  # seconds between rows of one week
    sql = """
        WITH p AS (
            SELECT array_agg(user_id ORDER BY user_id) AS ids, count(*) AS n
            FROM accountability_membership WHERE organization_id = %(org)s AND role = 'producer'
        ), t AS (
            SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n
            FROM activities_activitytype WHERE organization_id = %(org)s
        ), g AS (
            SELECT i, (%(weeks)s::date[])[1 + i %% %(w)s] AS week, i / %(w)s AS slot, random() AS r
            FROM generate_series(0, %(rows)s - 1) AS i
        )
        INSERT INTO activities_activity (
            organization_id, producer_id, activity_type_id, occurred_at, week_start, quantity, value,
            note, evidence_url, source, external_id, status, needs_review, review_reason,
            rejection_reason, created_at, updated_at)
        SELECT %(org)s, p.ids[1 + g.slot %% p.n], t.ids[1 + floor(random() * t.n)::int],
               g.week::timestamp AT TIME ZONE 'UTC' + make_interval(secs => g.slot * %(spacing)s),
               g.week, 1 + floor(random() * 3)::int, NULL, '', '', 'web', '',
               CASE WHEN g.r < 0.05 THEN 'rejected' WHEN g.r < 0.30 THEN 'verified' ELSE 'logged' END,
               false, '', '', now(), now()
        FROM g, p, t
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql, {"org": org.pk, "weeks": weeks, "w": len(weeks), "rows": rows, "spacing": spacing}
        )  # fmt: skip


@contextmanager
def bulk_load(*, table: str):
    """Load fast into a throwaway table: its secondary indexes and unique constraints are
    dropped and rebuilt after (one sort instead of a million index insertions), and the
    foreign-key triggers are off meanwhile (session_replication_role; the generated rows are
    consistent by construction — the rebuilt unique constraints still check them)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype = 'u'",
            [table],
        )
        uniques = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conrelid = %s::regclass AND c.conname = i.indexname)",
            [table, table],
        )
        indexes = cursor.fetchall()
        for name, _definition in uniques:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for name, definition in uniques:
                cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
            for _name, definition in indexes:
                cursor.execute(definition)
            cursor.execute("RESET maintenance_work_mem")


FLOOR_SQL = """
WITH members AS (
    SELECT m.user_id AS producer_id, m.team_id
    FROM accountability_membership m
    WHERE m.organization_id = %(org)s AND m.role = 'producer'
      AND m.active_from <= %(week)s::date + 6 AND (m.active_to IS NULL OR m.active_to >= %(week)s)
), totals AS (
    SELECT a.producer_id, a.activity_type_id, SUM(a.quantity) AS units, SUM(a.quantity * t.points) AS worth
    FROM activities_activity a JOIN activities_activitytype t ON t.id = a.activity_type_id
    WHERE a.organization_id = %(org)s AND a.week_start = %(week)s AND a.status <> 'rejected'
    GROUP BY a.producer_id, a.activity_type_id
), teams AS (
    SELECT DISTINCT team_id FROM members
), applicable AS (  -- per team and type, the applicable expectation with the higher target
    SELECT DISTINCT ON (tm.team_id, e.activity_type_id) tm.team_id, e.activity_type_id, e.target
    FROM teams tm JOIN activities_expectation e
      ON e.organization_id = %(org)s AND (e.team_id IS NULL OR e.team_id = tm.team_id)
     AND e.effective_from <= %(week)s AND (e.effective_to IS NULL OR e.effective_to > %(week)s)
    ORDER BY tm.team_id, e.activity_type_id, e.target DESC, e.id
), per_producer AS (
    SELECT m.producer_id, count(*) AS total,
           count(*) FILTER (WHERE COALESCE(tt.units, 0) >= a.target) AS met,
           SUM(LEAST(COALESCE(tt.units, 0), a.target)::numeric / a.target) AS ratios
    FROM members m JOIN applicable a ON a.team_id IS NOT DISTINCT FROM m.team_id
    LEFT JOIN totals tt ON tt.producer_id = m.producer_id AND tt.activity_type_id = a.activity_type_id
    GROUP BY m.producer_id
), points AS (
    SELECT producer_id, SUM(worth) AS points FROM totals GROUP BY producer_id
), scores AS (
    SELECT m.producer_id, m.team_id, COALESCE(pt.points, 0) AS points,
           CASE WHEN pp.total IS NULL THEN 100.0 ELSE round(100 * pp.ratios / pp.total, 1) END AS completion,
           COALESCE(pp.met, 0) AS met, COALESCE(pp.total, 0) AS total,
           COALESCE(pp.met, 0) = COALESCE(pp.total, 0) AS met_all
    FROM members m LEFT JOIN per_producer pp USING (producer_id) LEFT JOIN points pt USING (producer_id)
)
INSERT INTO scoring_weeklyscore (
    organization_id, producer_id, team_id, week_start, points, completion, expectations_met,
    expectations_total, excused, met_all, streak, rank_org, rank_team, is_final, computed_at)
SELECT %(org)s, s.producer_id, s.team_id, %(week)s, s.points, s.completion, s.met, s.total, false,
       s.met_all, CASE WHEN s.met_all THEN COALESCE(prev.streak, 0) + 1 ELSE 0 END,
       RANK() OVER (ORDER BY s.points DESC), RANK() OVER (PARTITION BY s.team_id ORDER BY s.points DESC),
       true, now()
FROM scores s
LEFT JOIN scoring_weeklyscore prev
  ON prev.producer_id = s.producer_id AND prev.week_start = %(week)s::date - 7 AND prev.is_final
ON CONFLICT (producer_id, week_start) DO UPDATE SET
    organization_id = EXCLUDED.organization_id, team_id = EXCLUDED.team_id, points = EXCLUDED.points,
    completion = EXCLUDED.completion, expectations_met = EXCLUDED.expectations_met,
    expectations_total = EXCLUDED.expectations_total, excused = EXCLUDED.excused,
    met_all = EXCLUDED.met_all, streak = EXCLUDED.streak, rank_org = EXCLUDED.rank_org,
    rank_team = EXCLUDED.rank_team, is_final = EXCLUDED.is_final, computed_at = EXCLUDED.computed_at
"""

SCORE_FIELDS = (
    "producer_id", "team_id", "points", "completion", "expectations_met", "expectations_total", "excused",
    "met_all", "streak", "rank_org", "rank_team", "is_final",
)  # fmt: skip


def scores_snapshot(org) -> set[tuple]:
    from scoring.models import WeeklyScore

    return set(WeeklyScore.objects.filter(organization=org, week_start=CLOSING_WEEK).values_list(*SCORE_FIELDS))


def close_timed(org) -> tuple[float, int, float, list[tuple[float, str]]]:
    """Seconds, number of queries, seconds spent in SQL (the rest is Python), slowest queries."""
    from scoring.services.close import week_close

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        week_close(organization=org, week_start=CLOSING_WEEK, final=True)
        seconds = time.perf_counter() - started
    timed = sorted(((float(q["time"]), q["sql"]) for q in queries.captured_queries), reverse=True)
    return seconds, len(queries), sum(t for t, _sql in timed), timed[:3]


def floor_timed(org) -> float:
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(FLOOR_SQL, {"org": org.pk, "week": CLOSING_WEEK})
    return time.perf_counter() - started


def naive_timed(org) -> float:
    """The close written the obvious way, one producer at a time, on NAIVE_SLICE producers."""
    from django.db.models import Q

    from accountability.models import Membership, Role
    from activities.models import Activity, Expectation, Status
    from scoring.models import WeeklyScore

    members = list(
        Membership.objects.filter(organization=org, role=Role.PRODUCER)
        .order_by("user_id")
        .values_list("user_id", "team_id")[:NAIVE_SLICE]
    )
    started = time.perf_counter()
    with transaction.atomic():
        for producer_id, team_id in members:
            activities = list(
                Activity.objects.filter(organization=org, producer_id=producer_id, week_start=CLOSING_WEEK)
                .exclude(status=Status.REJECTED)
                .select_related("activity_type")
            )
            expectations = list(
                Expectation.objects.filter(organization=org, effective_from__lte=CLOSING_WEEK)
                .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=CLOSING_WEEK))
                .filter(Q(team__isnull=True) | Q(team_id=team_id))
                .order_by("id")
            )
            units: dict[int, int] = defaultdict(int)
            points = 0
            for activity in activities:
                units[activity.activity_type_id] += activity.quantity
                points += activity.quantity * activity.activity_type.points
            targets: dict[int, int] = {}
            for expectation in expectations:
                targets[expectation.activity_type_id] = max(
                    targets.get(expectation.activity_type_id, 0), expectation.target
                )
            met = sum(units[type_id] >= target for type_id, target in targets.items())
            if targets:
                mean = sum(Fraction(min(units[t], target), target) for t, target in targets.items()) / len(targets)
                completion = (Decimal(mean.numerator * 100) / Decimal(mean.denominator)).quantize(
                    Decimal("0.1"), rounding=ROUND_HALF_UP
                )
            else:
                completion = Decimal("100.0")
            WeeklyScore.objects.update_or_create(
                producer_id=producer_id,
                week_start=CLOSING_WEEK,
                defaults={
                    "organization": org,
                    "team_id": team_id,
                    "points": points,
                    "completion": completion,
                    "expectations_met": met,
                    "expectations_total": len(targets),
                    "met_all": met == len(targets),
                    "is_final": True,
                },
            )
    return time.perf_counter() - started


def variant_measure(name: str, org, *, in_week: int) -> dict:
    first, first_queries, _sql, _slow = close_timed(org)
    # The re-close: the second run; a third one too, the faster counts (the machine may be busy).
    again, again_queries, again_sql, slowest = min(close_timed(org), close_timed(org))
    closed = scores_snapshot(org)
    floor = floor_timed(org)
    floor_again = floor_timed(org)
    differ = len(closed ^ scores_snapshot(org)) // 2
    naive_slice = min(naive_timed(org), naive_timed(org))
    return {
        "name": name,
        "in_week": in_week,
        "scored": len(closed),
        "first": first,
        "again": again,
        "again_sql": again_sql,
        "slowest": slowest,
        "queries": (first_queries, again_queries),
        "floor": min(floor, floor_again),
        "differ": differ,
        "naive": naive_slice * (PRODUCERS / NAIVE_SLICE),
        "naive_slice": naive_slice,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 when a bar fails")
    parser.add_argument("--verbose", action="store_true", help="print the slowest queries of the re-close")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print(
            f"close_week: skipped — needs PostgreSQL (DATABASE_URL=postgres://…), the database is {connection.vendor}."
        )
        return 1 if args.strict else 0

    settings.DEBUG = False
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.perf_counter()
        main_org = organization_build(slug="main", producers=PRODUCERS, teams=TEAMS)
        stress_org = organization_build(slug="stress", producers=PRODUCERS, teams=TEAMS)
        small_org = organization_build(slug="small", producers=SMALL_PRODUCERS, teams=TEAMS // 10)
        built = time.perf_counter() - started
        with bulk_load(table="activities_activity"):
            activities_generate(org=main_org, weeks=HISTORY, rows=ACTIVITIES)
            activities_generate(org=stress_org, weeks=[CLOSING_WEEK], rows=STRESS_WEEK)
            background = [week for week in HISTORY if week != CLOSING_WEEK]
            activities_generate(org=stress_org, weeks=background, rows=STRESS_BACKGROUND)
            activities_generate(org=small_org, weeks=[CLOSING_WEEK], rows=ACTIVITIES // WEEKS // 10)
            loaded = time.perf_counter() - started - built
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        setup = time.perf_counter() - started
        counts = week_counts()
        print(
            f"Weekly close benchmark, PostgreSQL {connection.pg_version // 10000}; data generated in {setup:.1f} s "
            f"(users {built:.1f} s, activities {loaded:.1f} s, indexes + ANALYZE {setup - built - loaded:.1f} s)"
        )
        print(f"  activities: {', '.join(f'{k} {v[0]:,} ({v[1]:,} in the week)' for k, v in counts.items())}")
        results = [
            variant_measure("main", main_org, in_week=counts["main"][1]),
            variant_measure("stress", stress_org, in_week=counts["stress"][1]),
        ]
        small_first = close_timed(small_org)[1]
        small_again = close_timed(small_org)[1]
        failed = report(results, small=(small_first, small_again), verbose=args.verbose)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    return 1 if (failed and args.strict) else 0


def week_counts() -> dict[str, tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.slug, count(*), count(*) FILTER (WHERE a.week_start = %s) FROM activities_activity a "
            "JOIN accountability_organization o ON o.id = a.organization_id GROUP BY o.slug",
            [CLOSING_WEEK],
        )
        return {slug: (total, in_week) for slug, total, in_week in cursor.fetchall()}


def report(results: list[dict], *, small: tuple[int, int], verbose: bool = False) -> bool:
    print(
        f"Closing week {CLOSING_WEEK}; {PRODUCERS:,} producers; "
        f"naive loop on {NAIVE_SLICE} producers ×{PRODUCERS // NAIVE_SLICE}"
    )
    head = (
        f"  {'variant':<7} {'in week':>8} {'(a) close':>10} {'(a) re-close':>12} {'(b) floor':>10} "
        f"{'(c) naive':>10} {'a/b':>6} {'c/a':>7} {'queries':>8} {'floor = close'}"
    )
    print(head)
    bars: list[tuple[str, bool]] = []
    for r in results:
        floor_ratio = r["again"] / r["floor"]
        naive_ratio = r["naive"] / r["again"]
        same = "identical" if r["differ"] == 0 else f"{r['differ']} rows differ"
        print(
            f"  {r['name']:<7} {r['in_week']:>8,} {r['first']:>9.3f}s {r['again']:>11.3f}s {r['floor']:>9.3f}s "
            f"{r['naive']:>9.2f}s {floor_ratio:>5.1f}× {naive_ratio:>6.0f}× {r['queries'][1]:>8} {same}"
        )
        bars.append(
            (f"{r['name']}: (a) re-close / (b) floor = {floor_ratio:.2f}× ≤ {BAR_FLOOR:.0f}×", floor_ratio <= BAR_FLOOR)
        )
        bars.append(
            (f"{r['name']}: (c) naive / (a) re-close = {naive_ratio:.0f}× ≥ {BAR_NAIVE:.0f}×", naive_ratio >= BAR_NAIVE)
        )
        print(
            f"          first close / floor = {r['first'] / r['floor']:.2f}×, naive / first close = "
            f"{r['naive'] / r['first']:.0f}×; re-close: SQL {r['again_sql']:.2f} s + "
            f"Python {r['again'] - r['again_sql']:.2f} s; naive slice measured {r['naive_slice']:.2f} s"
        )  # fmt: skip
        for seconds, sql in r["slowest"] if verbose else []:
            print(f"            {seconds:.3f} s  {' '.join(sql.split())[:150]}")
    main = results[0]["queries"]
    print(
        f"  queries of week_close (first close / re-close): {SMALL_PRODUCERS} producers {small[0]} / {small[1]}, "
        f"{PRODUCERS:,} producers {main[0]} / {main[1]}"
    )
    bars.append((f"queries equal for {SMALL_PRODUCERS} and {PRODUCERS:,} producers", small == main))
    bars.append(("floor rows identical to week_close's", all(r["differ"] == 0 for r in results)))
    for label, ok in bars:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")
    return not all(ok for _label, ok in bars)


if __name__ == "__main__":
    sys.exit(main())
