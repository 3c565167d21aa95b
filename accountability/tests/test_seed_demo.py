"""`manage.py seed_demo` (SPEC §6): the demo organizations, idempotent, with working logins."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone

from accountability import demo
from accountability.models import AuditEvent, Membership, Organization, Role, Team, User
from accountability.tests.factories import OrganizationFactory, member

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
    assert all(today - d >= dt.timedelta(weeks=16) for d in established)
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


def test_audit_events_written_while_seeding_have_no_actor():
    seed()
    assert AuditEvent.objects.filter(action="membership.create").count() == Membership.objects.count()
    assert not AuditEvent.objects.filter(actor__isnull=False).exists()


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
