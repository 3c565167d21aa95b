"""Core services called directly: audit log, organization settings, teams, memberships,
deactivation, invitations and notifications. Each write is validated, atomic and audited."""

import datetime as dt
import hashlib

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client, override_settings

from accountability.access import membership_of
from accountability.errors import AccountabilityError, InvitationError, MembershipError
from accountability.models import AuditEvent, Invitation, Membership, Notification, Role, Team, User
from accountability.services import (
    audit_log,
    invitation_accept,
    invitation_create,
    invitation_for_token,
    invitation_revoke,
    membership_change,
    notification_send,
    organization_update,
    team_create,
    team_delete,
    team_update,
    user_deactivate,
    user_reactivate,
)

from .factories import member

UTC = dt.UTC
# 2026-03-10 03:00 UTC is still Monday 2026-03-09, 22:00 CDT, in the cast's America/Chicago.
LATE_MONDAY_IN_CHICAGO = dt.datetime(2026, 3, 10, 3, tzinfo=UTC)
GOOD_PASSWORD = "Tr0ub4dor-and-3-horses"


def events(action=None):
    queryset = AuditEvent.objects.all()
    return list(queryset.filter(action=action) if action else queryset)


def reload(obj):
    return type(obj).objects.get(pk=obj.pk)


@pytest.fixture
def frozen():
    with time_machine.travel(LATE_MONDAY_IN_CHICAGO, tick=False) as traveller:
        yield traveller


# --- audit log --------------------------------------------------------------------------


def test_audit_log_records_who_what_and_json_before_after(org, leader, team):
    event = audit_log(
        organization=org,
        actor=leader,
        action="team.update",
        obj=team,
        before={"name": "Alpha", "since": dt.date(2026, 3, 2)},
        after={"name": "Alpha One", "managers": {leader}},
    )
    event = reload(event)
    assert (event.organization, event.actor, event.action) == (org, leader, "team.update")
    assert (event.object_type, event.object_id, event.object_repr) == ("accountability.team", str(team.pk), "Alpha")
    assert event.before == {"name": "Alpha", "since": "2026-03-02"}
    assert event.after == {"name": "Alpha One", "managers": [leader.pk]}


def test_audit_log_without_object_or_actor(org):
    event = reload(audit_log(organization=org, actor=None, action="weeks.close"))
    assert (event.actor, event.object_type, event.object_id, event.before, event.after) == (None, "", "", None, None)


def test_audit_events_are_append_only(org, leader):
    event = audit_log(organization=org, actor=leader, action="organization.update", after={"grace_hours": 24})
    event.action = "nothing.happened"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert reload(event).action == "organization.update"
    assert AuditEvent.objects.count() == 1


# --- organization settings ----------------------------------------------------------------


def test_organization_update_audits_only_changed_fields(org, leader):
    organization_update(
        organization=org, by=leader, data={"grace_hours": 24, "name": org.name, "timezone": "America/Chicago"}
    )
    assert reload(org).grace_hours == 24
    [event] = events("organization.update")
    assert (event.actor, event.object_id) == (leader, str(org.pk))
    assert event.before == {"grace_hours": 48}
    assert event.after == {"grace_hours": 24}


def test_organization_update_of_several_fields(org, leader):
    organization_update(organization=org, by=leader, data={"week_start": 6, "scoreboard_visibility": "anonymous"})
    org = reload(org)
    assert (org.week_start, org.scoreboard_visibility) == (6, "anonymous")
    [event] = events("organization.update")
    assert event.before == {"week_start": 0, "scoreboard_visibility": "named"}
    assert event.after == {"week_start": 6, "scoreboard_visibility": "anonymous"}


def test_organization_update_without_change_writes_nothing(org, leader):
    organization_update(organization=org, by=leader, data={"grace_hours": 48, "timezone": "America/Chicago"})
    assert events() == []


def test_organization_update_refuses_unknown_keys(org, leader):
    with pytest.raises(AccountabilityError, match=r"Unknown settings: id, slug\."):
        organization_update(organization=org, by=leader, data={"grace_hours": 24, "slug": "mine", "id": 7})
    org = reload(org)
    assert (org.slug, org.grace_hours) == ("summit-test", 48)
    assert events() == []


