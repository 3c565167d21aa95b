"""Core REST API (SPEC §5): token login/logout, me, organization, members, teams — for the
whole cast, with the refusals (400 and nothing written, 401, 403, 404, 405)."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from rest_framework.test import APIClient

from accountability import services
from accountability.models import AuditEvent, Organization, Role, User

from .factories import TeamFactory, UserFactory, member

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
LOGOUT_URL = "/api/v1/auth/logout/"
ME_URL = "/api/v1/me/"
ORG_URL = "/api/v1/organization/"
MEMBERS_URL = "/api/v1/members/"
TEAMS_URL = "/api/v1/teams/"
LOGIN_FAILED = "That e-mail address and password don't match an active account."


def api(user=None) -> APIClient:
    """A client authenticated like a real integration: with a knox token."""
    client = APIClient()
    if user is not None:
        _, token = AuthToken.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def token_for(email, password, ip="10.9.0.1", **extra):
    return APIClient().post(TOKEN_URL, {"email": email, "password": password, **extra}, format="json", REMOTE_ADDR=ip)


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


# --- token login ----------------------------------------------------------------------------


def test_token_login_gives_a_hashed_expiring_token_that_authenticates(producer, password):
    before = timezone.now()
    response = token_for(producer.email.upper(), password)  # e-mail is case-insensitive

    assert response.status_code == 200
    body = response.json()
    expires_at = dt.datetime.fromisoformat(body["expires_at"])
    ttl = settings.REST_KNOX["TOKEN_TTL"]
    assert before + ttl <= expires_at <= timezone.now() + ttl
    stored = AuthToken.objects.get(user=producer)
    assert body["token"] not in (stored.digest, stored.token_key)  # only a hash is kept
    me = APIClient().get(ME_URL, HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert me.status_code == 200
    assert me.json()["email"] == producer.email
    # A token client is not given a browser session on the side.
    assert Session.objects.count() == 0
    assert "sessionid" not in response.cookies


@pytest.mark.parametrize(
    "email_of, password",
    [("producer", "wrong-password"), ("nobody", "correct-horse-battery-9"), ("producer", "")],
)
def test_token_login_refuses_bad_credentials_with_one_message(request, email_of, password):
    email = request.getfixturevalue("producer").email if email_of == "producer" else "nobody@test.example"
    response = token_for(email, password)

    assert response.status_code == 400
    body = response.json()
    assert body.get("detail") == LOGIN_FAILED or "password" in body  # an empty password is a field error
    assert AuthToken.objects.count() == 0


def test_token_login_refuses_an_inactive_user_like_a_wrong_password(producer, password):
    producer.is_active = False
    producer.save()
    response = token_for(producer.email, password)
    assert response.status_code == 400
    assert response.json() == {"detail": LOGIN_FAILED}
    assert AuthToken.objects.count() == 0


def test_token_login_refuses_a_user_without_organization(db, password):
    UserFactory(email="root@test.example")
    response = token_for("root@test.example", password)
    assert response.status_code == 400
    assert response.json() == {"detail": "This account is not a member of an organization."}
    assert AuthToken.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "a@b.c"},
        {"email": None, "password": None},
        {"email": ["a@b.c"], "password": {"x": 1}},
        {"email": "a\x00@b.c", "password": "x"},
        {"email": "a" * 300, "password": "x"},
        [1, 2],
        "just a string",
    ],
)
def test_token_login_malformed_bodies_are_400(producer, body):
    response = APIClient().post(TOKEN_URL, body, format="json")
    assert response.status_code == 400
    assert AuthToken.objects.count() == 0


def test_token_login_invalid_json_is_400(producer):
    response = APIClient().post(TOKEN_URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_token_endpoint_wrong_method_is_405(producer):
    assert APIClient().get(TOKEN_URL).status_code == 405
    assert api(producer).get(LOGOUT_URL).status_code == 405


def test_token_login_is_throttled_with_the_web_login(producer, teammate, password):
    for i in range(settings.AXES_FAILURE_LIMIT):
        response = token_for(producer.email, "wrong-password", ip=f"10.9.1.{i}")
    assert response.status_code == 429
    assert "Try again later" in response.json()["detail"]
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) > 0

    # Locked: even the right password gets no token, through the API or the web login.
    response = token_for(producer.email, password, ip="10.9.1.99")
    assert response.status_code == 429
    assert AuthToken.objects.count() == 0
    web = Client().post(reverse("login"), {"username": producer.email, "password": password}, REMOTE_ADDR="10.9.1.98")
    assert web.status_code == 429
    # Only that account: someone else still logs in.
    assert token_for(teammate.email, password, ip="10.9.1.99").status_code == 200


def test_token_login_counts_web_failures_too(producer, password):
    for i in range(settings.AXES_FAILURE_LIMIT):
        Client().post(reverse("login"), {"username": producer.email, "password": "nope"}, REMOTE_ADDR=f"10.9.2.{i}")
    assert token_for(producer.email, password, ip="10.9.2.99").status_code == 429


def test_a_success_resets_the_failure_count(producer, password):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert token_for(producer.email, "wrong-password").status_code == 400
    assert token_for(producer.email, password).status_code == 200
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert token_for(producer.email, "wrong-password").status_code == 400
    assert token_for(producer.email, password).status_code == 200


# --- two-factor ---------------------------------------------------------------------------


def current_code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_token_login_needs_the_second_factor_when_it_is_on(producer, password):
    device = TOTPDevice.objects.create(user=producer, name="phone", confirmed=True)

    missing = token_for(producer.email, password)
    assert missing.status_code == 400
    assert "authenticator" in missing.json()["otp_code"][0]
    wrong = token_for(producer.email, password, otp_code="000000" if current_code(device) != "000000" else "111111")
    assert wrong.status_code == 400
    assert AuthToken.objects.count() == 0

    device.refresh_from_db()
    device.throttle_reset()  # django-otp slows down guessing after a wrong code
    response = token_for(producer.email, password, otp_code=current_code(device))
    assert response.status_code == 200
    assert AuthToken.objects.filter(user=producer).count() == 1


def test_token_login_wrong_codes_run_into_the_lockout(producer, password):
    device = TOTPDevice.objects.create(user=producer, name="phone", confirmed=True)
    wrong = "000000" if current_code(device) != "000000" else "111111"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = token_for(producer.email, password, otp_code=wrong)
    assert response.status_code == 429
    assert token_for(producer.email, password, otp_code=current_code(device)).status_code == 429


def test_token_login_refuses_a_leader_who_must_but_has_not_set_up_two_factor(org, leader, password):
    org.require_mfa_for_leaders = True
    org.save()
    response = token_for(leader.email, password)
    assert response.status_code == 400
    assert "requires two-factor" in response.json()["otp_code"][0]
    assert AuthToken.objects.count() == 0


# --- using and ending tokens ----------------------------------------------------------------


def test_no_or_bad_credentials_are_401(producer):
    assert APIClient().get(ME_URL).status_code == 401
    for header in ["Token nonsense", "Token", "Token a b", "Bearer abc", "Token \xe9\xe9"]:
        response = APIClient().get(ME_URL, HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"] == "Token"


def test_an_expired_token_is_refused_and_removed(producer, password):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        token = token_for(producer.email, password).json()["token"]
        assert APIClient().get(ME_URL, HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
        traveller.shift(settings.REST_KNOX["TOKEN_TTL"] + dt.timedelta(seconds=1))
        response = APIClient().get(ME_URL, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 401
    assert not AuthToken.objects.filter(user=producer).exists()


def test_logout_deletes_only_the_current_token(producer, password):
    first = token_for(producer.email, password).json()["token"]
    second = token_for(producer.email, password).json()["token"]

    response = APIClient().post(LOGOUT_URL, HTTP_AUTHORIZATION=f"Token {first}")
    assert response.status_code == 204
    assert APIClient().get(ME_URL, HTTP_AUTHORIZATION=f"Token {first}").status_code == 401
    assert APIClient().get(ME_URL, HTTP_AUTHORIZATION=f"Token {second}").status_code == 200


def test_logout_without_a_token_is_refused(producer):
    client = APIClient()
    client.force_login(producer)
    response = client.post(LOGOUT_URL)
    assert response.status_code == 400
    assert "not made with an API token" in response.json()["non_field_errors"][0]
    assert APIClient().post(LOGOUT_URL).status_code == 401


def test_deactivation_ends_the_users_tokens(producer, leader, password):
    token = token_for(producer.email, password).json()["token"]
    leader_client = api(leader)

    services.user_deactivate(membership=producer.membership, by=leader)

    assert not AuthToken.objects.filter(user=producer).exists()
    assert APIClient().get(ME_URL, HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    assert leader_client.get(ME_URL).status_code == 200  # other people's tokens stay


def test_a_token_of_a_user_deactivated_by_hand_is_refused(producer):
    client = api(producer)
    User.objects.filter(pk=producer.pk).update(is_active=False)
    assert client.get(ME_URL).status_code == 401


def test_session_authentication_works_for_the_browser(client, producer):
    client.force_login(producer)
    assert client.get(ME_URL).json()["id"] == producer.pk


# --- me ------------------------------------------------------------------------------------


def test_me_describes_the_caller(producer, manager, team, org):
    body = api(producer).get(ME_URL).json()
    assert body == {
        "id": producer.pk,
        "email": producer.email,
        "name": producer.name,
        "role": "producer",
        "team": team.pk,
        "team_name": team.name,
        "managed_teams": [],
        "organization": {"id": org.pk, "name": org.name, "slug": org.slug, "timezone": org.timezone, "week_start": 0},
    }
    manager_body = api(manager).get(ME_URL).json()
    assert manager_body["role"] == "manager"
    assert manager_body["team"] is None
    assert manager_body["managed_teams"] == [team.pk]


def test_me_of_the_outsider_is_their_own_organization(outsider, other_org):
    assert api(outsider).get(ME_URL).json()["organization"]["slug"] == other_org.slug


def test_me_refuses_a_user_without_membership(db):
    response = api(UserFactory()).get(ME_URL)
    assert response.status_code == 403


def test_me_wrong_method(producer):
    assert api(producer).post(ME_URL, {}).status_code == 405


# --- organization -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["leader", "manager", "producer", "teammate", "outsider", "outsider_leader"])
def test_every_member_reads_their_own_organization(request, who, org, other_org):
    user = request.getfixturevalue(who)
    body = api(user).get(ORG_URL).json()
    expected = other_org if who.startswith("outsider") else org
    assert body["slug"] == expected.slug
    assert body["name"] == expected.name
    assert set(body) == {"id", "slug", *services.ORGANIZATION_SETTINGS}


def test_leader_changes_the_organization_audited(leader, org):
    response = api(leader).patch(
        ORG_URL, {"grace_hours": 24, "timezone": "Europe/Berlin", "slug": "hijack"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["grace_hours"] == 24
    org.refresh_from_db()
    assert (org.grace_hours, org.timezone, org.slug) == (24, "Europe/Berlin", "summit-test")  # slug is read-only
    event = AuditEvent.objects.get(action="organization.update")
    assert event.actor == leader
    assert event.after == {"grace_hours": 24, "timezone": "Europe/Berlin"}


def test_leader_replaces_the_settings_with_put(leader, org):
    current = api(leader).get(ORG_URL).json()
    response = api(leader).put(ORG_URL, {**current, "name": "Summit Renamed", "scoreboard_top_n": 5}, format="json")
    assert response.status_code == 200
    org.refresh_from_db()
    assert (org.name, org.scoreboard_top_n) == ("Summit Renamed", 5)


@pytest.mark.parametrize("who", ["manager", "producer"])
def test_non_leaders_may_not_change_the_organization(request, who, org):
    response = api(request.getfixturevalue(who)).patch(ORG_URL, {"grace_hours": 1}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only leaders can change this."
    org.refresh_from_db()
    assert org.grace_hours == 48
    assert not AuditEvent.objects.exists()


def test_an_outsider_leader_changes_only_their_own_organization(outsider_leader, org, other_org):
    assert api(outsider_leader).patch(ORG_URL, {"grace_hours": 12}, format="json").status_code == 200
    org.refresh_from_db()
    other_org.refresh_from_db()
    assert (org.grace_hours, other_org.grace_hours) == (48, 12)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"grace_hours": -1}, "grace_hours"),
        ({"grace_hours": 10**30}, "grace_hours"),
        ({"grace_hours": "many"}, "grace_hours"),
        ({"week_start": 7}, "week_start"),
        ({"scoreboard_visibility": "public"}, "scoreboard_visibility"),
        ({"scoreboard_top_n": 0}, "scoreboard_top_n"),
        ({"recovery_weeks": 0}, "recovery_weeks"),
        ({"name": ""}, "name"),
        ({"name": "x" * 151}, "name"),
        ({"require_mfa_for_leaders": "perhaps"}, "require_mfa_for_leaders"),
        ({"verification_sample_size": [1]}, "verification_sample_size"),
    ],
)
def test_bad_organization_settings_are_400_and_nothing_changes(leader, org, body, field):
    before = Organization.objects.filter(pk=org.pk).values().get()
    response = api(leader).patch(ORG_URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Organization.objects.filter(pk=org.pk).values().get() == before
    assert not AuditEvent.objects.exists()


def test_put_needs_the_whole_organization(leader, org):
    response = api(leader).put(ORG_URL, {"grace_hours": 10}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
    org.refresh_from_db()
    assert org.grace_hours == 48


def test_organization_body_must_be_an_object(leader):
    assert api(leader).patch(ORG_URL, [1, 2], format="json").status_code == 400
    assert api(leader).patch(ORG_URL, "{", content_type="application/json").status_code == 400


def test_organization_wrong_methods(leader):
    assert api(leader).delete(ORG_URL).status_code == 405
    assert api(leader).post(ORG_URL, {}).status_code == 405


# --- members --------------------------------------------------------------------------------


def test_leader_sees_every_member_of_the_organization_only(leader, manager, producer, teammate, outsider):
    response = api(leader).get(MEMBERS_URL)
    assert ids(response) == {leader.pk, manager.pk, producer.pk, teammate.pk}
    row = next(r for r in response.json()["results"] if r["id"] == producer.pk)
    assert row == {
        "id": producer.pk,
        "email": producer.email,
        "name": producer.name,
        "role": "producer",
        "team": producer.membership.team_id,
        "team_name": "Alpha",
        "active_from": producer.membership.active_from.isoformat(),
        "active_to": None,
        "is_active": True,
    }


def test_manager_sees_their_team_and_themselves(leader, manager, producer, teammate):
    assert ids(api(manager).get(MEMBERS_URL)) == {manager.pk, producer.pk}


def test_producer_sees_only_themselves(leader, manager, producer, teammate):
    assert ids(api(producer).get(MEMBERS_URL)) == {producer.pk}


def test_outsider_leader_sees_only_their_organization(producer, outsider_leader, outsider):
    assert ids(api(outsider_leader).get(MEMBERS_URL)) == {outsider_leader.pk, outsider.pk}


@pytest.mark.parametrize(
    "who, target, status",
    [
        ("leader", "teammate", 200),
        ("leader", "manager", 200),
        ("leader", "outsider", 404),
        ("manager", "producer", 200),
        ("manager", "teammate", 404),
        ("manager", "leader", 404),
        ("producer", "producer", 200),
        ("producer", "teammate", 404),
        ("producer", "manager", 404),
        ("outsider_leader", "producer", 404),
        ("outsider", "outsider", 200),
    ],
)
def test_member_detail_visibility(request, who, target, status):
    user, other = request.getfixturevalue(who), request.getfixturevalue(target)
    response = api(user).get(f"{MEMBERS_URL}{other.pk}/")
    assert response.status_code == status
    if status == 200:
        assert response.json()["email"] == other.email
    else:
        assert response.json() == {"detail": "Not found."}  # the same as for an id that does not exist


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "99999999", str(10**30), "1%20OR%201=1"])
def test_member_detail_malformed_or_unknown_ids_are_404(leader, bad_id):
    assert api(leader).get(f"{MEMBERS_URL}{bad_id}/").status_code == 404


def test_members_are_read_only(leader, producer):
    client = api(leader)
    assert client.post(MEMBERS_URL, {"email": "x@y.z"}, format="json").status_code == 405
    assert client.patch(f"{MEMBERS_URL}{producer.pk}/", {"role": "leader"}, format="json").status_code == 405
    assert client.delete(f"{MEMBERS_URL}{producer.pk}/").status_code == 405
    producer.membership.refresh_from_db()
    assert producer.membership.role == Role.PRODUCER


def test_members_list_is_paginated(leader, org, team):
    for i in range(4):
        member(org, Role.PRODUCER, team=team, email=f"p{i}@test.example")
    body = api(leader).get(MEMBERS_URL, {"page_size": 2}).json()
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert "page=2" in body["next"]
    assert body["previous"] is None
    assert api(leader).get(MEMBERS_URL, {"page": 99}).status_code == 404
    response = api(leader).get(MEMBERS_URL, {"page_size": 500})
    assert response.status_code == 400
    assert response.json() == {"page_size": ["A whole number from 1 to 200."]}


def test_unknown_api_paths_answer_json_404(leader):
    for url in ["/api/v1/", "/api/v1/members/1.5/", "/api/v1/nothing-here/", "/api/v1/activities/1/frobnicate/"]:
        for method in ("get", "post", "delete"):
            response = getattr(api(leader), method)(url)
            assert response.status_code == 404, (method, url)
            assert response.json() == {"detail": "Not found."}
    # Without credentials and with a session cookie but no CSRF token, still a JSON 404.
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(leader)
    assert client.post("/api/v1/members/1.5/").json() == {"detail": "Not found."}


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("size", [5, 50])
def test_members_list_query_budget(django_assert_max_num_queries, leader, org, team, size):
    for i in range(size):
        member(org, Role.PRODUCER, team=team, email=f"m{i}@test.example")
    client = api(leader)
    # Token lookup, the user's other tokens (knox expiry sweep), the caller's membership,
    # the count and one page of memberships joined to users and teams.
    with django_assert_max_num_queries(5):
        response = client.get(MEMBERS_URL, {"page_size": 100})
    assert response.json()["count"] == size + 1


def test_members_list_queries_do_not_grow_with_rows(leader, org, team):
    client = api(leader)
    for _ in range(5):
        member(org, Role.PRODUCER, team=team)
    small = _count_queries(client, MEMBERS_URL)
    for _ in range(45):
        member(org, Role.PRODUCER, team=team)
    assert _count_queries(client, MEMBERS_URL) == small


# --- teams ---------------------------------------------------------------------------------


def test_teams_by_role(leader, manager, producer, teammate, outsider_leader, team, other_team, outsider_team):
    assert ids(api(leader).get(TEAMS_URL)) == {team.pk, other_team.pk}
    assert ids(api(manager).get(TEAMS_URL)) == {team.pk}
    assert ids(api(producer).get(TEAMS_URL)) == {team.pk}
    assert ids(api(teammate).get(TEAMS_URL)) == {other_team.pk}
    assert ids(api(outsider_leader).get(TEAMS_URL)) == {outsider_team.pk}


def test_team_shows_its_managers(leader, manager, team):
    body = api(leader).get(f"{TEAMS_URL}{team.pk}/").json()
    assert body == {"id": team.pk, "name": "Alpha", "managers": [manager.pk], "manager_names": [manager.name]}


@pytest.mark.parametrize(
    "who, which",
    [("leader", "outsider_team"), ("manager", "other_team"), ("producer", "other_team"), ("outsider_leader", "team")],
)
def test_team_outside_visibility_is_404(request, who, which):
    response = api(request.getfixturevalue(who)).get(f"{TEAMS_URL}{request.getfixturevalue(which).pk}/")
    assert response.status_code == 404


def test_teams_are_read_only(leader, team):
    assert api(leader).post(TEAMS_URL, {"name": "New"}, format="json").status_code == 405
    assert api(leader).delete(f"{TEAMS_URL}{team.pk}/").status_code == 405


def test_teams_list_queries_do_not_grow_with_rows(leader, org, manager):
    client = api(leader)
    for _ in range(5):
        TeamFactory(organization=org).managers.add(manager)
    small = _count_queries(client, TEAMS_URL)
    for _ in range(45):
        TeamFactory(organization=org).managers.add(manager)
    # Token, the user's other tokens, membership, count, a page of teams, their managers.
    assert _count_queries(client, TEAMS_URL) == small <= 6


# --- anonymous -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", ME_URL),
        ("get", ORG_URL),
        ("patch", ORG_URL),
        ("get", MEMBERS_URL),
        ("get", f"{MEMBERS_URL}1/"),
        ("get", TEAMS_URL),
        ("get", f"{TEAMS_URL}1/"),
        ("post", LOGOUT_URL),
    ],
)
def test_anonymous_is_401(producer, method, url):
    response = getattr(APIClient(), method)(url)
    assert response.status_code == 401
    assert response.json()["detail"] == "Authentication credentials were not provided."
