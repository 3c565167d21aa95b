"""Authentication: login/logout, passwords, invitations, throttling, session lifetime,
deactivation and security logging (SPEC §1)."""

import datetime as dt
import logging
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accountability import services
from accountability.models import AuditEvent, Invitation, Membership, Role, User
from accountability.tests.factories import UserFactory

NEW_PASSWORD = "a-brand-new-Passw0rd-42"


def post_login(client, email, password, ip="10.0.0.1", **data):
    return client.post(reverse("login"), {"username": email, "password": password, **data}, REMOTE_ADDR=ip)


def logged_in_user_id(client):
    value = client.session.get(SESSION_KEY)
    return int(value) if value is not None else None


def invite(org, leader, *, email="newbie@test.example", role=Role.PRODUCER, team=None, name="Nina Newbie"):
    """An invitation and its raw token (the e-mail is not sent: on_commit never runs here)."""
    return services.invitation_create(organization=org, by=leader, email=email, role=role, team=team, name=name)


def db_state():
    """What an invitation refusal must leave untouched."""
    return (
        User.objects.count(),
        Membership.objects.count(),
        AuditEvent.objects.count(),
        list(Invitation.objects.values_list("pk", "accepted_at", "revoked_at").order_by("pk")),
    )


def accept_data(name="Nina Newbie", password=NEW_PASSWORD, confirm=None):
    return {"name": name, "password1": password, "password2": password if confirm is None else confirm}


# --- login / logout ------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_home_redirects_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next=/"


def test_login_page_has_email_field_and_reset_link(client, db):
    response = client.get(reverse("login"))
    assert response.context["form"].fields["username"].label == "E-mail"
    assert reverse("password_reset").encode() in response.content
    assert b'type="email"' in response.content


def test_login_with_email_and_password(client, producer, password):
    response = post_login(client, producer.email, password)
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert logged_in_user_id(client) == producer.pk


def test_login_email_is_case_insensitive(client, producer, password):
    response = post_login(client, "PRODUCER@Test.Example", password)
    assert response.status_code == 302
    assert logged_in_user_id(client) == producer.pk


def test_wrong_password_is_refused_with_message(client, producer):
    response = post_login(client, producer.email, "not-the-password")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "That e-mail address and password don't match an active account."
    ]
    assert logged_in_user_id(client) is None


def test_inactive_user_cannot_log_in(client, producer, password):
    User.objects.filter(pk=producer.pk).update(is_active=False)
    response = post_login(client, producer.email, password)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert logged_in_user_id(client) is None


def test_login_follows_local_next(client, producer, password):
    response = post_login(client, producer.email, password, next=reverse("notifications"))
    assert response.url == reverse("notifications")


@pytest.mark.parametrize("target", ["https://evil.example/steal", "//evil.example/", "http://evil.example"])
def test_login_ignores_next_to_another_host(client, producer, password, target):
    response = post_login(client, producer.email, password, next=target)
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert logged_in_user_id(client) == producer.pk


def test_login_page_drops_unsafe_next(client, db):
    response = client.get(reverse("login"), {"next": "https://evil.example/"})
    assert b"evil.example" not in response.content


def test_logged_in_user_visiting_login_goes_home(login, producer):
    client = login(producer)
    response = client.get(reverse("login"))
    assert response.status_code == 302
    assert response.url == reverse("home")


def test_logout_is_post_only(login, producer):
    client = login(producer)
    assert client.get(reverse("logout")).status_code == 405
    assert logged_in_user_id(client) == producer.pk


def test_logout_ends_the_session(login, producer):
    client = login(producer)
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "You have been logged out." in response.content.decode()
    assert logged_in_user_id(client) is None
    assert client.get(reverse("notifications")).status_code == 302


# --- password change -------------------------------------------------------------------


def test_password_change_requires_login(client, db):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_password_change(login, producer, password):
    client = login(producer)
    response = client.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.url == reverse("password_change_done")
    producer.refresh_from_db()
    assert producer.check_password(NEW_PASSWORD)
    # The session hash was updated: the user stays logged in in this browser.
    assert client.get(reverse("notifications")).status_code == 200


def test_password_change_wrong_old_password(login, producer, password):
    client = login(producer)
    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong-old-one", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    producer.refresh_from_db()
    assert producer.check_password(password)