@pytest.mark.parametrize(
    "data",
    [
        {"timezone": "Mars/Olympus_Mons", "grace_hours": 24},
        {"grace_hours": 24 * 14 + 1},
        {"recovery_weeks": 0, "grace_hours": 24},
        {"scoreboard_visibility": "public"},
    ],
)
def test_organization_update_refuses_invalid_values_and_writes_nothing(org, leader, data):
    with pytest.raises(AccountabilityError) as refused:
        organization_update(organization=org, by=leader, data=data)
    assert refused.value.field in data and refused.value.message
    org = reload(org)
    assert (org.timezone, org.grace_hours, org.recovery_weeks) == ("America/Chicago", 48, 2)
    assert org.scoreboard_visibility == "named"
    assert events() == []


# --- teams -----------------------------------------------------------------------------------


def test_team_create(org, leader, manager):
    team = team_create(organization=org, by=leader, name="  Charlie  ", managers=[manager])
    assert team.name == "Charlie"
    assert list(team.managers.all()) == [manager]
    [event] = events("team.create")
    assert (event.actor, event.object_id) == (leader, str(team.pk))
    assert event.after == {"name": "Charlie", "managers": [manager.pk]}


@pytest.mark.parametrize(
    ("name", "managers", "field", "message"),
    [
        ("   ", [], "name", "needs a name"),
        ("Alpha", [], "name", "A team named “Alpha” already exists."),
        ("Charlie", ["producer"], "managers", "Only managers of this organization"),
        ("Charlie", ["leader"], "managers", "Only managers of this organization"),
        ("Charlie", ["foreign_manager"], "managers", "Only managers of this organization"),
    ],
)
def test_team_create_refuses(request, org, other_org, team, leader, name, managers, field, message):
    cast = {
        "producer": lambda: request.getfixturevalue("producer"),
        "leader": lambda: leader,
        "foreign_manager": lambda: member(other_org, Role.MANAGER),
    }
    with pytest.raises(AccountabilityError, match=message) as refused:
        team_create(organization=org, by=leader, name=name, managers=[cast[m]() for m in managers])
    assert refused.value.field == field
    assert list(Team.objects.filter(organization=org).values_list("name", flat=True)) == ["Alpha"]
    assert events() == []


def test_team_names_are_unique_per_organization_only(other_org, outsider_leader, team):
    assert team_create(organization=other_org, by=outsider_leader, name="Alpha").organization == other_org


def test_team_update_renames_and_changes_managers(org, leader, team, manager):
    second = member(org, Role.MANAGER, email="second@test.example")
    team_update(team=team, by=leader, name="Alpha Prime", managers=[second])
    team = reload(team)
    assert team.name == "Alpha Prime"
    assert list(team.managers.all()) == [second]
    [event] = events("team.update")
    assert event.before == {"name": "Alpha", "managers": [manager.pk]}
    assert event.after == {"name": "Alpha Prime", "managers": [second.pk]}


def test_team_update_without_change_writes_nothing(leader, team, manager):
    team_update(team=team, by=leader, name=" Alpha ", managers=[manager])
    assert events() == []


def test_team_update_refuses_a_taken_name(leader, team, other_team, manager):
    with pytest.raises(AccountabilityError, match="already exists") as refused:
        team_update(team=team, by=leader, name="Bravo", managers=[manager])
    assert refused.value.field == "name"
    assert reload(team).name == "Alpha"
    assert events() == []


def test_team_delete_refuses_a_team_with_producers(leader, team, producer):
    with pytest.raises(AccountabilityError, match="Move this team's producers"):
        team_delete(team=team, by=leader)
    assert Team.objects.filter(pk=team.pk).exists()
    assert events() == []


def test_team_delete_of_an_empty_team_is_audited(leader, other_team):
    pk = other_team.pk
    team_delete(team=other_team, by=leader)
    assert not Team.objects.filter(pk=pk).exists()
    [event] = events("team.delete")
    assert (event.object_id, event.before) == (str(pk), {"name": "Bravo"})


# --- memberships ------------------------------------------------------------------------------


def managed(user):
    return set(Team.objects.filter(managers=user).values_list("name", flat=True))


def test_producer_becomes_manager_of_a_team(leader, producer, team, other_team):
    membership = membership_change(membership=producer.membership, by=leader, role=Role.MANAGER, team=other_team)
    membership = reload(membership)
    assert (membership.role, membership.team) == (Role.MANAGER, None)
    assert managed(producer) == {"Bravo"}
    [event] = events("membership.change")
    assert event.before == {"role": "producer", "team": team.pk}
    assert event.after == {"role": "manager", "team": None}


