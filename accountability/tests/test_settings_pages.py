"""Leader settings pages: organization, teams, users & invitations (SPEC §5)."""

import datetime as dt
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accountability import services
from accountability.models import AuditEvent, Invitation, Membership, Organization, Role, Team, User
from accountability.tests.factories import TeamFactory, member

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"settings:{name}", args=args)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def form_errors(response, form="form") -> str:
    return str(response.context[form].errors)


@pytest.fixture
def invitation(org, leader, team):
    invitation, _token = services.invitation_create(
        organization=org, by=leader, email="new@test.example", role=Role.PRODUCER, team=team
    )
    return invitation


@pytest.fixture
def everyone(leader, manager, producer, teammate, outsider, outsider_leader):
    """The whole cast, so isolation checks have something to leak."""


# --- who may open what ------------------------------------------------------------------

# (url name, needs a target id, method)
PAGES = ["organization", "teams", "team_edit", "users", "invite", "member_edit"]
POST_ONLY = ["team_delete", "member_deactivate", "member_reactivate", "invitation_revoke"]


def target_args(name, team, producer, invitation):
    if name.startswith("team_"):
        return [team.pk]
    if name.startswith("member_"):
        return [producer.membership.pk]
    if name.startswith("invitation_"):
        return [invitation.pk]
    return []


@pytest.mark.parametrize("name", PAGES + POST_ONLY)
def test_anonymous_is_sent_to_login(client, name, team, producer, invitation):
    target = url(name, *target_args(name, team, producer, invitation))
    response = client.post(target) if name in POST_ONLY else client.get(target)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login")) and "next=" in response.url


@pytest.mark.parametrize("role", ["producer", "manager"])
@pytest.mark.parametrize("name", PAGES + POST_ONLY)
def test_producers_and_managers_are_refused(request, login, role, name, team, producer, invitation):
    client = login(request.getfixturevalue(role))
    audit_before = AuditEvent.objects.count()
    target = url(name, *target_args(name, team, producer, invitation))
    response = client.post(target) if name in POST_ONLY else client.get(target)
    assert response.status_code == 403
    assert AuditEvent.objects.count() == audit_before
    assert User.objects.get(pk=producer.pk).is_active and Team.objects.filter(pk=team.pk).exists()
    assert Invitation.objects.get(pk=invitation.pk).state == "pending"


@pytest.mark.parametrize("name", ["team_edit", "member_edit"] + POST_ONLY)
def test_outsider_leader_gets_404_for_this_organizations_objects(
    login, outsider_leader, name, team, producer, invitation
):
    client = login(outsider_leader)
    audit_before = AuditEvent.objects.count()
    target = url(name, *target_args(name, team, producer, invitation))
    response = client.post(target) if name in POST_ONLY else client.get(target)
    assert response.status_code == 404
    assert AuditEvent.objects.count() == audit_before
    assert User.objects.get(pk=producer.pk).is_active and Team.objects.filter(pk=team.pk).exists()


def test_outsider_leader_lists_only_their_own_organization(login, everyone, outsider_leader, invitation, team):
    client = login(outsider_leader)
    users_page = client.get(url("users")).content.decode()
    assert "outsider@test.example" in users_page
    for leaked in ("producer@test.example", "manager@test.example", "Lena Leader", invitation.email):
        assert leaked not in users_page
    teams_page = client.get(url("teams")).content.decode()
    assert "Northwind Sales" in teams_page and "Alpha" not in teams_page and "Max Manager" not in teams_page


@pytest.mark.parametrize("name", POST_ONLY)
def test_post_only_endpoints_refuse_get(login, leader, name, team, producer, invitation):
    response = login(leader).get(url(name, *target_args(name, team, producer, invitation)))
    assert response.status_code == 405
    assert User.objects.get(pk=producer.pk).is_active and Team.objects.filter(pk=team.pk).exists()


@pytest.mark.parametrize("name", PAGES)
def test_form_pages_refuse_other_methods(login, leader, name, team, producer, invitation):
    response = login(leader).delete(url(name, *target_args(name, team, producer, invitation)))
    assert response.status_code == 405


def test_settings_nav_marks_the_current_section(login, leader):
    page = login(leader).get(url("teams")).content.decode()
    assert f'class="nav-link active" aria-current="page" href="{url("teams")}"' in page


