"""Demo data (SPEC §6): the Summit Insurance Agency and a small second organization,
Northwind Mutual, so that isolation can be seen.

Seeding is idempotent: organizations are keyed by slug, teams by (organization, name),
users by e-mail, memberships by user. A second run creates nothing and changes nothing
except restoring a demo member's role and team. Passwords are set only when a user is
created (or with `reset_passwords=True`), so a demo someone logged into keeps working.

Each organization is seeded by running `SEED_STEPS` in order with a `SeedContext`. Later
work adds its own step (activity types, expectations, the ladder, weeks of history) by
appending a function `seed_<what>(ctx)` to that list; a step must be idempotent too.

Nothing here acts as a real person: audit events written while seeding have no actor.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from . import services
from .errors import AccountabilityError
from .models import Membership, Organization, Role, Team, User, Weekday
from .weeks import align

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 — a published demo login (SPEC §6), not a secret
HISTORY_WEEKS = 16  # members start this many weeks back: room for 12 closed weeks of history
RECENT_JOIN_DAYS = 7  # the newcomer who shows ramp weeks


class DemoError(AccountabilityError):
    pass


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    recent: bool = False  # joined RECENT_JOIN_DAYS ago instead of HISTORY_WEEKS ago


@dataclass(frozen=True)
class TeamSpec:
    name: str
    managers: tuple[Person, ...]
    producers: tuple[Person, ...]


@dataclass(frozen=True)
class OrganizationSpec:
    slug: str
    name: str
    timezone: str
    leaders: tuple[Person, ...]
    teams: tuple[TeamSpec, ...]  # the first team is "the first team" of SPEC §6
    week_start: int = Weekday.MONDAY


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
                Person("producer@summit.example", "Priya Shah"),
                Person("tom.alvarez@summit.example", "Tom Alvarez"),
                Person("grace.kim@summit.example", "Grace Kim"),
                Person("luis.moreno@summit.example", "Luis Moreno"),
                Person("hannah.brooks@summit.example", "Hannah Brooks"),
            ),
        ),
        TeamSpec(
            "Ridge",
            managers=(Person("sofia.romero@summit.example", "Sofia Romero"),),
            producers=(
                Person("derek.olsen@summit.example", "Derek Olsen"),
                Person("aisha.bello@summit.example", "Aisha Bello"),
                Person("kevin.obrien@summit.example", "Kevin O'Brien"),
                Person("megan.foster@summit.example", "Megan Foster"),
                Person("carlos.ruiz@summit.example", "Carlos Ruiz"),
                Person("ethan.nguyen@summit.example", "Ethan Nguyen", recent=True),
            ),
        ),
        TeamSpec(
            "Prairie",
            managers=(Person("james.carter@summit.example", "James Carter"),),
            producers=(
                Person("rachel.adams@summit.example", "Rachel Adams"),
                Person("samuel.lee@summit.example", "Samuel Lee"),
                Person("olivia.grant@summit.example", "Olivia Grant"),
                Person("nathan.price@summit.example", "Nathan Price"),
            ),
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
                Person("harry.wilson@northwind.example", "Harry Wilson"),
                Person("isla.patel@northwind.example", "Isla Patel"),
            ),
        ),
    ),
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


# Later issues append their steps here (seed_activity_types, seed_expectations, …).
SEED_STEPS: list[Callable[[SeedContext], None]] = [seed_teams, seed_members]


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


# --- entry point ---------------------------------------------------------------------


def seed_demo(*, reset_passwords: bool = False, specs=ORGANIZATIONS) -> SeedResult:
    """Create (or complete) the demo organizations in one transaction."""
    created: Counter = Counter()
    with transaction.atomic():
        for spec in specs:
            organization = organization_seed(spec, created)
            ctx = SeedContext(
                organization=organization,
                spec=spec,
                today=timezone.localdate(timezone=organization.tzinfo),
                reset_passwords=reset_passwords,
                created=created,
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