def test_manager_keeps_managed_teams_when_given_another(leader, manager, other_team):
    membership_change(membership=manager.membership, by=leader, role=Role.MANAGER, team=other_team)
    assert managed(manager) == {"Alpha", "Bravo"}


@pytest.mark.parametrize(("role", "team_name"), [(Role.PRODUCER, "Bravo"), (Role.LEADER, None)])
def test_manager_leaving_the_role_stops_managing(leader, manager, other_team, role, team_name):
    membership_change(membership=manager.membership, by=leader, role=role, team=other_team if team_name else None)
    membership = reload(manager.membership)
    assert membership.role == role
    assert getattr(membership.team, "name", None) == team_name
    assert managed(manager) == set()
    assert len(events("membership.change")) == 1


@pytest.mark.parametrize(
    ("role", "team_fixture", "field", "message"),
    [
        (Role.PRODUCER, None, "team", "A producer must belong to a team."),
        (Role.PRODUCER, "outsider_team", "team", "That team is not in this organization."),
        ("owner", None, "role", "Unknown role"),
    ],
)
def test_membership_change_refuses(request, leader, producer, role, team_fixture, field, message):
    team = request.getfixturevalue(team_fixture) if team_fixture else None
    with pytest.raises(MembershipError, match=message) as refused:
        membership_change(membership=producer.membership, by=leader, role=role, team=team)
    assert refused.value.field == field
    membership = reload(producer.membership)
    assert (membership.role, membership.team.name) == (Role.PRODUCER, "Alpha")
    assert events() == []


@pytest.mark.parametrize("role", [Role.MANAGER, Role.PRODUCER])
def test_a_leader_cannot_demote_themselves(leader, team, role):
    with pytest.raises(MembershipError, match="cannot remove your own leader role"):
        membership_change(membership=leader.membership, by=leader, role=role, team=team)
    assert reload(leader.membership).role == Role.LEADER
    assert events() == []


def test_membership_change_without_change_writes_nothing(leader, producer, team):
    membership_change(membership=producer.membership, by=leader, role=Role.PRODUCER, team=team)
    membership_change(membership=leader.membership, by=leader, role=Role.LEADER, team=None)
    assert events() == []


# --- deactivation --------------------------------------------------------------------------


def test_user_deactivate(frozen, leader, producer, django_capture_on_commit_callbacks):
    Membership.objects.filter(user=producer).update(active_from=dt.date(2025, 1, 1))
    with django_capture_on_commit_callbacks(execute=True):
        user_deactivate(membership=reload(producer.membership), by=leader)

    membership = reload(producer.membership)
    assert reload(producer).is_active is False
    # The last active day is yesterday in the organization's time zone (Sunday 2026-03-08),
    # not in UTC (where it is already Tuesday).
    assert membership.active_to == dt.date(2026, 3, 8)
    assert membership_of(reload(producer)) is None
    [event] = events("membership.deactivate")
    assert (event.actor, event.object_id) == (leader, str(membership.pk))
    assert event.after == {"is_active": False, "active_to": "2026-03-08"}


def test_deactivation_on_the_first_day_keeps_a_one_day_membership(frozen, leader, producer):
    Membership.objects.filter(user=producer).update(active_from=dt.date(2026, 3, 9))
    user_deactivate(membership=reload(producer.membership), by=leader)
    assert reload(producer.membership).active_to == dt.date(2026, 3, 9)


def test_deactivating_a_manager_ends_their_management(leader, manager, team):
    user_deactivate(membership=manager.membership, by=leader)
    assert list(team.managers.all()) == []


def test_deactivation_ends_the_users_sessions(leader, producer, teammate, django_capture_on_commit_callbacks):
    producer_client, teammate_client = Client(), Client()
    producer_client.force_login(producer)
    teammate_client.force_login(teammate)
    assert Session.objects.count() == 2

    with django_capture_on_commit_callbacks(execute=True):
        user_deactivate(membership=producer.membership, by=leader)

    [remaining] = Session.objects.all()
    assert remaining.get_decoded()["_auth_user_id"] == str(teammate.pk)
    assert producer_client.get("/notifications/").status_code == 302  # logged out


def test_a_leader_cannot_deactivate_themselves(leader):
    with pytest.raises(MembershipError, match="cannot deactivate yourself"):
        user_deactivate(membership=leader.membership, by=leader)
    assert reload(leader).is_active
    assert reload(leader.membership).active_to is None
    assert events() == []


def test_deactivating_twice_is_refused(leader, producer):
    user_deactivate(membership=producer.membership, by=leader)
    with pytest.raises(MembershipError, match="already deactivated"):
        user_deactivate(membership=reload(producer.membership), by=leader)
    assert len(events("membership.deactivate")) == 1


