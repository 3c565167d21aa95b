"""Demo data (SPEC §6): the Summit Insurance Agency and a small second organization,
Northwind Mutual, so that isolation can be seen.

Seeding is idempotent: organizations are keyed by slug, teams by (organization, name),
users by e-mail, memberships by user. A second run creates nothing and changes nothing
except restoring a demo member's role and team. Passwords are set only when a user is
created (or with `reset_passwords=True`), so a demo someone logged into keeps working.

Each organization is seeded by running `SEED_STEPS` in order with a `SeedContext`. Later
work adds its own step (activity types, expectations, the ladder, weeks of history) by
appending a function `seed_<what>(ctx)` to that list; a step must be idempotent too.

Nothing here acts as a real person: audit events written while seeding have no actor —
except the demo exemptions', which the demo producers and their managers request and decide.

Activities (SPEC §6, issue 3): the default activity types, weekly expectations effective
from HISTORY_WEEKS back, and HISTORY_CLOSED_WEEKS weeks of history plus the open week so
far for every demo producer, each following a habit (steady, star, slipping, erratic,
stopped). The history is generated deterministically (one random.Random per producer,
seeded by organization and e-mail) relative to "now", and written only once per
organization (recognised by external ids starting with DEMO_ID_PREFIX).

Scoring (SPEC §6, issue 4): a few exemptions in Summit — one approved, one rejected, one
pending — requested and decided through the exemption services, as the demo producers and
their manager would have (so those audit events and notifications name them); then every
due week is closed (scores, ranks, streaks, flags, badges) and the open week's provisional
scores refreshed, with the same services the beat jobs run.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from activities.models import Activity, ActivityType, Expectation, ReviewReason, Source, Status
from activities.selectors import expectations_in_force
from activities.services.config import default_activity_types_create
from scoring.errors import ExemptionError
from scoring.models import ExemptionRequest
from scoring.services.close import close_due_weeks
from scoring.services.exemptions import exemption_approve, exemption_reject, exemption_request
from scoring.services.provisional import refresh_provisional_scores
from scoring.services.recompute import recompute_pending

from . import services
from .errors import AccountabilityError
from .models import Membership, Organization, Role, Team, User, Weekday
from .weeks import ONE_WEEK, align, current_week_start, week_start_for

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 — a published demo login (SPEC §6), not a secret
HISTORY_CLOSED_WEEKS = 12  # weeks of activity history before the open one
DEMO_RAMP_WEEKS = 2  # Organization.ramp_weeks' default: a new producer's first full weeks are excused
# Members start this many weeks back: their ramp weeks (excused, no activity needed), then
# the 12 weeks of history — so closing every week since they joined flags no empty week.
HISTORY_WEEKS = HISTORY_CLOSED_WEEKS + DEMO_RAMP_WEEKS
RECENT_JOIN_DAYS = 7  # the newcomer who shows ramp weeks
STOPPED_WEEKS_AGO = 4  # the producer who stopped logging has nothing since this many weeks back
DEMO_ID_PREFIX = "demo-"  # external_id of every seeded activity: the history is written once


class DemoError(AccountabilityError):
    pass


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    recent: bool = False  # joined RECENT_JOIN_DAYS ago instead of HISTORY_WEEKS ago
    habit: str = "steady"  # a producer's activity pattern, see HABITS


@dataclass(frozen=True)
class Target:
    """A weekly expectation: `per_week` units of the type named, for everyone or one team."""

    activity_type: str
    per_week: int
    team: str | None = None


@dataclass(frozen=True)
class TeamSpec:
    name: str
    managers: tuple[Person, ...]
    producers: tuple[Person, ...]


@dataclass(frozen=True)
class DemoExemption:
    """An exemption request of a demo producer for the week `weeks_back` weeks before the
    open one (0: the open week), for every expectation or the one of `activity_type`;
    `decision` "approved" or "rejected" (by the first manager of their team), or "" to
    leave it pending."""

    email: str
    weeks_back: int
    reason: str
    note: str
    activity_type: str | None = None
    decision: str = ""
    decision_note: str = ""


@dataclass(frozen=True)
class OrganizationSpec:
    slug: str
    name: str
    timezone: str
    leaders: tuple[Person, ...]
    teams: tuple[TeamSpec, ...]  # the first team is "the first team" of SPEC §6
    week_start: int = Weekday.MONDAY
    targets: tuple[Target, ...] = ()
    exemptions: tuple[DemoExemption, ...] = ()


SUMMIT = OrganizationSpec(
    slug="summit",
    name="Summit Insurance Agency",
    timezone="America/Chicago",
    leaders=(
        Person("leader@summit.example", "Diane Whitfield"),
        # A second leader, so that commission holds can get their two-person approval.
        Person("owner@summit.example", "Robert Castellano"),
    ),
    teams=(
        TeamSpec(
            "Harbor",
            managers=(Person("manager@summit.example", "Marcus Bell"),),
            producers=(
                Person("producer@summit.example", "Priya Shah", habit="star"),
                Person("tom.alvarez@summit.example", "Tom Alvarez"),
                Person("grace.kim@summit.example", "Grace Kim", habit="slipping"),
                Person("luis.moreno@summit.example", "Luis Moreno"),
                Person("hannah.brooks@summit.example", "Hannah Brooks", habit="erratic"),
            ),
        ),
        TeamSpec(
            "Ridge",
            managers=(Person("sofia.romero@summit.example", "Sofia Romero"),),
            producers=(
                Person("derek.olsen@summit.example", "Derek Olsen", habit="star"),
                Person("aisha.bello@summit.example", "Aisha Bello"),
                Person("kevin.obrien@summit.example", "Kevin O'Brien", habit="stopped"),
                Person("megan.foster@summit.example", "Megan Foster", habit="slipping"),
                Person("carlos.ruiz@summit.example", "Carlos Ruiz"),
                Person("ethan.nguyen@summit.example", "Ethan Nguyen", recent=True),
            ),
        ),
        TeamSpec(
            "Prairie",
            managers=(Person("james.carter@summit.example", "James Carter"),),
            producers=(
                Person("rachel.adams@summit.example", "Rachel Adams", habit="star"),
                Person("samuel.lee@summit.example", "Samuel Lee", habit="erratic"),
                Person("olivia.grant@summit.example", "Olivia Grant"),
                Person("nathan.price@summit.example", "Nathan Price", habit="slipping"),
            ),
        ),
    ),
    targets=(
        Target("Social post", 3),
        Target("CRM entry", 5),
        Target("Marketing event", 1),
        Target("Social post", 5, team="Ridge"),  # Ridge's manager asks for more: the higher target counts
    ),
    exemptions=(
        DemoExemption(
            "megan.foster@summit.example",
            3,
            ExemptionRequest.Reason.PTO,
            "Family trip, booked in January.",
            decision=ExemptionRequest.Status.APPROVED,
            decision_note="Enjoy the trip!",
        ),
        DemoExemption(
            "kevin.obrien@summit.example",
            2,
            ExemptionRequest.Reason.OTHER,
            "Busy with renewals, no time to log.",
            decision=ExemptionRequest.Status.REJECTED,
            decision_note="Renewals are part of the job — let's talk about logging them on Monday.",
        ),
        DemoExemption(
            "carlos.ruiz@summit.example",
            0,
            ExemptionRequest.Reason.SICK,
            "Flu since Tuesday; no events this week.",
            activity_type="Marketing event",
        ),
    ),
)

NORTHWIND = OrganizationSpec(
    slug="northwind",
    name="Northwind Mutual",
    timezone="Europe/London",
    leaders=(Person("leader@northwind.example", "Eleanor Hughes"),),
    teams=(
        TeamSpec(
            "Thames",
            managers=(Person("manager@northwind.example", "Oliver Bennett"),),
            producers=(
                Person("amelia.clarke@northwind.example", "Amelia Clarke"),
                Person("harry.wilson@northwind.example", "Harry Wilson", habit="slipping"),
                Person("isla.patel@northwind.example", "Isla Patel", habit="star"),
            ),
        ),
    ),
    targets=(Target("Social post", 2), Target("CRM entry", 4), Target("Marketing event", 1)),
)

ORGANIZATIONS = (SUMMIT, NORTHWIND)


@dataclass
class SeedContext:
    """What a seeding step gets: the organization, its spec, its local today, and a tally."""

    organization: Organization
    spec: OrganizationSpec
    today: dt.date
    reset_passwords: bool = False
    created: Counter = field(default_factory=Counter)
    now: dt.datetime = field(default_factory=timezone.now)

    @property
    def history_start(self) -> dt.date:
        """The week start HISTORY_WEEKS back, when established members became active."""
        return align(self.today - dt.timedelta(weeks=HISTORY_WEEKS), self.organization.week_start)

    def active_from(self, person: Person) -> dt.date:
        return self.today - dt.timedelta(days=RECENT_JOIN_DAYS) if person.recent else self.history_start


@dataclass(frozen=True)
class DemoLogin:
    email: str
    organization: str
    role: str
    team: str = ""


@dataclass
class SeedResult:
    created: Counter
    logins: list[DemoLogin]


# --- steps ---------------------------------------------------------------------------


def seed_teams(ctx: SeedContext) -> None:
    for spec in ctx.spec.teams:
        if not Team.objects.filter(organization=ctx.organization, name=spec.name).exists():
            services.team_create(organization=ctx.organization, by=None, name=spec.name)
            ctx.created["teams"] += 1


def seed_members(ctx: SeedContext) -> None:
    """Leaders, then each team's managers and producers."""
    teams = {team.name: team for team in ctx.organization.teams.all()}
    for person in ctx.spec.leaders:
        member_seed(ctx, person, Role.LEADER)
    for spec in ctx.spec.teams:
        team = teams[spec.name]
        for person in spec.managers:
            member_seed(ctx, person, Role.MANAGER, team=team)
        for person in spec.producers:
            member_seed(ctx, person, Role.PRODUCER, team=team)


