"""Webhook intake `POST /api/v1/integrations/events/` (SPEC §5): HMAC signature, 5-minute
window, replay, idempotency by external_id, per-event results, isolation.

Time is frozen at NOW = Thursday 2026-03-19 03:00 UTC (Wednesday 22:00 in Chicago); the
week of Mon 2026-03-09 is closed.
"""

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accountability.models import AuditEvent
from activities.models import Activity, Category, IntegrationKey, Source, WeekRecompute
from activities.services.integrations import integration_key_create, integration_key_rotate, integration_key_set_active
from activities.services.webhook import MAX_EVENTS, webhook_signature

from .factories import ActivityTypeFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 19, 3, 0, tzinfo=dt.UTC)
URL = "/api/v1/integrations/events/"
RECENT = "2026-03-18T09:30:00-05:00"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def crm(org):
    return ActivityTypeFactory(organization=org, name="CRM entry", category=Category.CRM)


@pytest.fixture
def signed(org, leader):
    """The organization's key and its secret."""
    return integration_key_create(organization=org, by=leader, name="HubSpot", source_label="HubSpot")


def event(producer, **overrides) -> dict:
    data = {
        "external_id": "call-1",
        "producer_email": producer.email,
        "activity_type": "CRM entry",
        "occurred_at": RECENT,
    }
    data.update(overrides)
    return data


def send(client, payload, signed, *, timestamp=None, secret=None, headers=None, raw: bytes | None = None):
    key, key_secret = signed
    body = raw if raw is not None else json.dumps(payload).encode()
    timestamp = str(int(NOW.timestamp())) if timestamp is None else timestamp
    sent = {
        "X-Integration-Key": key.key_id,
        "X-Timestamp": timestamp,
        "X-Signature": webhook_signature(secret=secret or key_secret, timestamp=timestamp, body=body),
    }
    sent.update(headers or {})
    sent = {name: value for name, value in sent.items() if value is not None}
    return client.post(URL, data=body, content_type="application/json", headers=sent)


def test_url_is_the_documented_one():
    assert reverse("api-integration-events") == URL


def test_one_signed_event_is_created(client, org, producer, crm, signed):
    response = send(client, event(producer, quantity=2, note="Renewal", evidence_url="https://crm.example/c/1"), signed)

    assert response.status_code == 200
    activity = Activity.objects.get()
    assert response.json() == {
        "created": 1,
        "duplicates": 0,
        "errors": 0,
        "results": [{"index": 0, "external_id": "call-1", "status": "created", "id": activity.pk}],
    }
    assert (activity.source, activity.external_id, activity.quantity, activity.note) == (
        Source.WEBHOOK,
        "call-1",
        2,
        "Renewal",
    )
    assert activity.organization == org and activity.integration_key == signed[0] and activity.logged_by is None
    assert activity.producer == producer and activity.activity_type == crm and not activity.needs_review
    assert IntegrationKey.objects.get().last_used_at == NOW


def test_replaying_a_request_gives_duplicates(client, producer, crm, signed):
    first = send(client, [event(producer)], signed)
    again = send(client, [event(producer)], signed)  # the very same signed request, within the window

    created_id = first.json()["results"][0]["id"]
    assert again.status_code == 200
    assert again.json()["results"] == [{"index": 0, "external_id": "call-1", "status": "duplicate", "id": created_id}]
    assert Activity.objects.count() == 1


def test_idempotent_by_external_id_even_with_other_data(client, producer, crm, signed):
    send(client, event(producer), signed)
    later = send(client, event(producer, quantity=5, occurred_at="2026-03-18T11:00:00-05:00"), signed)
    assert later.json()["results"][0]["status"] == "duplicate"
    assert Activity.objects.get().quantity == 1


def test_an_event_repeated_within_one_batch_is_created_once(client, producer, crm, signed):
    response = send(client, [event(producer), event(producer, note="again")], signed)
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["created", "duplicate"] and Activity.objects.count() == 1


def test_an_exact_duplicate_of_a_stored_activity_is_a_duplicate(client, producer, crm, signed):
    send(client, event(producer, note="x"), signed)
    response = send(client, event(producer, note="x", external_id="other-id"), signed)
    result = response.json()["results"][0]
    assert result["status"] == "duplicate" and result["id"] == Activity.objects.get().pk