def test_user_reactivate_starts_a_new_active_period(frozen, leader, producer):
    Membership.objects.filter(user=producer).update(active_from=dt.date(2025, 1, 1))
    user_deactivate(membership=reload(producer.membership), by=leader)
    frozen.move_to(dt.datetime(2026, 3, 20, 15, tzinfo=UTC))

    user_reactivate(membership=reload(producer.membership), by=leader)

    membership = reload(producer.membership)
    assert reload(producer).is_active is True
    assert (membership.active_from, membership.active_to) == (dt.date(2026, 3, 20), None)
    assert membership_of(reload(producer)) == membership
    [event] = events("membership.reactivate")
    assert event.before == {"active_from": "2025-01-01", "active_to": "2026-03-08"}
    assert event.after == {"active_from": "2026-03-20", "active_to": None}


def test_reactivating_an_active_member_is_refused(leader, producer):
    with pytest.raises(MembershipError, match="already active"):
        user_reactivate(membership=producer.membership, by=leader)
    assert events() == []


# --- invitations ------------------------------------------------------------------------------


@pytest.fixture
def invite(org, leader, team):
    def _invite(email="  New.Person@Example.COM ", role=Role.PRODUCER, team=team, name="New Person"):
        return invitation_create(organization=org, by=leader, email=email, role=role, team=team, name=name)

    return _invite


@override_settings(INVITATION_TTL_DAYS=3)
def test_invitation_create_stores_only_the_token_hash(frozen, invite, leader, team):
    invitation, token = invite()
    invitation = reload(invitation)

    assert len(token) >= 40  # 32 random bytes, URL-safe base64
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = [str(getattr(invitation, f.attname)) for f in Invitation._meta.concrete_fields]
    assert not any(token in value for value in stored)
    assert invitation.email == "new.person@example.com"
    assert (invitation.role, invitation.team, invitation.invited_by) == (Role.PRODUCER, team, leader)
    assert invitation.expires_at == LATE_MONDAY_IN_CHICAGO + dt.timedelta(days=3)
    [event] = events("invitation.create")
    assert event.after == {"email": "new.person@example.com", "role": "producer", "team": team.pk}


