"""Exemptions REST API (SPEC §5 `exemptions` + `approve`, `reject`): visibility for the whole
cast, filters, requests by producers (every refusal a 400 naming the field, nothing written),
decisions by the producer's manager or a leader (403 for producers, 404 outside visibility),
401 / 405, and a query budget for the list."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken
from rest_framework.test import APIClient

from accountability.models import AuditEvent, Notification, Role
from accountability.tests.factories import member
from activities.models import WeekRecompute
from activities.tests.factories import ActivityTypeFactory, ExpectationFactory
from scoring.models import ExemptionRequest
from scoring.services.exemptions import exemption_approve, exemption_reject, exemption_request

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 9, 18, 0, tzinfo=dt.UTC)  # Wed Dec 9, noon in Chicago
THIS, LAST, NEXT = dt.date(2026, 12, 7), dt.date(2026, 11, 30), dt.date(2026, 12, 14)
URL = "/api/v1/exemptions/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        _, token = AuthToken.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def ask(producer, week_from=THIS, week_to=THIS, **kwargs):
    kwargs.setdefault("reason", "sick")
    return exemption_request(producer=producer, week_from=week_from, week_to=week_to, by=producer, **kwargs)


def counts():
    return (
        ExemptionRequest.objects.count(),
        AuditEvent.objects.count(),
        Notification.objects.count(),
        WeekRecompute.objects.count(),
        list(ExemptionRequest.objects.order_by("pk").values_list("status", "decision_note")),
    )


@pytest.fixture
def calls(org):
    return ExpectationFactory(activity_type=ActivityTypeFactory(organization=org, name="Calls"), target=10)


@pytest.fixture
def outsider_calls(other_org):
    return ExpectationFactory(activity_type=ActivityTypeFactory(organization=other_org, name="Calls"), target=5)


@pytest.fixture
def requests_(producer, teammate, outsider, manager):
    """producer: pending + rejected; teammate (other team): pending; outsider: pending."""
    pending = ask(producer)
    rejected = exemption_reject(exemption=ask(producer, LAST, LAST), by=manager, note="No")
    return {"pending": pending, "rejected": rejected, "teammate": ask(teammate), "outsider": ask(outsider)}


# --- reading ----------------------------------------------------------------------------------


def test_anonymous_gets_401(requests_):
    client = api()
    assert client.get(URL).status_code == 401
    assert client.post(f"{URL}{requests_['pending'].pk}/approve/", {}, format="json").status_code == 401
    assert client.post(URL, {}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("producer", {"pending", "rejected"}),
        ("teammate", {"teammate"}),
        ("manager", {"pending", "rejected"}),
        ("leader", {"pending", "rejected", "teammate"}),
        ("outsider_leader", {"outsider"}),
    ],
)
def test_list_is_what_the_caller_may_see(request, requests_, who, expected):
    assert ids(api(request.getfixturevalue(who)).get(URL)) == {requests_[k].pk for k in expected}


def test_list_filters_and_shape(leader, manager, producer, teammate, requests_, calls):
    client = api(leader)
    assert ids(client.get(URL, {"status": "pending"})) == {requests_["pending"].pk, requests_["teammate"].pk}
    assert ids(client.get(URL, {"producer": teammate.pk})) == {requests_["teammate"].pk}
    assert ids(client.get(URL, {"producer": producer.pk, "status": "rejected"})) == {requests_["rejected"].pk}
    assert client.get(URL, {"status": "bogus"}).status_code == 400
    assert client.get(URL, {"producer": "abc"}).status_code == 400
    row = client.get(f"{URL}{requests_['rejected'].pk}/").json()
    assert row == {
        "id": requests_["rejected"].pk,
        "producer": producer.pk,
        "producer_name": "Pat Producer",
        "week_from": "2026-11-30",
        "week_to": "2026-11-30",
        "expectation": None,
        "expectation_name": "All expectations",
        "reason": "sick",
        "note": "",
        "status": "rejected",
        "decided_by": manager.pk,
        "decided_by_name": "Max Manager",
        "decided_at": row["decided_at"],
        "decision_note": "No",
        "created_at": row["created_at"],
    }
    assert row["decided_at"].startswith("2026-12-09")


@pytest.mark.parametrize(
    ("who", "which", "status"),
    [
        ("manager", "teammate", 404),
        ("teammate", "pending", 404),
        ("outsider_leader", "pending", 404),
        ("leader", "outsider", 404),
        ("producer", "pending", 200),
    ],
)
def test_detail_visibility(request, requests_, who, which, status):
    assert api(request.getfixturevalue(who)).get(f"{URL}{requests_[which].pk}/").status_code == status


@pytest.mark.parametrize("bad_id", ["abc", "0", "99999999", str(10**30)])
def test_malformed_ids_are_404(leader, bad_id):
    assert api(leader).get(f"{URL}{bad_id}/").status_code == 404
    assert api(leader).post(f"{URL}{bad_id}/approve/", {}, format="json").status_code == 404


def test_list_query_count_does_not_grow_with_requests(org, team, leader, manager):
    def fill(n):
        for _ in range(n):
            exemption_approve(exemption=ask(member(org, Role.PRODUCER, team=team)), by=manager, note="ok")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    client = api(leader)
    fill(2)
    # token + user, membership, the count, the page (joined to producer, expectation, decider).
    small = queries()
    fill(8)
    assert queries() == small <= 8


# --- requesting ---------------------------------------------------------------------------------


def test_producer_requests_for_themselves(producer, calls):
    body = {"week_from": "2026-11-30", "week_to": "2026-12-14", "expectation": calls.pk, "reason": "pto"}
    response = api(producer).post(URL, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    exemption = ExemptionRequest.objects.get()
    assert data["id"] == exemption.pk and data["status"] == "pending" and data["expectation_name"] == "Calls"
    assert (exemption.producer, exemption.week_from, exemption.week_to, exemption.expectation) == (
        producer,
        LAST,
        NEXT,
        calls,
    )
    assert AuditEvent.objects.filter(action="exemption.request").count() == 1


def test_all_expectations_by_default(producer):
    response = api(producer).post(
        URL, {"week_from": "2026-12-07", "week_to": "2026-12-07", "reason": "sick"}, format="json"
    )
    assert response.status_code == 201 and response.json()["expectation"] is None


@pytest.mark.parametrize("who", ["manager", "leader"])
def test_staff_may_not_request(request, who):
    body = {"week_from": "2026-12-07", "week_to": "2026-12-07", "reason": "sick"}
    response = api(request.getfixturevalue(who)).post(URL, body, format="json")
    assert response.status_code == 403 and not ExemptionRequest.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"week_from": "2026-12-08"}, "week_from", "Tue Dec 8, 2026 is not the first day of a week."),
        ({"week_to": "2026-11-30"}, "week_to", "The last week cannot come before the first week."),
        ({"week_to": "2027-03-01"}, "week_to", "An exemption covers at most 12 weeks; ask again for later weeks."),
        ({"week_from": "12/07/2026"}, "week_from", "Date has wrong format."),
        ({"reason": "hangover"}, "reason", '"hangover" is not a valid choice.'),
        ({"note": "x" * 501}, "note", "Ensure this field has no more than 500 characters."),
        ({"expectation": "outsider_calls"}, "expectation", "Unknown id"),
        ({"week_from": "2026-11-30", "week_to": "2026-11-30"}, "week_from", "You already have a pending exemption"),
    ],
)
def test_bad_requests_are_400_naming_the_field_and_nothing_is_written(
    request, producer, outsider_calls, body, field, message
):
    ask(producer, LAST, LAST)
    if body.get("expectation") == "outsider_calls":
        body = {**body, "expectation": outsider_calls.pk}
    before = counts()
    full = {"week_from": "2026-12-07", "week_to": "2026-12-07", "reason": "sick", **body}
    response = api(producer).post(URL, full, format="json")
    assert response.status_code == 400
    assert response.json()[field][0].startswith(message)
    assert counts() == before


# --- deciding -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "leader"])
def test_staff_approve_audited_notified_and_closed_weeks_queued(request, producer, who):
    exemption = ask(producer, LAST, THIS)
    decider = request.getfixturevalue(who)
    response = api(decider).post(f"{URL}{exemption.pk}/approve/", {"note": "Get well"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved" and response.json()["decided_by"] == decider.pk
    assert AuditEvent.objects.filter(action="exemption.approve", actor=decider).count() == 1
    assert Notification.objects.get().recipient == producer
    assert list(WeekRecompute.objects.values_list("producer", "week_start")) == [(producer.pk, LAST)]


def test_approve_without_a_body(producer, manager):
    exemption = ask(producer)
    assert api(manager).post(f"{URL}{exemption.pk}/approve/").status_code == 200


def test_reject_needs_a_note(producer, manager):
    exemption = ask(producer)
    client = api(manager)
    before = counts()
    response = client.post(f"{URL}{exemption.pk}/reject/", {"note": ""}, format="json")
    assert response.status_code == 400
    assert response.json() == {"note": ["Say why you reject it; the producer reads your note."]}
    assert counts() == before
    response = client.post(f"{URL}{exemption.pk}/reject/", {"note": "Conference week"}, format="json")
    assert response.status_code == 200 and response.json()["decision_note"] == "Conference week"


def test_deciding_twice_is_400(producer, manager, leader):
    exemption = exemption_approve(exemption=ask(producer), by=manager)
    before = counts()
    response = api(leader).post(f"{URL}{exemption.pk}/reject/", {"note": "no"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["This request was already approved."]}
    assert counts() == before


@pytest.mark.parametrize("verb", ["approve", "reject"])
@pytest.mark.parametrize(
    ("owner", "who", "status"),
    [
        ("producer", "producer", 403),  # never the producer
        ("teammate", "manager", 404),  # not their team: not visible
        ("producer", "teammate", 404),
        ("producer", "outsider_leader", 404),
    ],
)
def test_decisions_outside_role_or_visibility(request, verb, owner, who, status):
    exemption = ask(request.getfixturevalue(owner))
    before = counts()
    response = api(request.getfixturevalue(who)).post(f"{URL}{exemption.pk}/{verb}/", {"note": "x"}, format="json")
    assert response.status_code == status
    assert counts() == before


@pytest.mark.parametrize("verb", ["approve", "reject"])
def test_decisions_are_post_only(producer, manager, verb):
    exemption = ask(producer)
    assert api(manager).get(f"{URL}{exemption.pk}/{verb}/").status_code == 405


def test_requests_cannot_be_edited(producer, manager):
    exemption = ask(producer)
    for who in (producer, manager):
        client = api(who)
        assert client.patch(f"{URL}{exemption.pk}/", {"status": "approved"}, format="json").status_code == 405
        assert client.put(f"{URL}{exemption.pk}/", {"status": "approved"}, format="json").status_code == 405
    assert ExemptionRequest.objects.get().status == "pending"


# --- cancelling ---------------------------------------------------------------------------------


def test_producer_cancels_a_pending_request(producer):
    exemption = ask(producer)
    assert api(producer).delete(f"{URL}{exemption.pk}/").status_code == 204
    assert not ExemptionRequest.objects.exists()
    assert AuditEvent.objects.filter(action="exemption.cancel").count() == 1


@pytest.mark.parametrize(("who", "status"), [("manager", 403), ("leader", 403), ("teammate", 404)])
def test_only_the_producer_cancels(request, producer, who, status):
    exemption = ask(producer)
    before = counts()
    assert api(request.getfixturevalue(who)).delete(f"{URL}{exemption.pk}/").status_code == status
    assert counts() == before


def test_a_decided_request_cannot_be_cancelled(producer, manager):
    exemption = exemption_approve(exemption=ask(producer), by=manager)
    before = counts()
    response = api(producer).delete(f"{URL}{exemption.pk}/")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["This request was already approved."]}
    assert counts() == before


# --- schema ---------------------------------------------------------------------------------------


def test_exemption_endpoints_are_described():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    expected = {
        URL: {"get": "200", "post": "201"},
        f"{URL}{{id}}/": {"get": "200", "delete": "204"},
        f"{URL}{{id}}/approve/": {"post": "200"},
        f"{URL}{{id}}/reject/": {"post": "200"},
    }
    for path, methods in expected.items():
        operations = schema["paths"][path]
        assert {m for m in operations if m in ("get", "post", "put", "patch", "delete")} == set(methods), path
        for method, success in methods.items():
            operation = operations[method]
            assert operation["summary"] and success in operation["responses"] and "404" in operation["responses"]
    create = schema["paths"][URL]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert create.endswith("/ExemptionCreateRequest")
    decision = schema["paths"][f"{URL}{{id}}/reject/"]["post"]["requestBody"]["content"]["application/json"]
    assert decision["schema"]["$ref"].endswith("/DecisionRequest")
    parameters = {p["name"] for p in schema["paths"][URL]["get"]["parameters"]}
    assert {"status", "producer", "page", "page_size"} <= parameters
