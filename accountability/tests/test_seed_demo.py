"""`manage.py seed_demo` (SPEC §6): the demo organizations, idempotent, with working logins."""

import datetime as dt
import math
import random
from collections import defaultdict
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F, Sum
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accountability import demo
from accountability.models import AuditEvent, Membership, Organization, Role, Team, User
from accountability.tests.factories import OrganizationFactory, member
from accountability.weeks import ONE_WEEK, local_date, week_start_for
from activities.models import Activity, ActivityType, Expectation, ReviewReason, Status
from activities.selectors import expectations_in_force
from activities.services.config import activity_type_update, expectation_set
from activities.services.review import verification_sample_pick
from scoring.models import BadgeAward, ExemptionRequest, Flag, WeekClose, WeeklyScore
from scoring.services.exemptions import exemption_approve, exemption_request

pytestmark = pytest.mark.django_db

# (e-mail, organization slug, role, team — for a manager the team they manage)
SPEC_LOGINS = [
    ("leader@summit.example", "summit", Role.LEADER, None),
    ("owner@summit.example", "summit", Role.LEADER, None),
    ("manager@summit.example", "summit", Role.MANAGER, "Harbor"),
    ("producer@summit.example", "summit", Role.PRODUCER, "Harbor"),
    ("leader@northwind.example", "northwind", Role.LEADER, None),
]


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict:
    return {
        "organizations": Organization.objects.count(),
        "teams": Team.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "managed": Team.managers.through.objects.count(),
        "audit": AuditEvent.objects.count(),
        "activity_types": ActivityType.objects.count(),
        "expectations": Expectation.objects.count(),
        "activities": Activity.objects.count(),
        "scores": WeeklyScore.objects.count(),
        "final scores": WeeklyScore.objects.filter(is_final=True).count(),
        "flags": Flag.objects.count(),
        "open flags": Flag.objects.filter(status=Flag.Status.OPEN).count(),
        "badges": BadgeAward.objects.count(),
        "exemptions": ExemptionRequest.objects.count(),
        "week closes": WeekClose.objects.count(),
    }


def password_works(client, email: str, password: str = demo.DEMO_PASSWORD) -> bool:
    # django-axes' backend insists on a request; Client.login passes extra kwargs through
    # to authenticate(), so this is the real authentication path.
    request = RequestFactory().post("/accounts/login/")
    return client.login(request=request, username=email, password=password)


def test_running_twice_creates_nothing_new():
    first = seed()
    after_first = counts()
    second = seed()

    assert counts() == after_first
    assert after_first["organizations"] == 2
    assert after_first["activities"] > 1000
    assert "nothing new" not in first
    assert "nothing new" in second


def test_every_spec_login_exists_with_its_role_team_and_password(client):
    seed()
    for email, slug, role, team in SPEC_LOGINS:
        membership = Membership.objects.select_related("organization", "team").get(user__email=email)
        assert (membership.organization.slug, membership.role) == (slug, role), email
        if role == Role.PRODUCER:
            assert membership.team.name == team
        elif role == Role.MANAGER:
            assert list(Team.objects.filter(managers=membership.user).values_list("name", flat=True)) == [team]
        assert password_works(client, email), email
        client.logout()


def test_summit_has_three_teams_of_four_to_six_producers_and_a_manager_each():
    seed()
    summit = Organization.objects.get(slug="summit")
    assert (summit.name, summit.timezone, summit.week_start) == ("Summit Insurance Agency", "America/Chicago", 0)
    teams = list(summit.teams.all())
    assert len(teams) == 3
    for team in teams:
        assert 4 <= team.producers.count() <= 6, team.name
        assert team.managers.count() >= 1, team.name
    leaders = summit.memberships.filter(role=Role.LEADER)
    assert leaders.count() >= 2  # two-person rule for commission holds needs two leaders


def test_first_team_is_managed_by_manager_and_has_producer():
    seed()
    first = Team.objects.get(organization__slug="summit", name=demo.SUMMIT.teams[0].name)
    assert first.managers.filter(email="manager@summit.example").exists()
    assert first.producers.filter(user__email="producer@summit.example").exists()
    # and manager@ manages nothing else (their home shows one team)
    assert Team.objects.filter(managers__email="manager@summit.example").count() == 1