def seed_activity_types(ctx: SeedContext) -> None:
    ctx.created["activity types"] += len(default_activity_types_create(organization=ctx.organization))


def seed_expectations(ctx: SeedContext) -> None:
    """The spec's weekly targets, effective from when the demo members started. Written
    directly: `expectation_set` rightly refuses past weeks, but the demo's history needs
    targets in force for it. A (type, team) that already has any target is left alone —
    a leader may have changed it while trying the demo."""
    types = {t.name.lower(): t for t in ctx.organization.activity_types.filter(active=True)}
    teams = {team.name: team for team in ctx.organization.teams.all()}
    for target in ctx.spec.targets:
        activity_type = types.get(target.activity_type.lower())
        team = teams.get(target.team) if target.team else None
        if activity_type is None or Expectation.objects.filter(activity_type=activity_type, team=team).exists():
            continue
        expectation_seed(ctx, activity_type, team, target.per_week)


def expectation_seed(ctx: SeedContext, activity_type: ActivityType, team: Team | None, per_week: int) -> None:
    expectation = Expectation.objects.create(
        organization=ctx.organization,
        activity_type=activity_type,
        team=team,
        target=per_week,
        effective_from=ctx.history_start,
    )
    after = {"activity_type": activity_type, "team": team, "target": per_week, "effective_from": ctx.history_start}
    services.audit_log(
        organization=ctx.organization, actor=None, action="expectation.set", obj=expectation, after=after
    )
    ctx.created["expectations"] += 1