def test_a_batch_with_bad_events_creates_the_good_ones(client, org, producer, teammate, outsider, crm, signed):
    events = [
        event(producer, external_id="ok-1"),
        event(producer, external_id="bad-producer", producer_email="nobody@test.example"),
        event(outsider, external_id="other-org"),
        event(producer, external_id="bad-type", activity_type="Fax"),
        event(producer, external_id="future", occurred_at="2026-03-20T12:00:00-05:00"),
        event(producer, external_id="zero", quantity=0),
        event(producer, external_id="text-qty", quantity="lots"),
        event(producer, external_id="value", value=10),
        "not an object",
        event(producer, external_id=None),
        event(producer, external_id="bad-date", occurred_at="tomorrow"),
        event(producer, external_id="note-type", note=5),
        event(teammate, external_id="ok-2"),
    ]

    response = send(client, events, signed)

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["duplicates"], body["errors"]) == (2, 0, 11)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(events)))
    assert [r["status"] for r in results] == ["created"] + ["error"] * 11 + ["created"]
    reasons = {r["external_id"]: (r.get("field"), r["error"]) for r in results if r["status"] == "error"}
    assert reasons["bad-producer"] == (
        "producer_email",
        "No one in your organization has the e-mail nobody@test.example.",
    )
    assert reasons["other-org"] == (
        "producer_email",
        "No one in your organization has the e-mail outsider@test.example.",
    )
    assert reasons["bad-type"] == ("activity_type", "No activity type named “Fax” in your organization.")
    assert reasons["future"] == ("occurred_at", "An activity cannot be in the future.")
    assert reasons["zero"] == ("quantity", "Quantity must be between 1 and 1000.")
    assert reasons["text-qty"] == ("quantity", "Quantity must be a whole number.")
    assert reasons["value"] == ("value", "“CRM entry” does not record a value.")
    assert reasons["bad-date"][0] == "occurred_at" and "is not a date" in reasons["bad-date"][1]
    assert reasons["note-type"] == ("note", "“note” must be a string.")
    assert results[8] == {
        "index": 8,
        "external_id": None,
        "status": "error",
        "error": "An event must be a JSON object.",
    }
    assert results[9]["error"] == "“external_id” is required."
    assert set(Activity.objects.values_list("external_id", flat=True)) == {"ok-1", "ok-2"}
    assert not Activity.objects.filter(organization=outsider.membership.organization).exists()


def test_text_the_database_cannot_store_is_an_event_error(client, producer, crm, signed):
    events = [
        event(producer, external_id="nul-note", note="a\x00b"),
        event(producer, external_id="surrogate", producer_email="\ud800@test.example"),
        event(producer, external_id="nul\x00id"),
        event(producer, external_id="fine"),
    ]
    response = send(client, events, signed)
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["error", "error", "error", "created"]
    assert results[0]["error"] == "“note” contains characters that are not text."
    assert results[2]["external_id"] is None
    assert list(Activity.objects.values_list("external_id", flat=True)) == ["fine"]


def test_another_organizations_key_cannot_create_here(client, other_org, outsider_leader, producer, crm):
    theirs = integration_key_create(organization=other_org, by=outsider_leader, name="X", source_label="X")
    ActivityTypeFactory(organization=other_org, name="CRM entry")
    response = send(client, event(producer), theirs)
    assert response.json()["results"][0]["error"].startswith("No one in your organization has the e-mail")
    assert not Activity.objects.exists()


def test_naive_times_are_read_in_the_organization_time_zone(client, producer, crm, signed):
    send(client, event(producer, occurred_at="2026-03-18 09:30"), signed)
    assert Activity.objects.get().occurred_at == dt.datetime(2026, 3, 18, 14, 30, tzinfo=dt.UTC)


def test_closed_weeks_are_accepted_audited_and_recomputed(client, org, producer, crm, signed):
    response = send(client, event(producer, occurred_at="2026-03-10T10:00:00-05:00"), signed)
    assert response.json()["results"][0]["status"] == "created"
    activity = Activity.objects.get()
    assert WeekRecompute.objects.filter(producer=producer, week_start=dt.date(2026, 3, 9)).exists()
    audit = AuditEvent.objects.get(action="activity.webhook_closed_week")
    assert audit.object_id == str(activity.pk) and audit.actor is None


def test_up_to_500_events(client, producer, crm, signed, django_assert_max_num_queries):
    base = dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC)
    events = [
        event(producer, external_id=f"e-{n}", occurred_at=(base + dt.timedelta(minutes=n)).isoformat())
        for n in range(MAX_EVENTS)
    ]
    # key (1), members (1), types (1), known ids (1), stored duplicates (1), the outer
    # transaction, then per event a savepoint, the insert and the release (3 × 500), and
    # last_used_at (1): the reads do not grow with the events.
    with django_assert_max_num_queries(8 + 3 * MAX_EVENTS):
        response = send(client, events, signed)
    assert response.status_code == 200 and response.json()["created"] == MAX_EVENTS