def test_producers_have_history_room_and_one_recent_joiner():
    seed()
    summit = Organization.objects.get(slug="summit")
    today = timezone.localdate(timezone=summit.tzinfo)
    starts = sorted(summit.memberships.filter(role=Role.PRODUCER).values_list("active_from", flat=True))
    recent = [d for d in starts if d > today - dt.timedelta(weeks=12)]
    assert recent == [today - dt.timedelta(days=7)]
    established = [d for d in starts if d not in recent]
    # their ramp weeks (excused) and then the 12 weeks of history, all closed
    assert all(today - d >= dt.timedelta(weeks=summit.ramp_weeks + demo.HISTORY_CLOSED_WEEKS) for d in established)
    assert all(d.weekday() == summit.week_start for d in established)  # a whole first week


def test_northwind_is_a_separate_small_organization():
    seed()
    northwind = Organization.objects.get(slug="northwind")
    assert northwind.timezone == "Europe/London"
    assert northwind.teams.count() == 1
    assert northwind.memberships.filter(role=Role.PRODUCER).count() == 3
    assert northwind.memberships.filter(role=Role.MANAGER).count() == 1

    summit_emails = set(Membership.objects.filter(organization__slug="summit").values_list("user__email", flat=True))
    assert summit_emails
    assert not {e for e in summit_emails if not e.endswith("@summit.example")}
    northwind_emails = set(northwind.memberships.values_list("user__email", flat=True))
    assert "leader@northwind.example" in northwind_emails
    assert not summit_emails & northwind_emails
    # no team of one organization is managed by someone of the other
    assert not Team.objects.filter(organization=northwind, managers__membership__organization__slug="summit").exists()


def test_audit_events_written_while_seeding_have_no_actor_but_the_demo_exemptions():
    seed()
    assert AuditEvent.objects.filter(action="membership.create").count() == Membership.objects.count()
    # the exemption requests and decisions go through the services, as the demo people
    acted = AuditEvent.objects.filter(actor__isnull=False)
    assert set(acted.values_list("action", flat=True)) == {"exemption.request", "exemption.approve", "exemption.reject"}
    for event in acted.filter(action="exemption.request"):
        assert event.actor_id == ExemptionRequest.objects.get(pk=event.object_id).producer_id


def test_existing_password_is_kept_unless_reset_is_asked_for(client):
    seed()
    user = User.objects.get(email="producer@summit.example")
    user.set_password("my-own-password-77")
    user.save()

    seed()
    assert password_works(client, "producer@summit.example", "my-own-password-77")
    assert not password_works(client, "producer@summit.example")

    out = seed("--reset-passwords")
    assert password_works(client, "producer@summit.example")
    assert demo.DEMO_PASSWORD in out


def test_summary_prints_the_demo_logins():
    out = seed()
    for email, *_ in SPEC_LOGINS:
        assert email in out
    assert demo.DEMO_PASSWORD in out


def test_rerun_restores_a_demo_members_role_but_keeps_their_start_date():
    seed()
    membership = Membership.objects.get(user__email="producer@summit.example")
    started = membership.active_from
    other_team = Team.objects.get(organization__slug="summit", name="Prairie")
    Membership.objects.filter(pk=membership.pk).update(team=other_team, active_from=started - dt.timedelta(days=3))

    seed()
    membership.refresh_from_db()
    assert membership.team.name == "Harbor"
    assert membership.active_from == started - dt.timedelta(days=3)


def test_leader_changed_organization_settings_survive_a_rerun():
    seed()
    Organization.objects.filter(slug="summit").update(name="Summit Agency (renamed)", grace_hours=24)
    seed()
    summit = Organization.objects.get(slug="summit")
    assert (summit.name, summit.grace_hours) == ("Summit Agency (renamed)", 24)


def test_a_demo_email_taken_by_another_organization_is_refused_and_nothing_is_written():
    stranger_org = OrganizationFactory(slug="elsewhere")
    member(stranger_org, Role.LEADER, email="owner@summit.example")
    before = counts()

    with pytest.raises(CommandError, match="owner@summit.example"):
        seed()

    assert counts() == before  # one transaction: the organizations made before the error are gone
    assert not Organization.objects.filter(slug="summit").exists()