def seed_activity_history(ctx: SeedContext) -> None:
    """Weeks of activity for every demo producer, written once per organization.

    Written with bulk_create, not `activity_log`: the service rightly refuses closed weeks
    to producers and marks back-dated entries for review (late, bursts), but this history
    stands for entries logged at the time."""
    organization = ctx.organization
    if Activity.objects.filter(organization=organization, external_id__startswith=DEMO_ID_PREFIX).exists():
        return
    rows = history_rows(ctx)
    for number, activity in enumerate(rows, start=1):
        activity.external_id = f"{DEMO_ID_PREFIX}{number}"
    Activity.objects.bulk_create(rows, batch_size=1000)
    ctx.created["activities"] += len(rows)


def seed_exemptions(ctx: SeedContext) -> None:
    """The spec's exemption requests, each written once: a request of the same producer
    with the same reason and note is taken to be it (whatever its week, so a re-run weeks
    later adds none). A request the services refuse now (someone asked for overlapping
    weeks while trying the demo) is left out."""
    week = current_week_start(ctx.organization, ctx.now)
    for spec in ctx.spec.exemptions:
        membership = ctx.organization.memberships.filter(user__email__iexact=spec.email).select_related("user").first()
        if membership is None:
            continue
        producer = membership.user
        if ExemptionRequest.objects.filter(producer=producer, reason=spec.reason, note=spec.note).exists():
            continue
        expectation = None
        if spec.activity_type:
            in_force = expectations_in_force(organization=ctx.organization, week_start=week, team_id=membership.team_id)
            expectation = next(
                (e for e in in_force.values() if e.activity_type.name.lower() == spec.activity_type.lower()), None
            )
        week_from = week - spec.weeks_back * ONE_WEEK
        manager = membership.team.managers.order_by("email").first() if membership.team_id else None
        try:
            exemption = exemption_request(
                producer=producer,
                week_from=week_from,
                week_to=week_from,
                expectation=expectation,
                reason=spec.reason,
                note=spec.note,
                by=producer,
            )
            if spec.decision == ExemptionRequest.Status.APPROVED and manager is not None:
                exemption_approve(exemption=exemption, by=manager, note=spec.decision_note)
            elif spec.decision == ExemptionRequest.Status.REJECTED and manager is not None:
                exemption_reject(exemption=exemption, by=manager, note=spec.decision_note)
        except ExemptionError:
            continue
        ctx.created["exemptions"] += 1