def test_password_change_enforces_validators(login, producer, password):
    client = login(producer)
    response = client.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": "qwertyuiop", "new_password2": "qwertyuiop"},
    )
    assert "This password is too common." in response.context["form"].errors["new_password2"]
    producer.refresh_from_db()
    assert producer.check_password(password)


# --- password reset --------------------------------------------------------------------


def reset_link_path(mail) -> str:
    url = re.search(r"https?://\S+/accounts/reset/\S+/", mail.body).group(0)
    return urlsplit(url).path


@override_settings(SITE_URL="https://acc.example")
def test_password_reset_by_email(client, producer, password, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "Producer@TEST.example"})
    assert response.url == reverse("password_reset_done")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [producer.email]
    assert mail.subject == "Reset your Accountability password"
    # The link is built from SITE_URL, never from the request's Host header.
    assert "https://acc.example/accounts/reset/" in mail.body

    set_password_url = client.get(reset_link_path(mail)).url  # Django swaps the token into the session
    response = client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.url == reverse("password_reset_complete")
    producer.refresh_from_db()
    assert producer.check_password(NEW_PASSWORD)
    assert post_login(Client(), producer.email, password).status_code == 200  # the old one no longer works

    # The link works once.
    response = client.get(reset_link_path(mail), follow=True)
    assert response.context["validlink"] is False


def test_password_reset_weak_password_refused(client, producer, password, mailoutbox):
    client.post(reverse("password_reset"), {"email": producer.email})
    set_password_url = client.get(reset_link_path(mailoutbox[0])).url
    response = client.post(set_password_url, {"new_password1": "short", "new_password2": "short"})
    assert response.status_code == 200
    assert any("too short" in e for e in response.context["form"].errors["new_password2"])
    producer.refresh_from_db()
    assert producer.check_password(password)


@pytest.mark.parametrize("email", ["nobody@test.example", "inactive"])
def test_password_reset_sends_nothing_for_unknown_or_inactive(client, producer, mailoutbox, email):
    if email == "inactive":
        User.objects.filter(pk=producer.pk).update(is_active=False)
        email = producer.email
    response = client.post(reverse("password_reset"), {"email": email})
    # Same answer either way, so the form does not reveal which addresses have accounts.
    assert response.url == reverse("password_reset_done")
    assert mailoutbox == []


def test_password_reset_bad_token_shows_invalid_link(client, producer):
    response = client.get(reverse("password_reset_confirm", args=["MQ", "bad-token"]))
    assert response.context["validlink"] is False
    assert "not valid any more" in response.content.decode()


# --- invitations -----------------------------------------------------------------------


def test_invitation_page_shows_organization_role_and_email(client, org, leader, team):
    _, token = invite(org, leader, team=team)
    response = client.get(reverse("invitation_accept", args=[token]))
    content = response.content.decode()
    assert response.status_code == 200
    assert org.name in content and "Producer" in content and "newbie@test.example" in content
    assert response.context["form"]["name"].value() == "Nina Newbie"