def test_invitation_email_goes_out_on_commit_with_the_link(invite, org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _, token = invite()
        assert mail.outbox == []  # nothing before the commit
    [message] = mail.outbox
    assert message.to == ["new.person@example.com"]
    assert f"/accounts/invite/{token}/" in message.body
    assert org.name in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f"/accounts/invite/{token}/" in html


def test_invitation_for_an_existing_account_is_refused(invite, producer):
    with pytest.raises(InvitationError, match="already has an account") as refused:
        invite(email="PRODUCER@test.example ")
    assert refused.value.field == "email"
    assert not Invitation.objects.exists()
    assert events() == []


def test_a_producer_invitation_needs_a_team(invite):
    with pytest.raises(AccountabilityError, match="must belong to a team"):
        invite(team=None)
    assert not Invitation.objects.exists()


def test_a_new_invitation_replaces_the_open_one(invite):
    first, first_token = invite()
    second, second_token = invite()
    assert reload(first).state == "revoked"
    assert invitation_for_token(second_token) == second
    with pytest.raises(InvitationError, match="withdrawn"):
        invitation_for_token(first_token)


def test_unknown_token_is_refused(invite):
    invite()
    with pytest.raises(InvitationError, match="This invitation link is not valid."):
        invitation_for_token("not-a-token")


def test_expired_invitation_is_refused(frozen, invite):
    _, token = invite()
    frozen.shift(dt.timedelta(days=7, seconds=1))
    with pytest.raises(InvitationError, match="This invitation has expired. Ask your leader for a new one."):
        invitation_for_token(token)
    with pytest.raises(InvitationError, match="expired"):
        invitation_accept(token=token, name="New Person", password=GOOD_PASSWORD)
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_invitation_revoke(invite, leader):
    invitation, token = invite()
    invitation_revoke(invitation=invitation, by=leader)
    with pytest.raises(InvitationError, match="This invitation was withdrawn. Ask your leader for a new one."):
        invitation_for_token(token)
    with pytest.raises(InvitationError, match="Only a pending invitation can be withdrawn."):
        invitation_revoke(invitation=reload(invitation), by=leader)
    [event] = events("invitation.revoke")
    assert (event.actor, event.object_id) == (leader, str(invitation.pk))


def test_invitation_accept_creates_the_account_and_membership(frozen, invite, org, team):
    invitation, token = invite()
    user = invitation_accept(token=token, name="  Nora Newcomer ", password=GOOD_PASSWORD)

    user = reload(user)
    assert (user.email, user.name, user.is_active) == ("new.person@example.com", "Nora Newcomer", True)
    assert user.check_password(GOOD_PASSWORD)
    membership = user.membership
    assert (membership.organization, membership.role, membership.team) == (org, Role.PRODUCER, team)
    assert membership.active_from == dt.date(2026, 3, 9)  # today in Chicago, not in UTC
    assert reload(invitation).accepted_at == LATE_MONDAY_IN_CHICAGO
    assert {e.action: e.actor for e in events()} == {
        "invitation.create": invitation.invited_by,
        "membership.create": None,
        "invitation.accept": user,
    }


def test_invitation_accept_is_single_use(invite):
    _, token = invite()
    invitation_accept(token=token, name="", password=GOOD_PASSWORD)  # the invitation's name is used
    assert User.objects.get(email="new.person@example.com").name == "New Person"
    with pytest.raises(InvitationError, match="This invitation has already been used. Log in instead."):
        invitation_accept(token=token, name="Someone Else", password=GOOD_PASSWORD)
    assert User.objects.filter(email="new.person@example.com").count() == 1


def test_a_manager_invitation_makes_a_manager_of_the_team(invite, team):
    _, token = invite(role=Role.MANAGER)
    user = invitation_accept(token=token, name="Mia Manager", password=GOOD_PASSWORD)
    assert (user.membership.role, user.membership.team) == (Role.MANAGER, None)
    assert managed(user) == {"Alpha"}


@pytest.mark.parametrize("password", ["short-1", "password123", "12345678901234", "new.person@example.com"])
def test_invitation_accept_validates_the_password(invite, password):
    invitation, token = invite()
    with pytest.raises(ValidationError):
        invitation_accept(token=token, name="New Person", password=password)
    assert not User.objects.filter(email="new.person@example.com").exists()
    assert reload(invitation).state == "pending"
    assert events("invitation.accept") == []


def test_invitation_accept_needs_a_name(invite):
    _, token = invite(name="")
    with pytest.raises(InvitationError, match="Please give your name.") as refused:
        invitation_accept(token=token, name="  ", password=GOOD_PASSWORD)
    assert refused.value.field == "name"
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_invitation_accept_refuses_an_address_taken_meanwhile(invite, other_org):
    invitation, token = invite()
    member(other_org, Role.LEADER, email="new.person@example.com")
    with pytest.raises(InvitationError, match="already has an account"):
        invitation_accept(token=token, name="New Person", password=GOOD_PASSWORD)
    assert reload(invitation).state == "pending"


# --- notifications -----------------------------------------------------------------------------


def test_notification_send_writes_the_in_app_row_and_emails_on_commit(
    producer, org, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notification = notification_send(
            recipient=producer, kind="nudge", text="You are 3 social posts short", link="/progress/"
        )
        assert mail.outbox == []

    notification = reload(notification)
    assert (notification.recipient, notification.organization, notification.kind) == (producer, org, "nudge")
    assert (notification.text, notification.link) == ("You are 3 social posts short", "/progress/")
    assert not notification.is_read
    [message] = mail.outbox
    assert message.to == ["producer@test.example"]
    assert message.subject.startswith("[Accountability]")
    assert "You are 3 social posts short" in message.body
    assert f"{settings.SITE_URL}/progress/" in message.body


def test_notification_send_without_commit_sends_no_email(producer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        notification_send(recipient=producer, kind="nudge", text="Rolled back")
        raise RuntimeError("the change that caused it failed")
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_notification_send_in_app_only(producer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(recipient=producer, kind="badge", text="Streak of 4", email=False)
    assert Notification.objects.filter(recipient=producer).count() == 1
    assert mail.outbox == []


def test_notification_to_a_deactivated_user_is_not_emailed(producer, django_capture_on_commit_callbacks):
    User.objects.filter(pk=producer.pk).update(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(recipient=reload(producer), kind="digest", text="Your week")
    assert Notification.objects.filter(recipient=producer).count() == 1
    assert mail.outbox == []


def test_notification_text_is_capped(producer):
    notification = notification_send(recipient=producer, kind="digest", text="x" * 600, email=False)
    assert len(reload(notification).text) == 500