# --- organization ------------------------------------------------------------------------


def org_data(org, **changes):
    data = {name: getattr(org, name) for name in services.ORGANIZATION_SETTINGS}
    data["scoreboard_top_n"] = data["scoreboard_top_n"] or ""
    data["require_mfa_for_leaders"] = "on" if data["require_mfa_for_leaders"] else ""
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_organization_page_shows_current_settings_and_explains_them(login, leader, org):
    response = login(leader).get(url("organization"))
    page = response.content.decode()
    assert response.context["form"]["timezone"].value() == "America/Chicago"
    assert '<option value="America/Chicago" selected>' in page
    assert "changes how future weeks are cut" in page
    assert "Hours after a week ends" in page or "hours (0–336)" in page
    choices = [value for value, _label in response.context["form"].fields["timezone"].choices]
    assert choices == sorted(choices) and "Europe/London" in choices


def test_organization_update_saves_and_audits(login, leader, org):
    client = login(leader)
    response = client.post(
        url("organization"), org_data(org, name="Summit Renamed", grace_hours=24, scoreboard_top_n=5)
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.name, org.grace_hours, org.scoreboard_top_n) == ("Summit Renamed", 24, 5)
    event = AuditEvent.objects.get(action="organization.update")
    assert event.actor == leader and event.organization == org
    assert event.before == {"name": "Summit Test Agency", "grace_hours": 48, "scoreboard_top_n": None}
    assert event.after == {"name": "Summit Renamed", "grace_hours": 24, "scoreboard_top_n": 5}
    assert "Organization settings saved." in messages_of(response)
    assert not any("weeks start" in m for m in messages_of(response))


def test_changing_the_week_cut_warns(login, leader, org):
    response = login(leader).post(url("organization"), org_data(org, timezone="Europe/Berlin", week_start=6))
    org.refresh_from_db()
    assert (org.timezone, org.week_start) == ("Europe/Berlin", 6)
    assert any("weeks start on Sunday at midnight Europe/Berlin" in m for m in messages_of(response))


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "is not a known time zone"),
        ({"grace_hours": -1}, "grace_hours", "greater than or equal to 0"),
        ({"grace_hours": 337}, "grace_hours", "less than or equal to 336"),
        ({"recovery_weeks": 0}, "recovery_weeks", "greater than or equal to 1"),
        ({"scoreboard_visibility": "public"}, "scoreboard_visibility", "Select a valid choice"),
        ({"week_start": 7}, "week_start", "Select a valid choice"),
        ({"name": "  "}, "name", "This field is required"),
    ],
)
def test_organization_bad_input_writes_nothing(login, leader, org, changes, field, message):
    before = Organization.objects.values().get(pk=org.pk)
    response = login(leader).post(url("organization"), org_data(org, **{"name": "Would Be Renamed", **changes}))
    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert Organization.objects.values().get(pk=org.pk) == before
    assert not AuditEvent.objects.exists()
    assert "Would Be Renamed" not in response.content.decode().split("<footer")[1]  # layout shows the saved name


# --- teams --------------------------------------------------------------------------------


def test_teams_page_lists_managers_and_producer_counts(login, leader, manager, producer, teammate, team, other_team):
    member(team.organization, Role.PRODUCER, team=team, name="Second Producer")
    page = login(leader).get(url("teams")).content.decode()
    alpha = page.split("Alpha")[1].split("</a>")[0]
    assert "Max Manager" in alpha and "2 producers" in alpha
    bravo = page.split("Bravo")[1].split("</a>")[0]
    assert "nobody yet" in bravo and "1 producer" in bravo


def test_team_create_with_managers_is_audited(login, leader, manager, org):
    second = member(org, Role.MANAGER, name="Mia Manager")
    response = login(leader).post(url("teams"), {"name": " Charlie ", "managers": [manager.pk, second.pk]})
    assert response.status_code == 302
    created = Team.objects.get(organization=org, name="Charlie")
    assert set(created.managers.all()) == {manager, second}
    event = AuditEvent.objects.get(action="team.create")
    assert event.object_id == str(created.pk) and event.actor == leader
    assert event.after == {"name": "Charlie", "managers": sorted([manager.pk, second.pk])}


