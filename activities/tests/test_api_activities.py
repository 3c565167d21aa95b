"""Activities REST API (SPEC §5): activity types, expectations, integration keys and
activities (+ verify / reject) — visibility for the whole cast, every refusal (400 with the
message and nothing written), 401 / 403 / 404 / 405, and query budgets."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from accountability.models import AuditEvent, Role
from accountability.tests.factories import member
from accountability.weeks import current_week_start, local_midnight
from activities.models import Activity, ActivityType, Category, Expectation, IntegrationKey, Status, WeekRecompute

from .factories import ActivityFactory, ActivityTypeFactory, ExpectationFactory

pytestmark = pytest.mark.django_db

TYPES_URL = "/api/v1/activity-types/"
EXPECTATIONS_URL = "/api/v1/expectations/"
KEYS_URL = "/api/v1/integration-keys/"
ACTIVITIES_URL = "/api/v1/activities/"
MALFORMED_IDS = ["abc", "0", "-1", "99999999", str(10**30), "1%20OR%201=1", "%C2%B2"]


def api(user=None) -> APIClient:
    """A client authenticated like a real integration: with a knox token."""
    client = APIClient()
    if user is not None:
        _, token = AuthToken.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured)


@pytest.fixture
def crm(org):
    return ActivityTypeFactory(organization=org, name="CRM entry", category=Category.CRM, points=1)


@pytest.fixture
def social(org):
    return ActivityTypeFactory(organization=org, name="Social post", category=Category.SOCIAL, requires_evidence=True)


@pytest.fixture
def policy(org):
    return ActivityTypeFactory(
        organization=org, name="New policy sold", category=Category.RESULT, tracks_value=True, value_label="Premium"
    )


@pytest.fixture
def outsider_type(other_org):
    return ActivityTypeFactory(organization=other_org, name="Northwind call")


def this_week(org):
    return current_week_start(org, timezone.now())


class Unchanged:
    """Snapshot of what a refused request must leave untouched."""

    def __init__(self, *models):
        self.models = (*models, AuditEvent, WeekRecompute)
        self.before = self.state()

    def state(self):
        return {model.__name__: list(model.objects.order_by("pk").values()) for model in self.models}

    def check(self):
        assert self.state() == self.before


# --- activity types ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["leader", "manager", "producer", "teammate"])
def test_every_member_lists_the_organizations_types(request, who, crm, social, outsider_type):
    assert ids(api(request.getfixturevalue(who)).get(TYPES_URL)) == {crm.pk, social.pk}


def test_outsider_leader_lists_only_their_types(outsider_leader, crm, outsider_type):
    assert ids(api(outsider_leader).get(TYPES_URL)) == {outsider_type.pk}


def test_type_detail_visibility(producer, leader, outsider_leader, crm, outsider_type):
    body = api(producer).get(f"{TYPES_URL}{crm.pk}/").json()
    assert body["name"] == "CRM entry"
    assert body["category"] == "crm"
    assert api(leader).get(f"{TYPES_URL}{outsider_type.pk}/").status_code == 404
    assert api(outsider_leader).get(f"{TYPES_URL}{crm.pk}/").json() == {"detail": "Not found."}


def test_leader_creates_a_type_audited(leader, org):
    body = {"name": "Referral", "category": "result", "points": 4, "tracks_value": True, "value_label": "Premium"}
    response = api(leader).post(TYPES_URL, body, format="json")

    assert response.status_code == 201, response.content
    created = ActivityType.objects.get(pk=response.json()["id"])
    assert (created.organization, created.name, created.points, created.tracks_value) == (org, "Referral", 4, True)
    assert response.json()["active"] is True
    assert AuditEvent.objects.get(action="activity_type.create").actor == leader


@pytest.mark.parametrize("who", ["manager", "producer"])
def test_non_leaders_may_not_create_types(request, who):
    unchanged = Unchanged(ActivityType)
    response = api(request.getfixturevalue(who)).post(TYPES_URL, {"name": "X", "category": "crm"}, format="json")
    assert response.status_code == 403
    unchanged.check()


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"name": "crm ENTRY", "category": "crm"}, "name", "An activity type named “crm ENTRY” already exists."),
        ({"name": "   ", "category": "crm"}, "name", None),
        ({"name": "X", "category": "gossip"}, "category", None),
        ({"name": "X"}, "category", None),
        ({"name": "X", "category": "crm", "points": -1}, "points", None),
        ({"name": "X", "category": "crm", "points": 10**12}, "points", None),
        ({"name": "X", "category": "crm", "points": "lots"}, "points", None),
        ({"name": "X" * 101, "category": "crm"}, "name", None),
        ({"name": ["X"], "category": "crm"}, "name", None),
        ({"name": "X\x00", "category": "crm"}, "name", None),
    ],
)
def test_bad_type_input_is_400_and_nothing_is_written(leader, crm, body, field, message):
    unchanged = Unchanged(ActivityType)
    response = api(leader).post(TYPES_URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    if message:
        assert response.json()[field] == [message]
    unchanged.check()


def test_leader_deactivates_a_type_audited(leader, crm):
    response = api(leader).patch(f"{TYPES_URL}{crm.pk}/", {"active": False}, format="json")
    assert response.status_code == 200
    crm.refresh_from_db()
    assert crm.active is False
    event = AuditEvent.objects.get(action="activity_type.update")
    assert (event.before, event.after) == ({"active": True}, {"active": False})


def test_leader_replaces_a_type_with_put(leader, crm):
    body = {"name": "CRM note", "category": "crm", "points": 2, "requires_evidence": False, "tracks_value": False}
    assert api(leader).put(f"{TYPES_URL}{crm.pk}/", body, format="json").status_code == 200
    crm.refresh_from_db()
    assert (crm.name, crm.points) == ("CRM note", 2)


def test_renaming_a_type_to_an_existing_name_is_refused(leader, crm, social):
    unchanged = Unchanged(ActivityType)
    response = api(leader).patch(f"{TYPES_URL}{social.pk}/", {"name": "CRM Entry"}, format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["name"][0]
    unchanged.check()


@pytest.mark.parametrize(
    "who, which, status",
    [
        ("producer", "crm", 403),
        ("manager", "crm", 403),
        ("producer", "outsider_type", 404),
        ("leader", "outsider_type", 404),
        ("outsider_leader", "crm", 404),
    ],
)
def test_type_changes_outside_role_or_visibility(request, who, which, status):
    activity_type = request.getfixturevalue(which)
    unchanged = Unchanged(ActivityType)
    response = api(request.getfixturevalue(who)).patch(f"{TYPES_URL}{activity_type.pk}/", {"points": 9}, format="json")
    assert response.status_code == status
    unchanged.check()


def test_types_cannot_be_deleted(leader, crm):
    assert api(leader).delete(f"{TYPES_URL}{crm.pk}/").status_code == 405
    assert ActivityType.objects.filter(pk=crm.pk).exists()


@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_type_malformed_ids_are_404(leader, bad_id):
    assert api(leader).get(f"{TYPES_URL}{bad_id}/").status_code == 404


# --- expectations --------------------------------------------------------------------------


@pytest.fixture
def expectation(crm):
    return ExpectationFactory(activity_type=crm, target=5)


def test_every_member_lists_expectations_with_names(producer, teammate, expectation, team, social, outsider_type):
    team_target = ExpectationFactory(activity_type=social, team=team, target=2)
    ExpectationFactory(activity_type=outsider_type)
    response = api(teammate).get(EXPECTATIONS_URL)
    assert ids(response) == {expectation.pk, team_target.pk}
    row = next(r for r in response.json()["results"] if r["id"] == team_target.pk)
    assert (row["activity_type_name"], row["team"], row["team_name"], row["target"]) == (
        "Social post",
        team.pk,
        "Alpha",
        2,
    )


def test_expectation_filters(producer, org, crm, social, team):
    week = this_week(org)
    old = ExpectationFactory(activity_type=crm, target=3, effective_to=week)
    new = ExpectationFactory(activity_type=crm, target=5, effective_from=week)
    team_target = ExpectationFactory(activity_type=social, team=team, effective_from=week)
    client = api(producer)

    assert ids(client.get(EXPECTATIONS_URL, {"activity_type": crm.pk})) == {old.pk, new.pk}
    assert ids(client.get(EXPECTATIONS_URL, {"team": team.pk})) == {team_target.pk}
    assert ids(client.get(EXPECTATIONS_URL, {"active_on": week.isoformat()})) == {new.pk, team_target.pk}
    a_day_last_week = week - dt.timedelta(days=3)
    assert ids(client.get(EXPECTATIONS_URL, {"active_on": a_day_last_week.isoformat()})) == {old.pk}
    assert ids(client.get(EXPECTATIONS_URL, {"active_on": "0001-01-01"})) == set()
    for bad in [{"active_on": "last week"}, {"team": "abc"}, {"activity_type": "1.5"}, {"team": str(10**30)}]:
        assert client.get(EXPECTATIONS_URL, bad).status_code == 400, bad


def test_leader_sets_a_target_and_past_weeks_keep_theirs(leader, org, expectation, crm):
    week = this_week(org)
    response = api(leader).post(EXPECTATIONS_URL, {"activity_type": crm.pk, "target": 8}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["target"], body["effective_from"], body["effective_to"], body["team"]) == (
        8,
        week.isoformat(),
        None,
        None,
    )
    expectation.refresh_from_db()
    assert expectation.effective_to == week  # the old period ends where the new one starts
    assert AuditEvent.objects.get(action="expectation.set").actor == leader


def test_leader_sets_a_team_target_from_a_later_week(leader, org, crm, team):
    next_week = this_week(org) + dt.timedelta(days=7)
    body = {"activity_type": crm.pk, "target": 2, "team": team.pk, "effective_from": next_week.isoformat()}
    response = api(leader).post(EXPECTATIONS_URL, body, format="json")
    assert response.status_code == 201
    created = Expectation.objects.get(pk=response.json()["id"])
    assert (created.team, created.effective_from) == (team, next_week)


@pytest.mark.parametrize("who", ["manager", "producer"])
def test_non_leaders_may_not_set_targets(request, who, crm):
    unchanged = Unchanged(Expectation)
    response = api(request.getfixturevalue(who)).post(
        EXPECTATIONS_URL, {"activity_type": crm.pk, "target": 1}, format="json"
    )
    assert response.status_code == 403
    unchanged.check()


def _bad_expectations(org, crm, outsider_type, outsider_team, inactive):
    week = this_week(org)
    return [
        ({"activity_type": crm.pk, "target": 0}, "target", None),
        ({"activity_type": crm.pk, "target": 10_001}, "target", None),
        ({"activity_type": crm.pk, "target": "five"}, "target", None),
        ({"activity_type": crm.pk}, "target", None),
        ({"activity_type": outsider_type.pk, "target": 1}, "activity_type", f"Unknown id {outsider_type.pk}."),
        ({"activity_type": crm.pk, "target": 1, "team": outsider_team.pk}, "team", f"Unknown id {outsider_team.pk}."),
        ({"activity_type": "CRM", "target": 1}, "activity_type", "An id must be a whole number."),
        ({"activity_type": inactive.pk, "target": 1}, "activity_type", "“Retired” is inactive; activate it first."),
        (
            {"activity_type": crm.pk, "target": 1, "effective_from": (week + dt.timedelta(days=1)).isoformat()},
            "effective_from",
            "A target starts at the beginning of a week.",
        ),
        (
            {"activity_type": crm.pk, "target": 1, "effective_from": (week - dt.timedelta(days=7)).isoformat()},
            "effective_from",
            "Past weeks keep the target they had; a change can start this week at the earliest.",
        ),
        ({"activity_type": crm.pk, "target": 1, "effective_from": "someday"}, "effective_from", None),
    ]


def test_bad_expectation_input_is_400_and_nothing_is_written(
    leader, org, expectation, crm, outsider_type, outsider_team
):
    inactive = ActivityTypeFactory(organization=org, name="Retired", active=False)
    client = api(leader)
    for body, field, message in _bad_expectations(org, crm, outsider_type, outsider_team, inactive):
        unchanged = Unchanged(Expectation)
        response = client.post(EXPECTATIONS_URL, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json(), (body, response.json())
        if message:
            assert response.json()[field] == [message]
        unchanged.check()


def test_leader_ends_an_expectation_audited(leader, org, expectation):
    next_week = this_week(org) + dt.timedelta(days=7)
    response = api(leader).patch(
        f"{EXPECTATIONS_URL}{expectation.pk}/", {"effective_to": next_week.isoformat()}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["effective_to"] == next_week.isoformat()
    expectation.refresh_from_db()
    assert expectation.effective_to == next_week
    assert AuditEvent.objects.filter(action="expectation.end").count() == 1


def test_ending_without_a_date_ends_it_this_week(leader, org, expectation):
    response = api(leader).patch(f"{EXPECTATIONS_URL}{expectation.pk}/", {}, format="json")
    assert response.status_code == 200
    expectation.refresh_from_db()
    assert expectation.effective_to == this_week(org)


def test_ending_an_expectation_before_it_starts_removes_it(leader, org, crm):
    planned = ExpectationFactory(activity_type=crm, effective_from=this_week(org) + dt.timedelta(days=14))
    response = api(leader).patch(f"{EXPECTATIONS_URL}{planned.pk}/", {}, format="json")
    assert response.status_code == 204
    assert not Expectation.objects.filter(pk=planned.pk).exists()
    assert AuditEvent.objects.filter(action="expectation.delete").count() == 1


@pytest.mark.parametrize(
    "effective_to, message",
    [
        (lambda week: week + dt.timedelta(days=2), "The end must be a week start."),
        (lambda week: week - dt.timedelta(days=7), "Closed weeks cannot change; end it from this week on."),
    ],
)
def test_bad_expectation_end_is_400(leader, org, expectation, effective_to, message):
    unchanged = Unchanged(Expectation)
    body = {"effective_to": effective_to(this_week(org)).isoformat()}
    response = api(leader).patch(f"{EXPECTATIONS_URL}{expectation.pk}/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"effective_to": [message]}
    unchanged.check()


def test_expectation_end_bad_types_are_400(leader, expectation):
    for body in [{"effective_to": "soon"}, {"effective_to": 5}, [1]]:
        response = api(leader).patch(f"{EXPECTATIONS_URL}{expectation.pk}/", body, format="json")
        assert response.status_code == 400, body
    expectation.refresh_from_db()
    assert expectation.effective_to is None


@pytest.mark.parametrize("who, status", [("producer", 403), ("manager", 403), ("outsider_leader", 404)])
def test_expectation_end_outside_role_or_visibility(request, who, status, expectation):
    unchanged = Unchanged(Expectation)
    response = api(request.getfixturevalue(who)).patch(f"{EXPECTATIONS_URL}{expectation.pk}/", {}, format="json")
    assert response.status_code == status
    unchanged.check()


def test_expectation_wrong_methods(leader, expectation):
    client = api(leader)
    assert client.put(f"{EXPECTATIONS_URL}{expectation.pk}/", {"target": 1}, format="json").status_code == 405
    assert client.delete(f"{EXPECTATIONS_URL}{expectation.pk}/").status_code == 405
    assert Expectation.objects.filter(pk=expectation.pk).exists()


def test_expectation_detail_of_another_organization_is_404(leader, outsider_type):
    theirs = ExpectationFactory(activity_type=outsider_type)
    assert api(leader).get(f"{EXPECTATIONS_URL}{theirs.pk}/").status_code == 404


@pytest.mark.parametrize("rows", [5, 50])
def test_expectations_list_query_budget(django_assert_max_num_queries, producer, org, team, rows):
    for _ in range(rows):
        ExpectationFactory(activity_type=ActivityTypeFactory(organization=org), team=team)
    client = api(producer)
    # Token, the user's other tokens (knox's expiry sweep), membership, count, and one page
    # of expectations joined to their activity type and team — whatever the number of rows.
    with django_assert_max_num_queries(5):
        response = client.get(EXPECTATIONS_URL, {"page_size": 100})
    assert response.json()["count"] == rows


# --- integration keys -----------------------------------------------------------------


@pytest.fixture
def key(org, leader):
    return IntegrationKey.objects.create(
        organization=org, name="HubSpot", source_label="HubSpot", key_id="ik_ours", secret="s3cret", created_by=leader
    )


@pytest.fixture
def outsider_key(other_org):
    return IntegrationKey.objects.create(organization=other_org, name="X", source_label="X", key_id="ik_x", secret="x")


def test_leader_creates_a_key_and_sees_the_secret_once(leader, org):
    client = api(leader)
    response = client.post(KEYS_URL, {"name": "CRM", "source_label": "HubSpot"}, format="json")

    assert response.status_code == 201
    body = response.json()
    stored = IntegrationKey.objects.get(pk=body["id"])
    assert (stored.organization, body["key_id"], body["secret"]) == (org, stored.key_id, stored.secret)
    assert AuditEvent.objects.get(action="integration_key.create").actor == leader
    # Never again: not in the list, not in the detail.
    assert "secret" not in client.get(KEYS_URL).json()["results"][0]
    assert "secret" not in client.get(f"{KEYS_URL}{stored.pk}/").json()
    assert stored.secret not in client.get(KEYS_URL).content.decode()


def test_leader_lists_only_their_keys(leader, key, outsider_key):
    assert ids(api(leader).get(KEYS_URL)) == {key.pk}


@pytest.mark.parametrize("who", ["manager", "producer", "teammate"])
def test_non_leaders_get_403_on_keys(request, who, key):
    client = api(request.getfixturevalue(who))
    unchanged = Unchanged(IntegrationKey)
    assert client.get(KEYS_URL).status_code == 403
    assert client.get(f"{KEYS_URL}{key.pk}/").status_code == 403
    assert client.post(KEYS_URL, {"name": "A", "source_label": "B"}, format="json").status_code == 403
    assert client.post(f"{KEYS_URL}{key.pk}/rotate/").status_code == 403
    assert client.patch(f"{KEYS_URL}{key.pk}/", {"active": False}, format="json").status_code == 403
    unchanged.check()


@pytest.mark.parametrize("who", ["leader", "producer"])
def test_another_organizations_key_is_404(request, who, outsider_key):
    client = api(request.getfixturevalue(who))
    unchanged = Unchanged(IntegrationKey)
    assert client.get(f"{KEYS_URL}{outsider_key.pk}/").status_code == 404
    assert client.post(f"{KEYS_URL}{outsider_key.pk}/rotate/").status_code == 404
    assert client.patch(f"{KEYS_URL}{outsider_key.pk}/", {"active": False}, format="json").status_code == 404
    unchanged.check()


def test_rotate_returns_the_new_secret_once(leader, key):
    response = api(leader).post(f"{KEYS_URL}{key.pk}/rotate/")
    assert response.status_code == 200
    key.refresh_from_db()
    assert response.json()["secret"] == key.secret != "s3cret"
    assert response.json()["key_id"] == "ik_ours"
    assert AuditEvent.objects.filter(action="integration_key.rotate").count() == 1


def test_leader_deactivates_a_key_and_patch_is_idempotent(leader, key):
    client = api(leader)
    for _ in range(2):
        response = client.patch(f"{KEYS_URL}{key.pk}/", {"active": False}, format="json")
        assert response.status_code == 200
        assert response.json()["active"] is False
    key.refresh_from_db()
    assert key.active is False
    assert AuditEvent.objects.filter(action="integration_key.deactivate").count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "", "source_label": "HubSpot"}, "name"),
        ({"name": "CRM"}, "source_label"),
        ({"name": "CRM", "source_label": "   "}, "source_label"),
        ({"name": "x" * 101, "source_label": "HubSpot"}, "name"),
        ({"name": {"a": 1}, "source_label": "HubSpot"}, "name"),
    ],
)
def test_bad_key_input_is_400_and_nothing_is_written(leader, body, field):
    unchanged = Unchanged(IntegrationKey)
    response = api(leader).post(KEYS_URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    unchanged.check()


def test_key_patch_needs_a_boolean(leader, key):
    for body in [{"active": "sometimes"}, {"active": None}, [True]]:
        assert api(leader).patch(f"{KEYS_URL}{key.pk}/", body, format="json").status_code == 400, body
    # Only `active` can change; other fields are ignored, and an empty PATCH changes nothing.
    for body in [{}, {"name": "Renamed"}]:
        assert api(leader).patch(f"{KEYS_URL}{key.pk}/", body, format="json").json()["name"] == "HubSpot"
    key.refresh_from_db()
    assert (key.active, key.name) == (True, "HubSpot")
    assert not AuditEvent.objects.exists()


def test_key_wrong_methods(leader, key):
    client = api(leader)
    assert client.delete(f"{KEYS_URL}{key.pk}/").status_code == 405
    assert client.put(f"{KEYS_URL}{key.pk}/", {"active": False}, format="json").status_code == 405
    assert client.get(f"{KEYS_URL}{key.pk}/rotate/").status_code == 405
    assert IntegrationKey.objects.filter(pk=key.pk, active=True).exists()


# --- activities: visibility ---------------------------------------------------------------


@pytest.fixture
def logged(producer, teammate, outsider, crm, outsider_type):
    """One activity for each of producer, teammate and outsider, by name."""
    return {
        "producer": ActivityFactory(producer=producer, activity_type=crm),
        "teammate": ActivityFactory(producer=teammate, activity_type=crm),
        "outsider": ActivityFactory(producer=outsider, activity_type=outsider_type),
    }


@pytest.mark.parametrize(
    "who, sees",
    [
        ("leader", {"producer", "teammate"}),
        ("manager", {"producer"}),
        ("producer", {"producer"}),
        ("teammate", {"teammate"}),
        ("outsider", {"outsider"}),
        ("outsider_leader", {"outsider"}),
    ],
)
def test_activity_list_visibility(request, logged, who, sees):
    response = api(request.getfixturevalue(who)).get(ACTIVITIES_URL)
    assert ids(response) == {logged[name].pk for name in sees}


@pytest.mark.parametrize(
    "who, whose, status",
    [
        ("leader", "teammate", 200),
        ("leader", "outsider", 404),
        ("manager", "producer", 200),
        ("manager", "teammate", 404),
        ("producer", "producer", 200),
        ("producer", "teammate", 404),
        ("teammate", "producer", 404),
        ("outsider_leader", "producer", 404),
    ],
)
def test_activity_detail_visibility(request, logged, who, whose, status):
    response = api(request.getfixturevalue(who)).get(f"{ACTIVITIES_URL}{logged[whose].pk}/")
    assert response.status_code == status
    if status == 404:
        assert response.json() == {"detail": "Not found."}


def test_activity_detail_shape(producer, logged, crm):
    activity = logged["producer"]
    body = api(producer).get(f"{ACTIVITIES_URL}{activity.pk}/").json()
    assert body["producer"] == producer.pk
    assert body["producer_name"] == producer.name
    assert (body["activity_type"], body["activity_type_name"]) == (crm.pk, "CRM entry")
    assert body["week_start"] == activity.week_start.isoformat()
    # Shown in the organization's time zone (America/Chicago).
    shown = dt.datetime.fromisoformat(body["occurred_at"])
    assert shown == activity.occurred_at
    assert shown.utcoffset() in (dt.timedelta(hours=-6), dt.timedelta(hours=-5))


@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_activity_malformed_ids_are_404(leader, bad_id):
    assert api(leader).get(f"{ACTIVITIES_URL}{bad_id}/").status_code == 404
    assert api(leader).post(f"{ACTIVITIES_URL}{bad_id}/verify/").status_code == 404


# --- activities: filters -------------------------------------------------------------------


def test_activity_filters(leader, producer, teammate, team, crm, social):
    client = api(leader)
    mine = ActivityFactory(producer=producer, activity_type=crm)
    social_post = ActivityFactory(producer=producer, activity_type=social, status=Status.VERIFIED)
    flagged = ActivityFactory(producer=teammate, activity_type=crm, needs_review=True)

    assert ids(client.get(ACTIVITIES_URL, {"producer": producer.pk})) == {mine.pk, social_post.pk}
    assert ids(client.get(ACTIVITIES_URL, {"activity_type": social.pk})) == {social_post.pk}
    assert ids(client.get(ACTIVITIES_URL, {"team": team.pk})) == {mine.pk, social_post.pk}
    assert ids(client.get(ACTIVITIES_URL, {"status": "verified"})) == {social_post.pk}
    assert ids(client.get(ACTIVITIES_URL, {"needs_review": "true"})) == {flagged.pk}
    assert ids(client.get(ACTIVITIES_URL, {"producer": teammate.pk, "activity_type": social.pk})) == set()


def test_date_filters_are_inclusive_days_in_the_organizations_time_zone(leader, org, producer, crm):
    day = timezone.localdate(timezone=org.tzinfo) - dt.timedelta(days=10)
    late_evening = local_midnight(day, org.tzinfo) + dt.timedelta(hours=23, minutes=30)  # next day in UTC
    next_morning = local_midnight(day + dt.timedelta(days=1), org.tzinfo) + dt.timedelta(minutes=30)
    evening = ActivityFactory(producer=producer, activity_type=crm, occurred_at=late_evening)
    morning = ActivityFactory(producer=producer, activity_type=crm, occurred_at=next_morning)
    client = api(leader)
    iso = dt.date.isoformat

    assert ids(client.get(ACTIVITIES_URL, {"from": iso(day), "to": iso(day)})) == {evening.pk}
    assert ids(client.get(ACTIVITIES_URL, {"from": iso(day + dt.timedelta(days=1))})) >= {morning.pk}
    assert evening.pk not in ids(client.get(ACTIVITIES_URL, {"from": iso(day + dt.timedelta(days=1))}))
    assert ids(client.get(ACTIVITIES_URL, {"to": iso(day)})) == {evening.pk}
    assert ids(client.get(ACTIVITIES_URL, {"from": "0001-01-01", "to": "9999-12-31"})) == {evening.pk, morning.pk}


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": "abc"},
        {"page_size": "0"},
        {"page_size": "201"},
        {"page_size": "1e3"},
        {"from": "yesterday"},
        {"to": "2026-02-30"},
        {"producer": "abc"},
        {"producer": "1.5"},
        {"producer": str(10**30)},
        {"team": "-3"},
        {"status": "approved"},
        {"page": "0"},
        {"page": "abc"},
    ],
)
def test_bad_filters_are_answered_not_crashed(leader, logged, params):
    response = api(leader).get(ACTIVITIES_URL, params)
    assert response.status_code in (400, 404)
    assert response.json()


def test_activities_list_is_paginated(producer, crm):
    for _ in range(3):
        ActivityFactory(producer=producer, activity_type=crm)
    body = api(producer).get(ACTIVITIES_URL, {"page_size": 2}).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert (body["count"], len(body["results"]), body["previous"]) == (3, 2, None)
    assert api(producer).get(ACTIVITIES_URL, {"page": 3, "page_size": 2}).status_code == 404


@pytest.mark.parametrize("rows", [5, 50])
@pytest.mark.parametrize("who, budget", [("leader", 5), ("manager", 6), ("producer", 5)])
def test_activities_list_query_budget(request, django_assert_max_num_queries, who, budget, rows, producer, crm, social):
    for i in range(rows):
        reviewer = request.getfixturevalue("manager") if i % 2 else None
        ActivityFactory(producer=producer, activity_type=(crm, social)[i % 2], reviewed_by=reviewer, logged_by=producer)
    client = api(request.getfixturevalue(who))
    # Token, the user's other tokens (knox's expiry sweep), membership, managed teams
    # (managers only), count, and one page of activities joined to type, producer,
    # reviewer and logger — whatever the number of rows.
    with django_assert_max_num_queries(budget):
        response = client.get(ACTIVITIES_URL, {"page_size": 100})
    assert response.json()["count"] == rows


# --- activities: logging ------------------------------------------------------------------


def now_iso(**delta) -> str:
    return (timezone.now() - dt.timedelta(**delta)).isoformat()


def test_producer_logs_for_themselves_by_api(producer, crm):
    body = {"activity_type": crm.pk, "occurred_at": now_iso(minutes=5), "quantity": 3, "note": " called Bob "}
    response = api(producer).post(ACTIVITIES_URL, body, format="json")

    assert response.status_code == 201, response.content
    activity = Activity.objects.get(pk=response.json()["id"])
    assert (activity.producer, activity.quantity, activity.note, activity.source) == (producer, 3, "called Bob", "api")
    assert activity.logged_by == producer
    assert response.json()["status"] == "logged"


def test_a_time_without_offset_is_read_in_the_organizations_time_zone(producer, org, crm):
    local = (timezone.now() - dt.timedelta(hours=1)).astimezone(org.tzinfo).replace(tzinfo=None, microsecond=0)
    response = api(producer).post(
        ACTIVITIES_URL, {"activity_type": crm.pk, "occurred_at": local.isoformat()}, format="json"
    )
    assert response.status_code == 201, response.content
    assert Activity.objects.get().occurred_at == local.replace(tzinfo=org.tzinfo)


def test_value_and_evidence_types(producer, policy, social):
    client = api(producer)
    sold = client.post(
        ACTIVITIES_URL,
        {"activity_type": policy.pk, "occurred_at": now_iso(minutes=1), "value": "1250.50"},
        format="json",
    )
    assert sold.status_code == 201
    assert Activity.objects.get(pk=sold.json()["id"]).value == Decimal("1250.50")
    post = client.post(
        ACTIVITIES_URL,
        {"activity_type": social.pk, "occurred_at": now_iso(minutes=1), "evidence_url": "https://example.com/p/1"},
        format="json",
    )
    assert post.status_code == 201


def test_manager_logs_for_their_team_member_audited(manager, producer, crm):
    body = {"producer": producer.pk, "activity_type": crm.pk, "occurred_at": now_iso(minutes=1)}
    response = api(manager).post(ACTIVITIES_URL, body, format="json")
    assert response.status_code == 201
    activity = Activity.objects.get()
    assert (activity.producer, activity.logged_by) == (producer, manager)
    assert AuditEvent.objects.get(action="activity.log").actor == manager


def test_leader_logs_for_any_producer(leader, teammate, crm):
    body = {"producer": teammate.pk, "activity_type": crm.pk, "occurred_at": now_iso(minutes=1)}
    assert api(leader).post(ACTIVITIES_URL, body, format="json").status_code == 201
    assert Activity.objects.get().producer == teammate


@pytest.mark.parametrize(
    "who, whom, message",
    [
        ("producer", "teammate", "Unknown id {pk}."),
        ("manager", "teammate", "Unknown id {pk}."),
        ("leader", "outsider", "Unknown id {pk}."),
        ("outsider_leader", "producer", "Unknown id {pk}."),
        ("manager", "manager", "Unknown id {pk}."),
    ],
)
def test_logging_for_someone_out_of_reach_is_refused(request, who, whom, message, crm, outsider_type):
    user, target = request.getfixturevalue(who), request.getfixturevalue(whom)
    activity_type = outsider_type if who.startswith("outsider") else crm
    unchanged = Unchanged(Activity)
    body = {"producer": target.pk, "activity_type": activity_type.pk, "occurred_at": now_iso(minutes=1)}
    response = api(user).post(ACTIVITIES_URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"producer": [message.format(pk=target.pk)]}
    unchanged.check()


def test_a_leader_logging_for_themselves_is_refused(leader, crm):
    unchanged = Unchanged(Activity)
    response = api(leader).post(ACTIVITIES_URL, {"activity_type": crm.pk, "occurred_at": now_iso()}, format="json")
    assert response.status_code == 400
    assert response.json() == {"producer": ["Activities can only be logged for producers."]}
    unchanged.check()


def _bad_activities(crm, social, policy, outsider_type, inactive):
    ok = {"activity_type": crm.pk, "occurred_at": now_iso(minutes=1)}
    closed = now_iso(days=30)
    return [
        ({**ok, "occurred_at": now_iso(minutes=-30)}, "occurred_at", "An activity cannot be in the future."),
        ({**ok, "occurred_at": closed}, "occurred_at", "is closed. Ask your manager to add or change it."),
        ({**ok, "occurred_at": "yesterday"}, "occurred_at", None),
        ({**ok, "occurred_at": "0001-01-01T00:00:00+14:00"}, "occurred_at", None),
        ({**ok, "occurred_at": "9999-12-31T23:59:59-12:00"}, "occurred_at", None),
        ({**ok, "quantity": 0}, "quantity", None),
        ({**ok, "quantity": 1001}, "quantity", None),
        ({**ok, "quantity": 10**30}, "quantity", None),
        ({**ok, "quantity": "two"}, "quantity", None),
        ({**ok, "quantity": 1.5}, "quantity", None),
        ({**ok, "value": "12.00"}, "value", "“CRM entry” does not record a value."),
        ({**ok, "activity_type": policy.pk}, "value", "“New policy sold” needs Premium."),
        ({**ok, "activity_type": policy.pk, "value": "-1"}, "value", None),
        ({**ok, "activity_type": policy.pk, "value": "1e400"}, "value", None),
        ({**ok, "activity_type": policy.pk, "value": "NaN"}, "value", None),
        ({**ok, "activity_type": policy.pk, "value": "12345678901.00"}, "value", None),
        ({**ok, "activity_type": social.pk}, "evidence_url", "“Social post” needs a link as evidence."),
        ({**ok, "evidence_url": "javascript:alert(1)"}, "evidence_url", None),
        ({**ok, "activity_type": outsider_type.pk}, "activity_type", f"Unknown id {outsider_type.pk}."),
        ({**ok, "activity_type": inactive.pk}, "activity_type", "“Retired” is no longer in use."),
        ({**ok, "activity_type": None}, "activity_type", None),
        ({**ok, "note": "x" * 501}, "note", None),
        ({**ok, "note": "a\x00b"}, "note", None),
        ({"occurred_at": now_iso()}, "activity_type", None),
        ({"activity_type": crm.pk}, "occurred_at", None),
    ]


def test_bad_activity_input_is_400_with_the_message_and_nothing_is_written(
    producer, org, crm, social, policy, outsider_type
):
    inactive = ActivityTypeFactory(organization=org, name="Retired", active=False)
    client = api(producer)
    for body, field, message in _bad_activities(crm, social, policy, outsider_type, inactive):
        unchanged = Unchanged(Activity)
        response = client.post(ACTIVITIES_URL, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), (body, response.json())
        if message:
            assert message in response.json()[field][0], (body, response.json())
        unchanged.check()


def test_an_exact_duplicate_is_refused(producer, crm):
    body = {"activity_type": crm.pk, "occurred_at": now_iso(minutes=3), "note": "same"}
    client = api(producer)
    assert client.post(ACTIVITIES_URL, body, format="json").status_code == 201
    unchanged = Unchanged(Activity)
    response = client.post(ACTIVITIES_URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["You already logged exactly this activity (same type, time and note)."]
    }
    unchanged.check()


@pytest.mark.parametrize("body", [[{"activity_type": 1}], "text", 5, None])
def test_activity_body_must_be_an_object(producer, body):
    response = api(producer).post(ACTIVITIES_URL, body, format="json")
    assert response.status_code == 400
    assert not Activity.objects.exists()


def test_activity_invalid_json_is_400(producer):
    response = api(producer).post(ACTIVITIES_URL, '{"activity_type": ', content_type="application/json")
    assert response.status_code == 400
    assert not Activity.objects.exists()


# --- activities: changing and deleting ---------------------------------------------------


def test_producer_edits_their_open_week_activity(producer, crm, social):
    activity = ActivityFactory(producer=producer, activity_type=crm, status=Status.VERIFIED)
    response = api(producer).patch(f"{ACTIVITIES_URL}{activity.pk}/", {"quantity": 4}, format="json")
    assert response.status_code == 200, response.content
    activity.refresh_from_db()
    assert activity.quantity == 4
    assert activity.status == Status.LOGGED  # a changed entry needs a fresh verification
    assert not AuditEvent.objects.exists()  # a producer's own open-week edit is not audited


def test_producer_replaces_an_activity_with_put(producer, crm, policy):
    activity = ActivityFactory(producer=producer, activity_type=crm)
    body = {"activity_type": policy.pk, "occurred_at": now_iso(minutes=2), "value": 99, "note": "sold"}
    assert api(producer).put(f"{ACTIVITIES_URL}{activity.pk}/", body, format="json").status_code == 200
    activity.refresh_from_db()
    assert (activity.activity_type, activity.value, activity.note) == (policy, Decimal("99.00"), "sold")


def test_producer_cannot_edit_a_closed_week(producer, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=timezone.now() - dt.timedelta(days=30))
    unchanged = Unchanged(Activity)
    response = api(producer).patch(f"{ACTIVITIES_URL}{activity.pk}/", {"quantity": 9}, format="json")
    assert response.status_code == 400
    assert "is closed" in response.json()["occurred_at"][0]
    unchanged.check()


def test_manager_edits_a_closed_week_audited_and_queued_for_scoring(manager, producer, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=timezone.now() - dt.timedelta(days=30))
    response = api(manager).patch(f"{ACTIVITIES_URL}{activity.pk}/", {"quantity": 2}, format="json")
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="activity.update")
    assert (event.actor, event.before["quantity"], event.after["quantity"]) == (manager, 1, 2)
    assert WeekRecompute.objects.filter(producer=producer, week_start=activity.week_start).exists()


def test_moving_an_activity_into_the_future_is_refused(producer, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm)
    unchanged = Unchanged(Activity)
    response = api(producer).patch(f"{ACTIVITIES_URL}{activity.pk}/", {"occurred_at": now_iso(days=-1)}, format="json")
    assert response.status_code == 400
    assert response.json() == {"occurred_at": ["An activity cannot be in the future."]}
    unchanged.check()


def test_the_producer_of_an_activity_cannot_be_changed(manager, producer, crm):
    other = member(producer.membership.organization, Role.PRODUCER, team=producer.membership.team)
    activity = ActivityFactory(producer=producer, activity_type=crm)
    api(manager).patch(f"{ACTIVITIES_URL}{activity.pk}/", {"producer": other.pk, "quantity": 2}, format="json")
    activity.refresh_from_db()
    assert activity.producer == producer


@pytest.mark.parametrize(
    "who, whose",
    [("producer", "teammate"), ("manager", "teammate"), ("outsider_leader", "producer"), ("teammate", "producer")],
)
def test_changes_outside_visibility_are_404(request, logged, who, whose):
    client = api(request.getfixturevalue(who))
    activity = logged[whose]
    unchanged = Unchanged(Activity)
    assert client.patch(f"{ACTIVITIES_URL}{activity.pk}/", {"quantity": 5}, format="json").status_code == 404
    assert client.delete(f"{ACTIVITIES_URL}{activity.pk}/").status_code == 404
    assert client.post(f"{ACTIVITIES_URL}{activity.pk}/verify/").status_code == 404
    assert client.post(f"{ACTIVITIES_URL}{activity.pk}/reject/", {"reason": "x"}, format="json").status_code == 404
    unchanged.check()


def test_producer_deletes_an_open_week_activity(producer, logged):
    assert api(producer).delete(f"{ACTIVITIES_URL}{logged['producer'].pk}/").status_code == 204
    assert not Activity.objects.filter(pk=logged["producer"].pk).exists()


def test_producer_cannot_delete_a_closed_week_activity(producer, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=timezone.now() - dt.timedelta(days=30))
    response = api(producer).delete(f"{ACTIVITIES_URL}{activity.pk}/")
    assert response.status_code == 403
    assert "is closed" in response.json()["detail"]
    assert Activity.objects.filter(pk=activity.pk).exists()


def test_manager_deletes_a_team_activity_audited(manager, logged):
    assert api(manager).delete(f"{ACTIVITIES_URL}{logged['producer'].pk}/").status_code == 204
    assert AuditEvent.objects.get(action="activity.delete").actor == manager


# --- activities: verify / reject ------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "leader"])
def test_manager_or_leader_verifies_audited(request, who, logged):
    user = request.getfixturevalue(who)
    activity = logged["producer"]
    Activity.objects.filter(pk=activity.pk).update(needs_review=True)
    response = api(user).post(f"{ACTIVITIES_URL}{activity.pk}/verify/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["reviewed_by"]) == ("verified", user.pk)
    activity.refresh_from_db()
    assert (activity.status, activity.needs_review, activity.reviewed_by) == (Status.VERIFIED, False, user)
    event = AuditEvent.objects.get(action="activity.verify")
    assert (event.actor, event.after) == (user, {"status": "verified"})


def test_producer_cannot_verify_or_reject_their_own(producer, logged):
    activity = logged["producer"]
    unchanged = Unchanged(Activity)
    response = api(producer).post(f"{ACTIVITIES_URL}{activity.pk}/verify/")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only the producer's manager or a leader can verify or reject activities."
    assert (
        api(producer).post(f"{ACTIVITIES_URL}{activity.pk}/reject/", {"reason": "no"}, format="json").status_code == 403
    )
    unchanged.check()


def test_manager_rejects_with_a_reason_audited(manager, logged):
    activity = logged["producer"]
    response = api(manager).post(f"{ACTIVITIES_URL}{activity.pk}/reject/", {"reason": "No CRM record"}, format="json")
    assert response.status_code == 200
    assert response.json()["rejection_reason"] == "No CRM record"
    activity.refresh_from_db()
    assert (activity.status, activity.rejection_reason) == (Status.REJECTED, "No CRM record")
    event = AuditEvent.objects.get(action="activity.reject")
    assert event.after == {"status": "rejected", "reason": "No CRM record"}


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "Say why the activity is rejected; the producer sees the reason."),
        ({"reason": "   "}, "Say why the activity is rejected; the producer sees the reason."),
        ({"reason": "x" * 501}, None),
        ({"reason": ["why"]}, None),
    ],
)
def test_reject_needs_a_reason(manager, logged, body, message):
    activity = logged["producer"]
    unchanged = Unchanged(Activity)
    response = api(manager).post(f"{ACTIVITIES_URL}{activity.pk}/reject/", body, format="json")
    assert response.status_code == 400
    if message:
        assert response.json() == {"reason": [message]}
    unchanged.check()


def test_rejecting_in_a_closed_week_queues_a_recompute(leader, producer, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=timezone.now() - dt.timedelta(days=30))
    assert (
        api(leader).post(f"{ACTIVITIES_URL}{activity.pk}/reject/", {"reason": "dup"}, format="json").status_code == 200
    )
    assert WeekRecompute.objects.filter(producer=producer, week_start=activity.week_start).exists()


def test_activity_wrong_methods(leader, logged):
    client = api(leader)
    activity = logged["producer"]
    assert client.get(f"{ACTIVITIES_URL}{activity.pk}/verify/").status_code == 405
    assert client.put(ACTIVITIES_URL, {}, format="json").status_code == 405
    assert client.delete(ACTIVITIES_URL).status_code == 405
    assert client.patch(f"{ACTIVITIES_URL}{activity.pk}/reject/", {}, format="json").status_code == 405


# --- anonymous ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", TYPES_URL),
        ("post", TYPES_URL),
        ("patch", f"{TYPES_URL}1/"),
        ("get", EXPECTATIONS_URL),
        ("post", EXPECTATIONS_URL),
        ("patch", f"{EXPECTATIONS_URL}1/"),
        ("get", KEYS_URL),
        ("post", f"{KEYS_URL}1/rotate/"),
        ("get", ACTIVITIES_URL),
        ("post", ACTIVITIES_URL),
        ("get", f"{ACTIVITIES_URL}1/"),
        ("delete", f"{ACTIVITIES_URL}1/"),
        ("post", f"{ACTIVITIES_URL}1/verify/"),
        ("post", f"{ACTIVITIES_URL}1/reject/"),
    ],
)
def test_anonymous_is_401(logged, key, method, url):
    unchanged = Unchanged(Activity, IntegrationKey)
    response = getattr(APIClient(), method)(url, {}, format="json")
    assert response.status_code == 401
    unchanged.check()


def test_a_user_without_membership_is_403(db, crm):
    from accountability.tests.factories import UserFactory

    assert api(UserFactory()).get(ACTIVITIES_URL).status_code == 403