def test_more_than_500_events_is_400(client, producer, crm, signed):
    events = [event(producer, external_id=f"e-{n}") for n in range(MAX_EVENTS + 1)]
    response = send(client, events, signed)
    assert response.status_code == 400
    assert response.json() == {"detail": "At most 500 events per request (501 sent); split the batch."}
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "The body is not valid JSON"),
        (b"", "The body is not valid JSON"),
        (b"\xff\xfe", "The body is not valid JSON"),
        (b"[]", "The list of events is empty."),
        (b"42", "Send one event (a JSON object) or a list of events."),
        (b"[" * 100_000 + b"]" * 100_000, "The body is not valid JSON"),
    ],
)
def test_bad_bodies_are_400(client, signed, raw, message):
    response = send(client, None, signed, raw=raw)
    assert response.status_code == 400 and response.json()["detail"].startswith(message)
    assert IntegrationKey.objects.get().last_used_at is None


# --- authentication: 401 with a reason, nothing written -------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"headers": {"X-Signature": "sha256=" + "0" * 64}}, "Bad signature"),
        ({"headers": {"X-Signature": "nonsense"}}, "Bad signature"),
        ({"secret": "not-the-secret"}, "Bad signature"),
        ({"headers": {"X-Signature": None}}, "Missing header(s): X-Signature."),
        (
            {"headers": {"X-Timestamp": None, "X-Integration-Key": None}},
            "Missing header(s): X-Integration-Key, X-Timestamp.",
        ),
        ({"headers": {"X-Integration-Key": "ik_unknown"}}, "Unknown or inactive integration key."),
        ({"headers": {"X-Integration-Key": "ik_\x00"}}, "Unknown or inactive integration key."),
        ({"timestamp": "yesterday"}, "X-Timestamp must be the Unix time in seconds."),
        ({"timestamp": "9" * 400}, "X-Timestamp is more than 5 minutes off"),
        ({"timestamp": "9" * 5000}, "X-Timestamp must be the Unix time in seconds."),
        ({"timestamp": str(int(NOW.timestamp()) - 301)}, "X-Timestamp is more than 5 minutes off"),
        ({"timestamp": str(int(NOW.timestamp()) + 301)}, "X-Timestamp is more than 5 minutes off"),
    ],
)
def test_unauthenticated_requests_are_401_with_a_reason(client, producer, crm, signed, kwargs, reason):
    response = send(client, event(producer), signed, **kwargs)
    assert response.status_code == 401 and response.json()["detail"].startswith(reason)
    assert not Activity.objects.exists() and IntegrationKey.objects.get().last_used_at is None


def test_a_timestamp_within_five_minutes_is_fine(client, producer, crm, signed):
    response = send(client, event(producer), signed, timestamp=str(int(NOW.timestamp()) - 290))
    assert response.status_code == 200 and Activity.objects.count() == 1


def test_the_signature_covers_the_body(client, producer, crm, signed):
    key, secret = signed
    body = json.dumps(event(producer)).encode()
    timestamp = str(int(NOW.timestamp()))
    headers = {
        "X-Integration-Key": key.key_id,
        "X-Timestamp": timestamp,
        "X-Signature": webhook_signature(secret=secret, timestamp=timestamp, body=body),
    }
    tampered = body.replace(b"call-1", b"call-2")
    response = client.post(URL, data=tampered, content_type="application/json", headers=headers)
    assert response.status_code == 401 and not Activity.objects.exists()


def test_an_inactive_or_rotated_key_is_refused(client, leader, producer, crm, signed):
    key, old_secret = signed
    integration_key_rotate(key=key, by=leader)
    assert send(client, event(producer), signed, secret=old_secret).status_code == 401

    key.refresh_from_db()
    integration_key_set_active(key=key, by=leader, active=False)
    response = send(client, event(producer), (key, key.secret))
    assert response.status_code == 401 and response.json()["detail"] == "Unknown or inactive integration key."
    assert not Activity.objects.exists()


def test_no_csrf_token_or_login_is_needed(producer, crm, signed, leader):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(leader)  # a session does not matter either way
    response = send(browser, event(producer), signed)
    assert response.status_code == 200 and Activity.objects.get().logged_by is None


def test_get_is_405(client):
    assert client.get(URL).status_code == 405


# --- never a 500: any JSON the sender may push -------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
events = st.fixed_dictionaries(
    {},
    optional={
        name: json_values | st.sampled_from(["CRM entry", "producer@test.example", RECENT, "2026-03-18", "1"])
        for name in ("external_id", "producer_email", "activity_type", "occurred_at", "quantity", "value", "note",
                     "evidence_url")
    },
)  # fmt: skip


@given(payload=st.lists(events | json_values, max_size=4) | events)
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_signed_json_gets_a_per_event_answer(client, producer, crm, signed, payload):
    response = send(client, payload, signed)
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        results = response.json()["results"]
        assert len(results) == (len(payload) if isinstance(payload, list) else 1)
        assert {r["status"] for r in results} <= {"created", "duplicate", "error"}