# --- activities (issue 3): types, expectations, 12 weeks of history ------------------------

# Thursday 2026-03-19, 15:00 in Chicago (20:00 UTC): the open week is the one of Monday
# 2026-03-16 and its Monday to Wednesday are over; the 12 weeks before it run from Dec 22.
THURSDAY = dt.datetime(2026, 3, 19, 20, 0, tzinfo=dt.UTC)
THIS_WEEK = dt.date(2026, 3, 16)
HISTORY = [THIS_WEEK - n * ONE_WEEK for n in range(demo.HISTORY_CLOSED_WEEKS, 0, -1)]  # oldest first


@pytest.fixture(scope="class")
def seeded_once(django_db_setup, django_db_blocker):
    """The demo seeded once for the class below (seeding takes seconds) and removed after
    it; each test still runs in its own transaction, rolled back at its end."""
    with django_db_blocker.unblock(), time_machine.travel(THURSDAY, tick=False):
        seed()
    yield
    with django_db_blocker.unblock():
        for model in (Activity, Expectation, Membership, Organization, User):  # PROTECTed references first
            model.objects.all().delete()


def habit_of(email: str) -> str:
    return next(p.habit for spec in demo.ORGANIZATIONS for t in spec.teams for p in t.producers if p.email == email)


def weeks_with_activity(user) -> set:
    return set(Activity.objects.filter(producer=user).values_list("week_start", flat=True))


def met_all(membership, week) -> bool:
    """SPEC §3: every applicable expectation met, counting non-rejected quantities."""
    expected = expectations_in_force(organization=membership.organization, week_start=week, team_id=membership.team_id)
    actual = dict(
        Activity.objects.filter(producer=membership.user, week_start=week)
        .exclude(status=Status.REJECTED)
        .values("activity_type")
        .annotate(total=Sum("quantity"))
        .values_list("activity_type", "total")
    )
    return all(actual.get(type_id, 0) >= e.target for type_id, e in expected.items())