def test_invitation_link_from_email_works(client, org, leader, team, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite(org, leader, team=team)
    url = re.search(r"https?://\S+/accounts/invite/\S+/", mailoutbox[0].body).group(0)
    assert client.get(urlsplit(url).path).status_code == 200


def test_accepting_creates_user_and_membership_and_logs_in(client, org, leader, team):
    invitation, token = invite(org, leader, team=team)
    response = client.post(reverse("invitation_accept", args=[token]), accept_data(name="Nina N."))
    assert response.status_code == 302
    assert response.url == reverse("home")
    user = User.objects.get(email="newbie@test.example")
    assert user.name == "Nina N."
    assert user.check_password(NEW_PASSWORD)
    assert (user.membership.organization, user.membership.role, user.membership.team) == (org, Role.PRODUCER, team)
    assert logged_in_user_id(client) == user.pk
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None


def test_accepting_manager_invitation_makes_them_manage_the_team(client, org, leader, other_team):
    _, token = invite(org, leader, email="coach@test.example", role=Role.MANAGER, team=other_team)
    client.post(reverse("invitation_accept", args=[token]), accept_data())
    user = User.objects.get(email="coach@test.example")
    assert user.membership.role == Role.MANAGER
    assert list(other_team.managers.all()) == [user]


def test_second_use_of_link_is_refused(client, org, leader, team):
    _, token = invite(org, leader, team=team)
    client.post(reverse("invitation_accept", args=[token]), accept_data())
    before = db_state()
    response = Client().post(reverse("invitation_accept", args=[token]), accept_data(password="another-Passw0rd-77"))
    assert response.status_code == 410
    assert "already been used" in response.content.decode()
    assert db_state() == before


@pytest.mark.parametrize(
    ("spoil", "status", "message"),
    [
        ("unknown", 404, "This invitation link is not valid."),
        ("expired", 410, "This invitation has expired."),
        ("revoked", 410, "This invitation was withdrawn."),
    ],
)
def test_unusable_invitation_is_refused(client, org, leader, team, spoil, status, message):
    invitation, token = invite(org, leader, team=team)
    if spoil == "unknown":
        token = "not-a-real-token"
    elif spoil == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    else:
        services.invitation_revoke(invitation=invitation, by=leader)
    before = db_state()
    url = reverse("invitation_accept", args=[token])
    for response in (client.get(url), client.post(url, accept_data())):
        assert response.status_code == status
        assert message in response.content.decode()
        assert "form" not in response.context
    assert db_state() == before
    assert logged_in_user_id(client) is None


def test_invitation_expires_with_time(client, org, leader, team):
    _, token = invite(org, leader, team=team)
    later = timezone.now() + dt.timedelta(days=settings.INVITATION_TTL_DAYS, seconds=1)
    with time_machine.travel(later, tick=False):
        response = client.post(reverse("invitation_accept", args=[token]), accept_data())
    assert response.status_code == 410
    assert not User.objects.filter(email="newbie@test.example").exists()


@pytest.mark.parametrize(
    ("password", "error"),
    [
        ("short-1", "This password is too short. It must contain at least 10 characters."),
        ("qwertyuiop", "This password is too common."),
        ("8316407529", "This password is entirely numeric."),
        ("newbie@test.example", "The password is too similar to the e-mail."),
    ],
)
def test_password_validators_enforced_on_accept(client, org, leader, team, password, error):
    _, token = invite(org, leader, team=team)
    before = db_state()
    response = client.post(reverse("invitation_accept", args=[token]), accept_data(password=password))
    assert response.status_code == 200
    assert error in response.context["form"].errors["password1"]
    assert db_state() == before
    assert logged_in_user_id(client) is None


def test_mismatched_passwords_refused(client, org, leader, team):
    _, token = invite(org, leader, team=team)
    before = db_state()
    response = client.post(reverse("invitation_accept", args=[token]), accept_data(confirm="something-else-123"))
    assert "The two password fields didn’t match." in response.context["form"].errors["password2"]
    assert db_state() == before


def test_blank_name_refused(client, org, leader, team):
    _, token = invite(org, leader, team=team)
    before = db_state()
    response = client.post(reverse("invitation_accept", args=[token]), accept_data(name="   "))
    assert response.context["form"].errors["name"]
    assert db_state() == before


def test_email_taken_meanwhile_is_a_form_error(client, org, leader, team):
    _, token = invite(org, leader, team=team)
    UserFactory(email="newbie@test.example")
    before = db_state()
    response = client.post(reverse("invitation_accept", args=[token]), accept_data())
    assert response.status_code == 200
    assert "already has an account" in " ".join(response.context["form"].non_field_errors())
    assert db_state() == before


def test_logged_in_user_must_log_out_first(login, producer, org, leader, team):
    _, token = invite(org, leader, team=team)
    client = login(producer)
    url = reverse("invitation_accept", args=[token])
    response = client.get(url)
    assert "Log out first" in response.content.decode()
    assert "form" not in response.context
    before = db_state()
    client.post(url, accept_data())
    assert db_state() == before
    assert logged_in_user_id(client) == producer.pk


def test_invitation_wrong_method(client, org, leader, team):
    _, token = invite(org, leader, team=team)
    assert client.put(reverse("invitation_accept", args=[token])).status_code == 405


# --- throttling (django-axes) --------------------------------------------------------------


def test_lockout_per_account(client, producer, teammate, password):
    # Five failures for one e-mail, each from another address (and in another letter case).
    for i in range(1, 6):
        email = producer.email.upper() if i % 2 else producer.email
        response = post_login(Client(), email, "wrong-password", ip=f"10.0.1.{i}")
    assert response.status_code == 429
    assert "try again later" in response.content.decode()

    response = post_login(client, producer.email, password, ip="10.0.1.99")
    assert response.status_code == 429
    assert logged_in_user_id(client) is None
    # Only that account is locked: someone else from the same address gets in.
    assert post_login(Client(), teammate.email, password, ip="10.0.1.99").status_code == 302


def test_lockout_per_address(client, producer, password):
    for i in range(5):
        response = post_login(Client(), f"guess{i}@test.example", "wrong-password", ip="10.0.2.1")
    assert response.status_code == 429

    response = post_login(client, producer.email, password, ip="10.0.2.1")
    assert response.status_code == 429
    assert logged_in_user_id(client) is None
    # Only that address is locked: the same account from elsewhere gets in.
    assert post_login(Client(), producer.email, password, ip="10.0.2.2").status_code == 302


def test_four_failures_do_not_lock(client, producer, password):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert post_login(Client(), producer.email, "wrong-password").status_code == 200
    assert post_login(client, producer.email, password).status_code == 302


# --- sessions ------------------------------------------------------------------------------


def test_idle_timeout_is_a_sliding_session(client, producer, password):
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    idle = settings.SESSION_COOKIE_AGE
    assert 0 < idle <= 8 * 3600
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        post_login(client, producer.email, password)
        # Each request pushes the expiry out again, so an active user stays in past `idle`...
        for _ in range(2):
            traveller.shift(dt.timedelta(seconds=idle - 60))
            assert client.get(reverse("notifications")).status_code == 200
        # ...and an idle one is out.
        traveller.shift(dt.timedelta(seconds=idle + 1))
        response = client.get(reverse("notifications"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@override_settings(SESSION_ABSOLUTE_SECONDS=3600)
def test_absolute_session_lifetime(client, producer, password, caplog):
    caplog.set_level(logging.INFO, logger="accountability.security")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        post_login(client, producer.email, password)
        traveller.shift(dt.timedelta(seconds=1800))
        assert client.get(reverse("notifications")).status_code == 200
        traveller.shift(dt.timedelta(seconds=1801))  # active all along, but past the absolute limit
        response = client.get(reverse("notifications"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
        assert logged_in_user_id(client) is None
    assert any("session expired (absolute)" in r.getMessage() for r in caplog.records)


def test_absolute_lifetime_is_configured():
    assert settings.SESSION_ABSOLUTE_SECONDS >= settings.SESSION_COOKIE_AGE
    assert "accountability.middleware.SessionLifetimeMiddleware" in settings.MIDDLEWARE


def test_deactivation_ends_sessions(
    client, producer, leader, password, django_capture_on_commit_callbacks
):
    post_login(client, producer.email, password)
    session_key = client.session.session_key
    leader_client = Client()
    post_login(leader_client, leader.email, password, ip="10.0.3.1")

    with django_capture_on_commit_callbacks(execute=True):
        services.user_deactivate(membership=producer.membership, by=leader)

    assert not Session.objects.filter(session_key=session_key).exists()
    response = client.get(reverse("notifications"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    # Other people's sessions are untouched.
    assert logged_in_user_id(leader_client) == leader.pk
    # And they cannot log in again.
    response = post_login(client, producer.email, password)
    assert response.status_code == 200
    assert logged_in_user_id(client) is None


# --- security logging ------------------------------------------------------------------------


def security_messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "accountability.security"]


def test_login_and_failed_login_are_logged(client, producer, password, caplog):
    caplog.set_level(logging.INFO, logger="accountability.security")
    post_login(client, producer.email, "wrong-password", ip="10.0.4.1")
    post_login(client, producer.email, password, ip="10.0.4.1")
    logged = security_messages(caplog)
    assert f"login failed username='{producer.email}' address=10.0.4.1" in logged
    assert f"login user={producer.pk} address=10.0.4.1" in logged
    assert not any("wrong-password" in m for m in logged)  # never the password


def test_refused_access_is_logged(db, login, caplog):
    stranger = UserFactory()  # logged in, but no membership in any organization
    client = login(stranger)
    caplog.set_level(logging.INFO, logger="accountability.security")
    assert client.get(reverse("notifications")).status_code == 403
    assert any(m.startswith(f"access refused status=403 user={stranger.pk}") for m in security_messages(caplog))


def test_password_change_is_logged(login, producer, password, caplog):
    caplog.set_level(logging.INFO, logger="accountability.security")
    login(producer).post(
        reverse("password_change"),
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert f"password changed user={producer.pk}" in security_messages(caplog)