@pytest.fixture
def foreign_manager(other_org):
    return member(other_org, Role.MANAGER, email="foreign-manager@test.example")


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"name": "   "}, "name", "A team needs a name."),
        ({"name": "Alpha"}, "name", "A team named “Alpha” already exists."),
        ({"name": "ALPHA"}, "name", "A team named “ALPHA” already exists."),
        ({"name": "Charlie", "managers": "foreign"}, "managers", "Choose managers of this organization only."),
        ({"name": "Charlie", "managers": "producer"}, "managers", "Choose managers of this organization only."),
        ({"name": "Charlie", "managers": "bogus"}, "managers", "is not a valid value"),
    ],
)
def test_team_create_bad_input_writes_nothing(login, leader, producer, foreign_manager, team, data, field, message):
    ids = {"foreign": foreign_manager.pk, "producer": producer.pk, "bogus": "x"}
    if "managers" in data:
        data = {**data, "managers": [ids[data["managers"]]]}
    teams_before = list(Team.objects.values_list("pk", "name"))
    response = login(leader).post(url("teams"), data)
    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert list(Team.objects.values_list("pk", "name")) == teams_before
    assert not AuditEvent.objects.exists()


def test_team_create_reports_a_service_refusal_on_the_form(login, leader, org, team, monkeypatch):
    """A duplicate that slips past the form (a concurrent create) comes back from the
    service's unique-constraint check as a field error, not a 500."""
    monkeypatch.setattr("accountability.forms_settings.TeamForm.clean_name", lambda form: form.cleaned_data["name"])
    response = login(leader).post(url("teams"), {"name": "Alpha"})
    assert response.status_code == 200
    assert "A team named “Alpha” already exists." in str(response.context["form"].errors["name"])
    assert Team.objects.filter(organization=org).count() == 1
    assert not AuditEvent.objects.exists()


def test_team_edit_renames_and_reassigns_managers(login, leader, manager, team, org):
    successor = member(org, Role.MANAGER, name="Sam Successor")
    client = login(leader)
    page = client.get(url("team_edit", team.pk))
    assert page.context["form"]["name"].value() == "Alpha"
    assert page.context["form"]["managers"].value() == [manager.pk]
    response = client.post(url("team_edit", team.pk), {"name": "Alpha Prime", "managers": [successor.pk]})
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.name == "Alpha Prime" and list(team.managers.all()) == [successor]
    event = AuditEvent.objects.get(action="team.update")
    assert event.before == {"name": "Alpha", "managers": [manager.pk]}
    assert event.after == {"name": "Alpha Prime", "managers": [successor.pk]}


def test_team_edit_duplicate_name_writes_nothing(login, leader, manager, team, other_team):
    response = login(leader).post(url("team_edit", team.pk), {"name": "bravo", "managers": []})
    assert response.status_code == 200
    assert "A team named “bravo” already exists." in form_errors(response)
    team.refresh_from_db()
    assert team.name == "Alpha" and list(team.managers.all()) == [manager]
    assert not AuditEvent.objects.exists()


def test_team_edit_keeping_its_own_name_is_fine(login, leader, manager, team):
    response = login(leader).post(url("team_edit", team.pk), {"name": "Alpha", "managers": []})
    assert response.status_code == 302
    assert not team.managers.exists()
    assert AuditEvent.objects.get(action="team.update").after == {"name": "Alpha", "managers": []}


def test_team_with_producers_cannot_be_deleted(login, leader, producer, team):
    response = login(leader).post(url("team_delete", team.pk))
    assert response.status_code == 302
    assert Team.objects.filter(pk=team.pk).exists()
    assert any("Move this team's producers to another team" in m for m in messages_of(response))
    assert not AuditEvent.objects.exists()


def test_empty_team_is_deleted_and_audited(login, leader, org, team, other_team):
    response = login(leader).post(url("team_delete", other_team.pk))
    assert response.status_code == 302 and response.url == url("teams")
    assert not Team.objects.filter(pk=other_team.pk).exists()
    event = AuditEvent.objects.get(action="team.delete")
    assert event.before == {"name": "Bravo"} and event.object_id == str(other_team.pk)


# Every signed-in page view: session, user, TOTP-device check (MFA), membership (access),
# the unread-notification count (nav bell), and the sliding session's save (savepoint,
# update, release).
REQUEST_OVERHEAD = 8