def seed_scores(ctx: SeedContext) -> None:
    """Close every due week (the history's scores, ranks, streaks, flags, badges) and
    refresh the open week's provisional scores — what the beat jobs would have done.

    Pending recomputations go first: rows for weeks not closed yet are dropped (the close
    below counts everything), rows for closed weeks recompute them. A re-run closes
    nothing new and only updates the open week's scores in place."""
    recompute_pending(organization=ctx.organization)
    ctx.created["closed weeks"] += len(close_due_weeks(organization=ctx.organization, now=ctx.now))
    refresh_provisional_scores(organization=ctx.organization, now=ctx.now)


SEED_STEPS: list[Callable[[SeedContext], None]] = [
    seed_teams,
    seed_members,
    seed_activity_types,
    seed_expectations,
    seed_activity_history,
    seed_exemptions,
    seed_scores,
]


# --- building blocks -----------------------------------------------------------------


def organization_seed(spec: OrganizationSpec, created: Counter) -> Organization:
    # get_or_create, not update_or_create: settings a leader changed while trying the demo
    # stay as they are (changing them here would be an unaudited configuration change).
    organization, was_created = Organization.objects.get_or_create(
        slug=spec.slug, defaults={"name": spec.name, "timezone": spec.timezone, "week_start": spec.week_start}
    )
    if was_created:
        created["organizations"] += 1
        services.audit_log(
            organization=organization,
            actor=None,
            action="organization.create",
            obj=organization,
            after={"name": spec.name, "slug": spec.slug, "timezone": spec.timezone},
        )
    return organization


def user_seed(ctx: SeedContext, person: Person) -> User:
    user = User.objects.filter(email__iexact=person.email).first()
    if user is None:
        user = User(email=person.email, name=person.name)
        ctx.created["users"] += 1
    elif not ctx.reset_passwords:
        return user
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user


def member_seed(ctx: SeedContext, person: Person, role: str, *, team: Team | None = None) -> Membership:
    """The person's user and membership. A manager's `team` is one they manage."""
    user = user_seed(ctx, person)
    membership = Membership.objects.filter(user=user).first()
    if membership is None:
        ctx.created["memberships"] += 1
        return services.membership_create(
            organization=ctx.organization,
            user=user,
            role=role,
            team=team,
            active_from=ctx.active_from(person),
            by=None,
        )
    if membership.organization_id != ctx.organization.pk:
        # Moving someone between organizations would leak their history; refuse instead.
        raise DemoError(f"{person.email} already belongs to another organization; not touching it.")
    _restore_role(membership, role, team)
    return membership