@pytest.mark.usefixtures("seeded_once")
class TestActivityHistory:
    @pytest.fixture(autouse=True)
    def _frozen(self):
        with time_machine.travel(THURSDAY, tick=False):
            yield

    @pytest.fixture
    def summit(self):
        return Organization.objects.get(slug="summit")

    def test_default_types_and_the_weekly_targets(self, summit):
        types = {t.name: t for t in summit.activity_types.all()}
        assert set(types) == {"Social post", "CRM entry", "Marketing event", "Training attended", "New policy sold"}

        def targets(team_name):
            team = Team.objects.get(organization=summit, name=team_name)
            in_force = expectations_in_force(organization=summit, week_start=THIS_WEEK, team_id=team.pk)
            return {e.activity_type.name: e.target for e in in_force.values()}

        assert targets("Harbor") == {"Social post": 3, "CRM entry": 5, "Marketing event": 1}
        assert targets("Ridge") == {"Social post": 5, "CRM entry": 5, "Marketing event": 1}  # the higher one counts
        # in force over the whole history, from when the demo members started
        assert set(summit.expectations.values_list("effective_from", flat=True)) == {
            THIS_WEEK - demo.HISTORY_WEEKS * ONE_WEEK
        }
        assert not summit.expectations.filter(effective_to__isnull=False).exists()
        assert AuditEvent.objects.filter(organization=summit, action="expectation.set", actor=None).count() == 4
        northwind = Organization.objects.get(slug="northwind")
        assert northwind.activity_types.count() == 5 and northwind.expectations.count() == 3

    def test_every_producer_has_history_but_the_one_who_stopped_and_the_newcomer(self, summit):
        producers = summit.memberships.filter(role=Role.PRODUCER).select_related("user")
        habits = {m.user.email: habit_of(m.user.email) for m in producers}
        assert {"star", "steady", "slipping", "erratic", "stopped"} <= set(habits.values())
        for membership in producers:
            weeks, email = weeks_with_activity(membership.user), membership.user.email
            if habits[email] == "stopped":
                assert not weeks & {*HISTORY[-demo.STOPPED_WEEKS_AGO :], THIS_WEEK}, email
                assert len(weeks & set(HISTORY[: -demo.STOPPED_WEEKS_AGO])) >= 6, email
            elif membership.active_from > HISTORY[0]:  # the newcomer: only since they joined
                assert weeks == {HISTORY[-1], THIS_WEEK}, email
            else:
                assert len(weeks & set(HISTORY)) >= 10, email
                assert THIS_WEEK in weeks, email  # and some of the open week already

    def test_stars_meet_everything_and_the_slipping_miss_more_over_time(self, summit):
        for membership in summit.memberships.filter(role=Role.PRODUCER).select_related("user", "organization"):
            habit = habit_of(membership.user.email)
            met = [met_all(membership, week) for week in HISTORY]
            if habit == "star":
                assert all(met), membership.user.email
            elif habit == "slipping":
                assert sum(met[:6]) > sum(met[6:]), membership.user.email
            elif habit == "stopped":
                assert not any(met[-demo.STOPPED_WEEKS_AGO :])

    def test_every_seeded_activity_follows_the_logging_rules(self):
        memberships = {m.user_id: m for m in Membership.objects.select_related("organization", "team")}
        managers = {t.pk: set(t.managers.values_list("pk", flat=True)) for t in Team.objects.all()}
        for activity in Activity.objects.select_related("activity_type"):
            membership, kind = memberships[activity.producer_id], activity.activity_type
            organization = membership.organization
            assert activity.week_start == week_start_for(activity.occurred_at, organization)
            assert activity.occurred_at <= activity.created_at <= THURSDAY
            assert membership.is_active_on(local_date(activity.occurred_at, organization))
            assert 1 <= activity.quantity <= 1000
            assert (activity.value is not None) == kind.tracks_value
            assert activity.value is None or activity.value > 0
            assert not kind.requires_evidence or activity.evidence_url.startswith("https://")
            assert activity.external_id.startswith(demo.DEMO_ID_PREFIX)
            assert activity.logged_by_id == activity.producer_id
            assert not activity.needs_review or activity.review_reason
            if activity.status != Status.LOGGED:
                assert activity.reviewed_by_id in managers[membership.team_id]
                assert bool(activity.rejection_reason) == (activity.status == Status.REJECTED)

    def test_history_has_reviews_values_and_evidence(self, summit):
        activities = Activity.objects.filter(organization=summit)
        assert activities.filter(status=Status.VERIFIED).count() >= 10
        assert 3 <= activities.filter(status=Status.REJECTED).count() <= activities.count() // 20  # a few
        waiting = activities.filter(needs_review=True, status=Status.LOGGED)
        assert set(waiting.values_list("review_reason", flat=True)) == {ReviewReason.LATE, ReviewReason.SAMPLE}
        assert activities.filter(activity_type__name="New policy sold", value__gt=0).count() >= 20
        # the demo manager has something to verify
        assert waiting.filter(producer__membership__team__name="Harbor").exists()

    def test_last_weeks_sample_is_already_taken(self, summit):
        assert verification_sample_pick(organization=summit, week_start=HISTORY[-1], rng=random.Random(1)) == 0

    def test_northwind_history_belongs_to_northwind_only(self, summit):
        northwind = Organization.objects.get(slug="northwind")
        assert Activity.objects.filter(organization=northwind).count() > 100
        for organization in (summit, northwind):
            producers = set(organization.memberships.filter(role=Role.PRODUCER).values_list("user_id", flat=True))
            activities = Activity.objects.filter(organization=organization)
            assert set(activities.values_list("producer_id", flat=True)) <= producers
            assert not activities.exclude(activity_type__organization=organization).exists()
            assert not Activity.objects.filter(producer_id__in=producers).exclude(organization=organization).exists()

    def test_both_organizations_have_the_twelve_weeks_and_the_open_one(self):
        weeks = defaultdict(set)
        for slug, week in Activity.objects.values_list("organization__slug", "week_start").distinct():
            weeks[slug].add(week)
        assert weeks == {"summit": {*HISTORY, THIS_WEEK}, "northwind": {*HISTORY, THIS_WEEK}}

    def test_history_is_deterministic(self, summit):
        ctx = demo.SeedContext(organization=summit, spec=demo.SUMMIT, today=local_date(THURSDAY, summit), now=THURSDAY)

        def rows():
            fields = ("producer_id", "activity_type_id", "occurred_at", "quantity", "value", "note", "status")
            return [tuple(getattr(a, f) for f in fields) for a in demo.history_rows(ctx)]

        first = rows()
        assert first == rows()
        stored = Activity.objects.filter(organization=summit).order_by("pk")
        assert [(a.producer_id, a.occurred_at, a.note) for a in stored] == [(r[0], r[2], r[5]) for r in first]

    def test_history_is_written_in_bulk(self, summit):
        count = Activity.objects.filter(organization=summit).count()
        Activity.objects.filter(organization=summit).delete()
        ctx = demo.SeedContext(organization=summit, spec=demo.SUMMIT, today=local_date(THURSDAY, summit), now=THURSDAY)

        with CaptureQueriesContext(connection) as queries:
            demo.seed_activity_history(ctx)

        assert Activity.objects.filter(organization=summit).count() == count
        inserts = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "activities_activity"')]
        # batched: a few dozen statements on SQLite (999 parameters each), 2 on PostgreSQL
        assert len(inserts) <= math.ceil(count / 40)

    def test_second_run_adds_nothing_even_after_a_leader_changed_the_configuration(self, summit):
        leader = User.objects.get(email="leader@summit.example")
        social = ActivityType.objects.get(organization=summit, name="Social post")
        activity_type_update(activity_type=social, by=leader, name="SOCIAL POST")
        expectation_set(organization=summit, by=leader, activity_type=social, target=4)
        before = counts()

        assert "nothing new" in seed()
        assert counts() == before