def _populate(org, teams: int, producers_per_team: int):
    first = Team.objects.filter(organization=org).count()
    for i in range(first, first + teams):
        new_team = TeamFactory(organization=org, name=f"Budget team {i}")
        member(org, Role.MANAGER, manages=[new_team])
        for _ in range(producers_per_team):
            member(org, Role.PRODUCER, team=new_team)


def test_teams_page_query_count_does_not_grow(login, leader, org, django_assert_max_num_queries):
    # The request overhead + teams with producer counts (one aggregate) + their managers
    # (prefetch) + the active managers offered by the create form.
    budget = REQUEST_OVERHEAD + 3
    client = login(leader)
    _populate(org, teams=2, producers_per_team=1)
    with django_assert_max_num_queries(budget):
        assert client.get(url("teams")).status_code == 200
    _populate(org, teams=20, producers_per_team=3)
    with django_assert_max_num_queries(budget):
        response = client.get(url("teams"))
    assert response.content.decode().count("3 producers") == 20


# --- users -------------------------------------------------------------------------------


def test_users_page_lists_members_with_roles_teams_and_status(login, leader, manager, producer, teammate, team):
    services.user_deactivate(membership=teammate.membership, by=leader)
    response = login(leader).get(url("users"))
    table = response.content.decode().split('data-testid="member-table"')[1].split("</table>")[0]
    rows = {
        row.split("</td>")[1].strip().removeprefix('<td class="text-break">'): row for row in table.split("<tr>")[2:]
    }
    assert "Producer" in rows["producer@test.example"] and "Alpha" in rows["producer@test.example"]
    assert "manages Alpha" in rows["manager@test.example"]
    assert "Deactivated" in rows["teammate@test.example"] and "Reactivate" in rows["teammate@test.example"]
    assert "Active" in rows["producer@test.example"] and "Deactivate" in rows["producer@test.example"]
    # a leader gets no deactivate button for themselves
    assert "member_deactivate" not in rows["leader@test.example"] and "/deactivate/" not in rows["leader@test.example"]


@pytest.mark.parametrize(
    "query, shown, hidden",
    [
        ({"role": "producer"}, {"producer@test.example", "teammate@test.example"}, {"manager@test.example"}),
        ({"role": "manager"}, {"manager@test.example"}, {"producer@test.example", "leader@test.example"}),
        ({"status": "deactivated"}, {"teammate@test.example"}, {"producer@test.example"}),
        ({"status": "active", "role": "producer"}, {"producer@test.example"}, {"teammate@test.example"}),
        ({"role": "nonsense"}, {"producer@test.example", "manager@test.example"}, set()),
    ],
)
def test_users_page_filters(login, leader, manager, producer, teammate, query, shown, hidden):
    services.user_deactivate(membership=teammate.membership, by=leader)
    listed = {m.user.email for m in login(leader).get(url("users"), query).context["page"]}
    assert shown <= listed and not (hidden & listed)


def test_users_page_shows_open_invitations_with_their_state(login, leader, org, team, invitation):
    expired = Invitation.objects.create(
        organization=org,
        email="late@test.example",
        role=Role.MANAGER,
        token_hash="x" * 64,
        invited_by=leader,
        expires_at=timezone.now() - dt.timedelta(hours=1),
    )
    services.invitation_create(organization=org, by=leader, email="gone@test.example", role=Role.LEADER)
    services.invitation_revoke(invitation=Invitation.objects.get(email="gone@test.example"), by=leader)
    page = login(leader).get(url("users")).content.decode()
    invitations = page.split('data-testid="invitation-list"')[1]
    pending_row = invitations.split("new@test.example")[1].split("list-group-item")[0]
    expired_row = invitations.split("late@test.example")[1].split("list-group-item")[0]
    assert "Pending" in pending_row and url("invitation_revoke", invitation.pk) in pending_row
    assert "Expired" in expired_row and url("invitation_revoke", expired.pk) not in expired_row
    assert "gone@test.example" not in invitations