def _restore_role(membership: Membership, role: str, team: Team | None) -> None:
    """Put a demo member back in their demo role and team (someone may have changed it
    while trying the product)."""
    producer_team = team if role == Role.PRODUCER else None
    before = {"role": membership.role, "team": membership.team_id}
    after = {"role": role, "team": producer_team.pk if producer_team else None}
    if before != after:
        membership.role, membership.team = role, producer_team
        membership.save(update_fields=["role", "team"])
        services.audit_log(
            organization=membership.organization,
            actor=None,
            action="membership.change",
            obj=membership,
            before=before,
            after=after,
        )
    if role == Role.MANAGER and team is not None:
        team.managers.add(membership.user)  # a no-op when already there


# --- activity history ----------------------------------------------------------------

SOCIAL, CRM, MARKETING, TRAINING, POLICY = (
    "social post",
    "crm entry",
    "marketing event",
    "training attended",
    "new policy sold",
)


def meet_chance(habit: str, weeks_back: int) -> float:
    """How likely the producer meets one expectation in the week `weeks_back` weeks ago."""
    if habit == "star":
        return 1.0
    if habit == "slipping":  # fine until two months ago, then missing more and more
        return min(1.0, 0.3 + 0.1 * weeks_back)
    if habit == "erratic":
        return 0.75
    return 0.97  # steady, and the one who stopped while they still logged


EXTRA = {"star": (0, 1, 1, 2, 3), "steady": (0, 0, 1, 1, 2)}  # units beyond the target
# How often a sampled entry turns out wrong: never for the stars (their streaks stay whole).
REJECT_CHANCE = {"star": 0.0, "steady": 0.03, "slipping": 0.12, "erratic": 0.15}
POLICIES_PER_WEEK = {"star": (0, 1, 1, 2, 3), "slipping": (0, 0, 0, 1), "erratic": (0, 0, 1, 2)}
POLICY_LINES = (  # (line, lowest, highest annual premium in $)
    ("Auto", 900, 2600),
    ("Homeowners", 800, 3200),
    ("Umbrella", 250, 650),
    ("Term life", 400, 1800),
    ("Renters", 150, 320),
    ("Commercial package", 2500, 12000),
)
NOTES = {
    SOCIAL: (
        "LinkedIn: spring home-maintenance checklist",
        "Facebook: client thank-you (with permission)",
        "Instagram reel: what umbrella coverage is for",
        "LinkedIn: teen-driver discount tips",
        "Facebook: storm-season claim checklist",
        "LinkedIn: why review coverage after a renovation",
    ),
    CRM: (
        "Renewal review call",
        "Quote follow-up",
        "Updated household details after a call",
        "Referral logged",
        "Cross-sell note: home + auto bundle",
        "Left voicemail, scheduled callback",
        "Coverage review meeting notes",
    ),
    MARKETING: (
        "Chamber of commerce breakfast",
        "Homebuyer seminar at the library",
        "Realtor lunch-and-learn",
        "Booth at the farmers' market",
        "Small-business owners meetup",
        "Community 5K sponsor table",
    ),
    TRAINING: ("Cyber liability product webinar", "Objection-handling workshop", "E&O refresher", "CRM tips session"),
}
SURNAMES = ("Garcia", "Henderson", "Nguyen", "Patel", "O'Connor", "Johnson", "Kowalski", "Baker", "Rossi", "Lindqvist")
REJECTIONS = {
    SOCIAL: "The link goes to someone else's post.",
    CRM: "No matching record in the CRM.",
    MARKETING: "That event was cancelled.",
    TRAINING: "Not on the attendance list.",
    POLICY: "Bound by another producer.",
}


@dataclass
class HistoryPlan:
    """What every producer's weeks of one organization are generated from."""

    ctx: SeedContext
    types: dict[str, ActivityType]  # by lower-case name
    targets: dict[int, dict[str, int]]  # team id → {type name: units per week}
    reviewers: dict[int, User | None]  # team id → the manager who verifies

    @property
    def this_week(self) -> dt.date:
        return current_week_start(self.ctx.organization, self.ctx.now)