# --- scoring (issue 4): closed weeks, streaks, ranks, badges, flags, exemptions ----------------

# Members started 14 weeks before the open one: two ramp weeks (excused), then the history.
RAMP = [THIS_WEEK - n * ONE_WEEK for n in range(demo.HISTORY_WEEKS, demo.HISTORY_CLOSED_WEEKS, -1)]
CLOSED = [*RAMP, *HISTORY]  # every week closed by Thursday (last week's grace ended Wednesday)
SCORE_FIELDS = ("producer_id", "week_start", "points", "completion", "met_all", "excused", "streak", "rank_org")


def by_email(email: str) -> Membership:
    return Membership.objects.select_related("user", "organization", "team").get(user__email=email)


def points_of(user, week) -> int:
    """SPEC §3: Σ quantity × the type's points over the week's non-rejected activities."""
    rows = Activity.objects.filter(producer=user, week_start=week).exclude(status=Status.REJECTED)
    return rows.aggregate(total=Sum(F("quantity") * F("activity_type__points")))["total"] or 0


def approved_weeks(user) -> set:
    return set(
        ExemptionRequest.objects.filter(
            producer=user, status=ExemptionRequest.Status.APPROVED, expectation__isnull=True
        ).values_list("week_from", flat=True)
    )


@pytest.mark.usefixtures("seeded_once")
class TestScoringHistory:
    @pytest.fixture(autouse=True)
    def _frozen(self):
        with time_machine.travel(THURSDAY, tick=False):
            yield

    @pytest.fixture
    def summit(self):
        return Organization.objects.get(slug="summit")

    def test_every_due_week_of_both_organizations_is_closed(self):
        for slug in ("summit", "northwind"):
            closed = WeekClose.objects.filter(organization__slug=slug)
            assert sorted(closed.values_list("week_start", flat=True)) == CLOSED, slug

    def test_every_producer_has_a_final_score_for_each_closed_week_they_were_active_in(self):
        for membership in Membership.objects.filter(role=Role.PRODUCER).select_related("user"):
            scores = WeeklyScore.objects.filter(producer=membership.user)
            active = {w for w in CLOSED if membership.active_from <= w + dt.timedelta(days=6)}
            assert set(scores.filter(is_final=True).values_list("week_start", flat=True)) == active
            # and a provisional one for the open week, which has no flags or badges yet
            assert list(scores.filter(is_final=False).values_list("week_start", flat=True)) == [THIS_WEEK]
        assert not Flag.objects.filter(week_start=THIS_WEEK).exists()
        assert not BadgeAward.objects.filter(week_start=THIS_WEEK).exists()

    def test_scores_and_streaks_follow_the_activities(self):
        """Recomputed by hand from the activities: points, met_all, and the streak (+1 for a
        met week, carried over an excused one, 0 after a miss)."""
        for membership in Membership.objects.filter(role=Role.PRODUCER).select_related("user", "organization"):
            scores = {s.week_start: s for s in WeeklyScore.objects.filter(producer=membership.user, is_final=True)}
            excused_weeks = approved_weeks(membership.user)
            streak = 0
            for week in CLOSED:
                score = scores.get(week)
                if score is None:  # the newcomer, before they joined
                    continue
                email = membership.user.email
                assert score.points == points_of(membership.user, week), (email, week)
                ramp_or_first = week in RAMP or membership.active_from > week
                if ramp_or_first or week in excused_weeks:
                    assert score.excused and score.met_all, (email, week)
                else:
                    assert not score.excused, (email, week)
                    assert score.met_all == met_all(membership, week), (email, week)
                    streak = streak + 1 if score.met_all else 0
                assert score.streak == streak, (email, week)

    def test_the_stars_are_on_twelve_week_streaks_with_their_badges(self, summit):
        stars = [
            m
            for m in Membership.objects.filter(role=Role.PRODUCER).select_related("user")
            if habit_of(m.user.email) == "star"
        ]
        assert len(stars) == 4  # three in Summit, one in Northwind
        for membership in stars:
            last = WeeklyScore.objects.get(producer=membership.user, week_start=HISTORY[-1])
            assert last.streak == 12
            badges = BadgeAward.objects.filter(producer=membership.user)
            assert set(badges.filter(badge__code="streak-4").values_list("week_start", flat=True)) == {HISTORY[3]}
            assert set(badges.filter(badge__code="streak-12").values_list("week_start", flat=True)) == {HISTORY[-1]}
        streaks = WeeklyScore.objects.filter(organization=summit, week_start=HISTORY[-1], streak__gte=4)
        assert streaks.count() >= 3

    def test_one_producer_ranks_first_each_week_and_gets_top_of_the_week(self, summit):
        for week in HISTORY:
            scores = WeeklyScore.objects.filter(organization=summit, week_start=week, is_final=True)
            best = max(scores.values_list("points", flat=True))
            firsts = set(scores.filter(rank_org=1).values_list("producer_id", flat=True))
            assert firsts == set(scores.filter(points=best).values_list("producer_id", flat=True)), week
            top = BadgeAward.objects.filter(organization=summit, week_start=week, badge__code="top-of-the-week")
            assert set(top.values_list("producer_id", flat=True)) == firsts, week
            # team ranks start at 1 in every team
            for team_id in set(scores.values_list("team_id", flat=True)):
                assert scores.filter(team_id=team_id, rank_team=1).exists(), (week, team_id)

    def test_the_one_who_stopped_has_open_flags_for_everything_in_the_last_weeks(self):
        stopped = next(
            p.email for t in demo.SUMMIT.teams for p in t.producers if p.habit == "stopped"
        )  # Kevin, on Ridge: 5 social posts, 5 CRM entries, 1 marketing event
        membership = by_email(stopped)
        flags = Flag.objects.filter(producer=membership.user, kind=Flag.Kind.MISSED_EXPECTATION)
        for week in HISTORY[-demo.STOPPED_WEEKS_AGO :]:
            week_flags = flags.filter(week_start=week)
            assert {(f.expectation.activity_type.name, f.actual, f.target, f.status) for f in week_flags} == {
                ("Social post", 0, 5, Flag.Status.OPEN),
                ("CRM entry", 0, 5, Flag.Status.OPEN),
                ("Marketing event", 0, 1, Flag.Status.OPEN),
            }, week
        assert WeeklyScore.objects.get(producer=membership.user, week_start=HISTORY[-1]).streak == 0

    def test_flags_are_exactly_the_missed_expectations_and_ramp_weeks_have_none(self):
        assert not Flag.objects.filter(week_start__in=RAMP).exists()
        for score in WeeklyScore.objects.filter(is_final=True, week_start__in=HISTORY):
            open_flags = Flag.objects.filter(producer_id=score.producer_id, week_start=score.week_start, status="open")
            missed = score.expectations_total - score.expectations_met
            assert open_flags.count() == missed, (score.producer_id, score.week_start)

    def test_demo_exemptions_approved_rejected_and_pending(self, summit):
        exemptions = {e.status: e for e in ExemptionRequest.objects.filter(organization=summit)}
        assert set(exemptions) == {"approved", "rejected", "pending"}
        ridge = Team.objects.get(organization=summit, name="Ridge")
        sofia = User.objects.get(email="sofia.romero@summit.example")
        assert set(ridge.managers.all()) == {sofia}

        approved = exemptions["approved"]
        assert (approved.producer.email, approved.reason) == ("megan.foster@summit.example", "pto")
        assert approved.week_from == approved.week_to == THIS_WEEK - 3 * ONE_WEEK
        assert approved.expectation is None and approved.decided_by == sofia
        score = WeeklyScore.objects.get(producer=approved.producer, week_start=approved.week_from)
        previous = WeeklyScore.objects.get(producer=approved.producer, week_start=approved.week_from - ONE_WEEK)
        assert score.excused and score.streak == previous.streak  # carried over the excused week
        assert not Flag.objects.filter(producer=approved.producer, week_start=approved.week_from, status="open")

        rejected = exemptions["rejected"]
        assert rejected.producer.email == "kevin.obrien@summit.example" and rejected.decision_note
        assert rejected.week_from == THIS_WEEK - 2 * ONE_WEEK and rejected.decided_by == sofia
        assert not WeeklyScore.objects.get(producer=rejected.producer, week_start=rejected.week_from).excused
        assert (
            Flag.objects.filter(producer=rejected.producer, week_start=rejected.week_from, status="open").count() == 3
        )

        pending = exemptions["pending"]
        assert pending.producer.email == "carlos.ruiz@summit.example" and pending.week_from == THIS_WEEK
        assert pending.expectation.activity_type.name == "Marketing event" and pending.decided_by is None
        assert not ExemptionRequest.objects.filter(organization__slug="northwind").exists()
        # decided by the manager, as the audit log says
        decided = AuditEvent.objects.filter(action__in=["exemption.approve", "exemption.reject"])
        assert set(decided.values_list("actor__email", flat=True)) == {sofia.email}

    def test_a_rerun_changes_no_score_flag_badge_or_exemption(self):
        def state():
            scores = sorted(WeeklyScore.objects.values_list(*SCORE_FIELDS, "is_final"))
            flags = sorted(Flag.objects.values_list("id", "producer_id", "week_start", "expectation_id", "status"))
            badges = sorted(BadgeAward.objects.values_list("id", "producer_id", "badge__code", "week_start"))
            exemptions = sorted(ExemptionRequest.objects.values_list("id", "status", "week_from"))
            return scores, flags, badges, exemptions, sorted(WeekClose.objects.values_list("id", "week_start"))

        before, before_counts = state(), counts()
        assert "nothing new" in seed()
        assert state() == before
        assert counts() == before_counts

    def test_a_decision_taken_since_is_recomputed_on_the_next_run(self):
        """An exemption approved while trying the demo queues its closed week; the next
        seed_demo (like the close job) recomputes it."""
        membership = by_email("aisha.bello@summit.example")
        week = HISTORY[-5]
        exemption = exemption_request(
            producer=membership.user, week_from=week, week_to=week, reason="sick", by=membership.user
        )
        exemption_approve(exemption=exemption, by=User.objects.get(email="sofia.romero@summit.example"))
        assert not WeeklyScore.objects.get(producer=membership.user, week_start=week).excused

        seed()
        assert WeeklyScore.objects.get(producer=membership.user, week_start=week).excused
        assert WeekClose.objects.filter(organization=membership.organization).count() == len(CLOSED)