def test_users_page_query_count_does_not_grow(login, leader, org, django_assert_max_num_queries, team):
    # The request overhead + the paginator's count + members joined to user and team +
    # their managed teams (prefetch) + open invitations joined to team and inviter.
    budget = REQUEST_OVERHEAD + 4
    client = login(leader)
    _populate(org, teams=1, producers_per_team=2)
    services.invitation_create(organization=org, by=leader, email="a@test.example", role=Role.PRODUCER, team=team)
    with django_assert_max_num_queries(budget):
        assert client.get(url("users")).status_code == 200
    _populate(org, teams=8, producers_per_team=4)
    for i in range(5):
        services.invitation_create(organization=org, by=leader, email=f"b{i}@test.example", role=Role.LEADER)
    with django_assert_max_num_queries(budget):
        response = client.get(url("users"))
    assert len(response.context["page"]) == 1 + 3 + 8 * 5
    assert response.content.decode().count("manages Budget team") >= 9


# --- invitations -----------------------------------------------------------------------


def test_invite_sends_the_email_and_shows_the_link_once(login, leader, org, team, django_capture_on_commit_callbacks):
    client = login(leader)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("invite"),
            {"email": " New.Person@Test.example ", "name": "Nia New", "role": "producer", "team": team.pk},
        )
    assert response.status_code == 302 and response.url == url("users")
    invitation = Invitation.objects.get(email="new.person@test.example")
    assert (invitation.role, invitation.team, invitation.name, invitation.invited_by) == (
        "producer",
        team,
        "Nia New",
        leader,
    )
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new.person@test.example"]
    link = next(line for line in mail.outbox[0].body.splitlines() if "://" in line).strip()
    assert services.invitation_for_token(link.rstrip("/").rsplit("/", 1)[1]) == invitation
    assert any(link in m for m in messages_of(response))
    event = AuditEvent.objects.get(action="invitation.create")
    assert event.after == {"email": "new.person@test.example", "role": "producer", "team": team.pk}
    # shown once: on the page the redirect lands on, and never again
    assert link in client.get(url("users")).content.decode()
    assert link not in client.get(url("users")).content.decode()