def history_rows(ctx: SeedContext) -> list[Activity]:
    """Unsaved activities for every demo producer of the organization, in a fixed order."""
    plan = history_plan(ctx)
    habits = {p.email: p.habit for team in ctx.spec.teams for p in team.producers}
    members = ctx.organization.memberships.filter(role=Role.PRODUCER, user__email__in=habits)
    rows: list[Activity] = []
    for membership in members.select_related("user").order_by("user__email"):
        rng = random.Random(f"{ctx.organization.slug}/{membership.user.email}")
        for weeks_back in range(HISTORY_CLOSED_WEEKS, -1, -1):
            units = week_units(plan, membership, habits[membership.user.email], weeks_back, rng)
            week_rows = producer_week_rows(plan, membership, plan.this_week - weeks_back * ONE_WEEK, units, rng)
            mark_reviews(plan, membership, week_rows, weeks_back, habits[membership.user.email], rng)
            rows += week_rows
    return rows


def history_plan(ctx: SeedContext) -> HistoryPlan:
    organization = ctx.organization
    types = {t.name.lower(): t for t in organization.activity_types.filter(active=True)}
    week = current_week_start(organization, ctx.now)
    targets, reviewers = {}, {}
    for team in organization.teams.prefetch_related("managers"):
        in_force = expectations_in_force(organization=organization, week_start=week, team_id=team.pk)
        targets[team.pk] = {e.activity_type.name.lower(): e.target for e in in_force.values() if e.activity_type.active}
        reviewers[team.pk] = min(team.managers.all(), key=lambda u: u.email, default=None)
    return HistoryPlan(ctx=ctx, types=types, targets=targets, reviewers=reviewers)