def test_invite_manager_with_a_team_to_manage(login, leader, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        login(leader).post(url("invite"), {"email": "coach@test.example", "role": "manager", "team": team.pk})
    assert Invitation.objects.get(email="coach@test.example").team == team
    assert len(mail.outbox) == 1


def test_invite_leader_ignores_a_team(login, leader, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        login(leader).post(url("invite"), {"email": "boss@test.example", "role": "leader", "team": team.pk})
    assert Invitation.objects.get(email="boss@test.example").team is None


def test_invite_still_shows_the_link_when_email_is_down(login, leader, team, django_capture_on_commit_callbacks):
    with (
        mock.patch("accountability.services.send_mail", side_effect=ConnectionRefusedError("smtp down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = login(leader).post(url("invite"), {"email": "x@test.example", "role": "producer", "team": team.pk})
    assert response.status_code == 302
    assert Invitation.objects.get(email="x@test.example").state == "pending"
    assert any("share this link" in m and "://" in m for m in messages_of(response))


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"email": "p@test.example", "role": "producer"}, "team", "A producer must belong to a team."),
        ({"email": "PRODUCER@test.example", "role": "producer", "team": "team"}, "email", "already has an account"),
        ({"email": "outsider@test.example", "role": "leader"}, "email", "already has an account"),
        (
            {"email": "p@test.example", "role": "producer", "team": "foreign"},
            "team",
            "Choose a team of this organization.",
        ),
        ({"email": "not-an-email", "role": "producer", "team": "team"}, "email", "Enter a valid email address."),
        ({"email": "p@test.example", "role": "owner"}, "role", "Select a valid choice"),
    ],
)
def test_invite_bad_input_writes_and_sends_nothing(
    login, leader, producer, outsider, team, outsider_team, django_capture_on_commit_callbacks, data, field, message
):
    teams = {"team": team.pk, "foreign": outsider_team.pk}
    if "team" in data:
        data = {**data, "team": teams[data["team"]]}
    with django_capture_on_commit_callbacks(execute=True):
        response = login(leader).post(url("invite"), data)
    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert not Invitation.objects.exists() and not AuditEvent.objects.exists() and not mail.outbox


def test_invite_again_prefills_the_form(login, leader, team):
    response = login(leader).get(url("invite"), {"email": "late@test.example", "role": "producer", "team": team.pk})
    form = response.context["form"]
    assert form["email"].value() == "late@test.example" and str(form["team"].value()) == str(team.pk)


def test_revoke_a_pending_invitation(login, leader, invitation):
    response = login(leader).post(url("invitation_revoke", invitation.pk))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.state == "revoked"
    event = AuditEvent.objects.get(action="invitation.revoke")
    assert event.object_id == str(invitation.pk) and event.actor == leader


def test_revoking_an_expired_invitation_is_refused(login, leader, invitation):
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    audit_before = AuditEvent.objects.count()
    response = login(leader).post(url("invitation_revoke", invitation.pk))
    assert "Only a pending invitation can be withdrawn." in messages_of(response)
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is None
    assert AuditEvent.objects.count() == audit_before


# --- members -------------------------------------------------------------------------------


def test_member_edit_moves_a_producer_and_audits(login, leader, producer, team, other_team):
    membership = producer.membership
    client = login(leader)
    page = client.get(url("member_edit", membership.pk))
    assert page.context["form"]["role"].value() == "producer" and page.context["form"]["team"].value() == team.pk
    response = client.post(url("member_edit", membership.pk), {"role": "producer", "team": other_team.pk})
    assert response.status_code == 302
    assert Membership.objects.get(pk=membership.pk).team == other_team
    event = AuditEvent.objects.get(action="membership.change")
    assert event.before == {"role": "producer", "team": team.pk}
    assert event.after == {"role": "producer", "team": other_team.pk}


def test_member_edit_promotes_a_producer_to_manager_of_a_team(login, leader, producer, team, other_team):
    login(leader).post(url("member_edit", producer.membership.pk), {"role": "manager", "team": other_team.pk})
    membership = Membership.objects.get(user=producer)
    assert (membership.role, membership.team) == ("manager", None)
    assert list(producer.managed_teams.all()) == [other_team]
    assert AuditEvent.objects.get(action="membership.change").after == {"role": "manager", "team": None}


@pytest.mark.parametrize(
    "who, data, field, message",
    [
        ("manager", {"role": "producer"}, "team", "A producer must belong to a team."),
        ("producer", {"role": "producer", "team": "foreign"}, "team", "Choose a team of this organization."),
        ("producer", {"role": "emperor"}, "role", "Select a valid choice"),
        ("leader", {"role": "manager"}, "role", "You cannot remove your own leader role"),
    ],
)
def test_member_edit_bad_input_writes_nothing(
    request, login, leader, manager, producer, outsider_team, who, data, field, message
):
    target = request.getfixturevalue(who).membership
    if data.get("team") == "foreign":
        data = {**data, "team": outsider_team.pk}
    memberships_before = list(Membership.objects.values().order_by("pk"))
    managed_before = list(Team.managers.through.objects.values_list("team_id", "user_id").order_by("pk"))
    response = login(leader).post(url("member_edit", target.pk), data)
    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert list(Membership.objects.values().order_by("pk")) == memberships_before
    assert list(Team.managers.through.objects.values_list("team_id", "user_id").order_by("pk")) == managed_before
    assert not AuditEvent.objects.exists()


def test_deactivate_and_reactivate_a_member(login, leader, producer):
    client = login(leader)
    membership = producer.membership
    response = client.post(url("member_deactivate", membership.pk))
    assert response.status_code == 302 and response.url == url("users")
    producer.refresh_from_db()
    membership.refresh_from_db()
    assert not producer.is_active and membership.active_to is not None
    deactivated = AuditEvent.objects.get(action="membership.deactivate")
    assert deactivated.before == {"is_active": True, "active_to": None}
    assert deactivated.after == {"is_active": False, "active_to": membership.active_to.isoformat()}

    client.post(url("member_reactivate", membership.pk))
    producer.refresh_from_db()
    membership.refresh_from_db()
    assert producer.is_active and membership.active_to is None
    reactivated = AuditEvent.objects.get(action="membership.reactivate")
    assert reactivated.after == {"active_from": membership.active_from.isoformat(), "active_to": None}


def test_deactivating_yourself_is_refused(login, leader):
    response = login(leader).post(url("member_deactivate", leader.membership.pk))
    assert "You cannot deactivate yourself." in messages_of(response)
    leader.refresh_from_db()
    assert leader.is_active and Membership.objects.get(user=leader).active_to is None
    assert not AuditEvent.objects.exists()


def test_reactivating_an_active_member_is_refused(login, leader, producer):
    response = login(leader).post(url("member_reactivate", producer.membership.pk))
    assert any("already active" in m for m in messages_of(response))
    assert not AuditEvent.objects.exists()