def week_units(plan: HistoryPlan, membership: Membership, habit: str, weeks_back: int, rng) -> dict[str, int]:
    """Units per activity type the producer logs in a full week, following their habit."""
    if habit == "stopped" and weeks_back <= STOPPED_WEEKS_AGO:
        return {}
    chance = meet_chance(habit, weeks_back)
    units = {}
    for name, target in plan.targets.get(membership.team_id, {}).items():
        met = rng.random() < chance
        units[name] = target + rng.choice(EXTRA.get(habit, (0,))) if met else rng.randint(target // 3, target - 1)
    units[POLICY] = rng.choice(POLICIES_PER_WEEK.get(habit, (0, 0, 1, 1, 2)))
    units[TRAINING] = 1 if rng.random() < 0.25 else 0
    return units


def logging_days(plan: HistoryPlan, membership: Membership, week: dt.date) -> list[dt.date]:
    """The week's weekdays on which the producer was active and that are over by now (today
    counts once the working day is mostly done)."""
    ctx = plan.ctx
    local_now = ctx.now.astimezone(ctx.organization.tzinfo)
    days = [week + dt.timedelta(days=i) for i in range(5)]
    return [
        day
        for day in days
        if membership.is_active_on(day) and (day < ctx.today or (day == ctx.today and local_now.hour >= 17))
    ]


def producer_week_rows(plan: HistoryPlan, membership: Membership, week: dt.date, units: dict, rng) -> list[Activity]:
    """The week's activities: units spread over the days the producer could log, scaled
    down for a partial week (the open week, a first week)."""
    days = logging_days(plan, membership, week)
    if not days:
        return []
    share = len(days) / 5
    clock: Counter = Counter()  # entries per day so far: each gets its own time of day
    rows = []
    for name, count in units.items():
        activity_type = plan.types.get(name)
        for quantity in split_units(name, round(count * share), rng) if activity_type else ():
            day = rng.choice(days)
            occurred_at = working_time(plan.ctx, day, clock[day], rng)
            clock[day] += 1
            rows.append(new_activity(plan, membership, activity_type, occurred_at, quantity, rng))
    return rows


def split_units(name: str, count: int, rng) -> list[int]:
    """Quantities of the entries for `count` units: CRM work is often logged in batches."""
    quantities = []
    while count > 0:
        quantity = min(count, rng.choice((1, 1, 2, 3))) if name == CRM else 1
        quantities.append(quantity)
        count -= quantity
    return quantities


def working_time(ctx: SeedContext, day: dt.date, nth: int, rng) -> dt.datetime:
    """The nth entry of a day: 08:30 local, then every 41 minutes or so (never the same minute)."""
    minutes = 8 * 60 + 30 + nth * 41 + rng.randint(0, 30)
    local = dt.datetime.combine(day, dt.time(minutes // 60 % 24, minutes % 60), tzinfo=ctx.organization.tzinfo)
    return min(local, ctx.now - dt.timedelta(minutes=5 + nth))


def new_activity(plan, membership, activity_type, occurred_at, quantity, rng) -> Activity:
    name = activity_type.name.lower()
    user = membership.user
    activity = Activity(  # ids rather than instances: thousands of these are built
        organization_id=plan.ctx.organization.pk,
        producer_id=user.pk,
        activity_type=activity_type,
        occurred_at=occurred_at,
        week_start=week_start_for(occurred_at, plan.ctx.organization),  # as activity_log computes it
        quantity=quantity,
        source=rng.choice((Source.WEBHOOK, Source.WEBHOOK, Source.WEB, Source.CSV)) if name == CRM else Source.WEB,
        logged_by_id=user.pk,
        created_at=min(occurred_at + dt.timedelta(minutes=rng.randint(2, 240)), plan.ctx.now),
    )
    if name == POLICY:
        line, low, high = rng.choice(POLICY_LINES)
        activity.value = Decimal(rng.randint(low * 100, high * 100)) / 100
        activity.note = f"{line} — {rng.choice(SURNAMES)} household"
    else:
        activity.note = rng.choice(NOTES.get(name, ("",)))
    if activity_type.requires_evidence:
        handle = user.name.lower().replace(" ", "-").replace("'", "")
        activity.evidence_url = f"https://www.linkedin.com/posts/{handle}_{occurred_at:%Y%m%d%H%M}"
    return activity


def mark_reviews(plan: HistoryPlan, membership: Membership, rows: list[Activity], weeks_back: int, habit, rng) -> None:
    """What the anti-gaming rules and the manager would have done: a few late entries in
    the last two weeks (waiting in the queue), last week's random sample waiting too, and
    older samples decided — mostly verified, now and then rejected."""
    reviewer = plan.reviewers.get(membership.team_id)
    for activity in rows:
        late_at = activity.occurred_at + dt.timedelta(days=3)
        if weeks_back <= 1 and activity.source == Source.WEB and late_at <= plan.ctx.now and rng.random() < 0.04:
            activity.needs_review, activity.review_reason, activity.created_at = True, ReviewReason.LATE, late_at
    candidates = [a for a in rows if not a.needs_review]
    for activity in rng.sample(candidates, min(2, len(candidates))) if weeks_back >= 1 else ():
        activity.review_reason = ReviewReason.SAMPLE
        if weeks_back == 1 or reviewer is None:
            activity.needs_review = True
            continue
        rejected = rng.random() < REJECT_CHANCE.get(habit, 0.03)
        activity.status = Status.REJECTED if rejected else Status.VERIFIED
        activity.rejection_reason = REJECTIONS.get(activity.activity_type.name.lower(), "") if rejected else ""
        activity.reviewed_by_id, activity.reviewed_at = reviewer.pk, activity.occurred_at + dt.timedelta(days=8)


# --- entry point ---------------------------------------------------------------------


def seed_demo(*, reset_passwords: bool = False, specs=ORGANIZATIONS) -> SeedResult:
    """Create (or complete) the demo organizations in one transaction."""
    created: Counter = Counter()
    with transaction.atomic():
        for spec in specs:
            organization = organization_seed(spec, created)
            now = timezone.now()
            ctx = SeedContext(
                organization=organization,
                spec=spec,
                today=timezone.localdate(now, timezone=organization.tzinfo),
                reset_passwords=reset_passwords,
                created=created,
                now=now,
            )
            for step in SEED_STEPS:
                step(ctx)
    return SeedResult(created=created, logins=demo_logins(specs))


def demo_logins(specs=ORGANIZATIONS) -> list[DemoLogin]:
    """Every seeded person who can log in, leaders and managers first, for the summary."""
    logins = []
    for spec in specs:
        logins += [DemoLogin(p.email, spec.name, Role.LEADER.label) for p in spec.leaders]
        for team in spec.teams:
            logins += [DemoLogin(p.email, spec.name, Role.MANAGER.label, team.name) for p in team.managers]
        first = spec.teams[0]
        logins += [DemoLogin(p.email, spec.name, Role.PRODUCER.label, first.name) for p in first.producers[:1]]
    return logins
