"""Signed event intake for CRM / marketing / social tools (SPEC §5 webhook).

A request carries `X-Integration-Key: <key id>`, `X-Timestamp: <unix seconds>` and
`X-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the key's secret>`.
Unknown or inactive keys, missing headers, a bad signature or a timestamp more than five
minutes off are refused (WebhookAuthError → 401). Replaying a captured request within the
window is harmless: events are idempotent by external_id (source "webhook", per organization).

The body is one event or a list of up to MAX_EVENTS. Each event is its own unit: it is
created, recognized as a duplicate, or refused with a reason, whatever the others do. Events
land only in the key's organization (a producer e-mail of another organization is simply
unknown there), with `integration_key` set and no `logged_by`.

Closed weeks: an integration is a system of record (the CRM says the call happened), so its
events are accepted in closed weeks too — like a manager's change, each is audited and its
(producer, week) queued for re-computation (WeekRecompute), so scores follow the record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from accountability.errors import AccountabilityError
from accountability.services import audit_log
from accountability.weeks import is_week_closed, week_start_for

from ..errors import ActivityError
from ..models import Activity, IntegrationKey, Source
from .imports import (
    activity_key,
    activity_type_by_name,
    activity_types_by_name,
    existing_activity_keys,
    external_ids_existing,
    members_by_email,
    occurred_at_parse,
    producer_by_email,
)
from .log import ActivityData, activity_clean, recompute_request

MAX_EVENTS = 500
TIMESTAMP_TOLERANCE = dt.timedelta(minutes=5)
SIGNATURE_PREFIX = "sha256="
EXTERNAL_ID_MAX_LENGTH = Activity._meta.get_field("external_id").max_length


class WebhookAuthError(AccountabilityError):
    """The request is not from a known, active integration key (→ 401)."""


class WebhookPayloadError(AccountabilityError):
    """The body is not one event or a list of events (→ 400)."""


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """The X-Signature value for a body: what the sending tool computes too."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def webhook_authenticate(
    *, key_id: str, timestamp: str, signature: str, body: bytes, now: dt.datetime | None = None
) -> IntegrationKey:
    """The active key that signed this request, or WebhookAuthError with the reason."""
    now = now or timezone.now()
    headers = {"X-Integration-Key": key_id, "X-Timestamp": timestamp, "X-Signature": signature}
    missing = [name for name, value in headers.items() if not value]
    if missing:
        raise WebhookAuthError(f"Missing header(s): {', '.join(missing)}.")
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookAuthError("X-Timestamp must be the Unix time in seconds.") from None
    if abs(int(now.timestamp()) - sent) > TIMESTAMP_TOLERANCE.total_seconds():  # ints: no float overflow
        raise WebhookAuthError(
            "X-Timestamp is more than 5 minutes off the server's clock; sign each request as you send it."
        )
    key = None
    if key_id.isprintable():  # a NUL byte would be a database error, not an unknown key
        key = IntegrationKey.objects.select_related("organization").filter(key_id=key_id, active=True).first()
    if key is None:
        raise WebhookAuthError("Unknown or inactive integration key.")
    expected = webhook_signature(secret=key.secret, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise WebhookAuthError("Bad signature: X-Signature must be sha256=<hex HMAC-SHA256 of “<timestamp>.<body>”>.")
    return key


def webhook_payload_parse(body: bytes) -> list:
    """The events of a request body: one JSON object, or a list of up to MAX_EVENTS."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise WebhookPayloadError(f"The body is not valid JSON ({str(error)[:120]}).") from None
    events = payload if isinstance(payload, list) else [payload]
    if not isinstance(payload, (list, dict)):
        raise WebhookPayloadError("Send one event (a JSON object) or a list of events.")
    if not events:
        raise WebhookPayloadError("The list of events is empty.")
    if len(events) > MAX_EVENTS:
        raise WebhookPayloadError(f"At most {MAX_EVENTS} events per request ({len(events)} sent); split the batch.")
    return events


@dataclass
class EventResult:
    index: int
    external_id: str | None
    status: str  # created | duplicate | error
    id: int | None = None
    error: str | None = None
    field: str | None = None

    def as_dict(self) -> dict:
        return {name: value for name, value in vars(self).items() if value is not None or name == "external_id"}


def webhook_events_ingest(*, key: IntegrationKey, events: list, now: dt.datetime | None = None) -> list[EventResult]:
    """Create the events' activities, each on its own; results in the order of `events`."""
    now = now or timezone.now()
    intake = _Intake(key, events, now)
    results = [intake.prepare(index, event) for index, event in enumerate(events)]
    existing = existing_activity_keys([activity_key(r) for r in results if isinstance(r, Activity)])
    with transaction.atomic():
        results = [
            intake.create(index, r, existing) if isinstance(r, Activity) else r for index, r in enumerate(results)
        ]
        IntegrationKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return results


class _Intake:
    """One request's events: members, types and known external ids read once (set-based)."""

    def __init__(self, key: IntegrationKey, events: list, now: dt.datetime):
        self.key, self.organization, self.now = key, key.organization, now
        emails = {e["producer_email"].strip().lower() for e in events if _has_text(e, "producer_email")}
        self.members = members_by_email(self.organization, emails)
        self.types = activity_types_by_name(self.organization)
        ids = {e["external_id"].strip() for e in events if _has_text(e, "external_id")}
        self.known = external_ids_existing(self.organization, Source.WEBHOOK, ids)  # external id → pk
        self.created_keys: dict[tuple, int] = {}

    def prepare(self, index: int, event) -> Activity | EventResult:
        """A validated, unsaved activity, or the event's result (duplicate or error).
        Idempotency comes first: an event already accepted is a duplicate, whatever else."""
        external_id = event["external_id"].strip() if _has_text(event, "external_id") else None
        if external_id in self.known:
            return EventResult(index, external_id, "duplicate", id=self.known[external_id])
        try:
            return self._activity(event)
        except ActivityError as error:
            field = "producer_email" if error.field == "producer" else error.field  # the event's names
            return EventResult(index, external_id, "error", error=error.message, field=field)

    def _activity(self, event) -> Activity:
        if not isinstance(event, dict):
            raise ActivityError("An event must be a JSON object.")
        external_id = _text(event, "external_id", required=True)
        if len(external_id) > EXTERNAL_ID_MAX_LENGTH:
            raise ActivityError(
                f"external_id is too long (at most {EXTERNAL_ID_MAX_LENGTH} characters).", field="external_id"
            )
        membership = producer_by_email(self.members, _text(event, "producer_email", required=True))
        data = ActivityData(
            activity_type=activity_type_by_name(self.types, _text(event, "activity_type", required=True)),
            occurred_at=occurred_at_parse(_text(event, "occurred_at", required=True), self.organization),
            quantity=1 if event.get("quantity") is None else event["quantity"],
            value=event.get("value"),
            note=_text(event, "note"),
            evidence_url=_text(event, "evidence_url"),
        )
        data = activity_clean(membership=membership, data=data, now=self.now)
        return Activity(
            organization=self.organization,
            producer_id=membership.user_id,
            week_start=week_start_for(data.occurred_at, self.organization),
            source=Source.WEBHOOK,
            external_id=external_id,
            integration_key=self.key,
            logged_by=None,
            created_at=self.now,
            **vars(data),
        )

    def create(self, index: int, activity: Activity, existing: dict[tuple, int]) -> EventResult:
        """Save one activity in its own savepoint, so that a failure stays with its event."""
        key = activity_key(activity)
        duplicate_of = existing.get(key) or self.created_keys.get(key) or self.known.get(activity.external_id)
        if duplicate_of:
            return EventResult(index, activity.external_id, "duplicate", id=duplicate_of)
        try:
            with transaction.atomic():
                activity.save(force_insert=True)
                self._closed_week(activity)
        except IntegrityError:  # the same event arrived concurrently in another request
            return EventResult(index, activity.external_id, "duplicate", id=self._stored_id(activity))
        self.known[activity.external_id] = self.created_keys[key] = activity.pk
        return EventResult(index, activity.external_id, "created", id=activity.pk)

    def _closed_week(self, activity: Activity) -> None:
        if is_week_closed(activity.week_start, self.organization, self.now):
            recompute_request(activity=activity, week_start=activity.week_start, reason="activity.webhook")
            audit_log(
                organization=self.organization,
                actor=None,
                action="activity.webhook_closed_week",
                obj=activity,
                after={"integration_key": self.key.key_id, "week_start": activity.week_start.isoformat()},
            )

    def _stored_id(self, activity: Activity) -> int | None:
        stored = (
            Activity.objects.filter(
                organization=self.organization, source=Source.WEBHOOK, external_id=activity.external_id
            ).first()
            or Activity.objects.filter(
                producer_id=activity.producer_id,
                activity_type=activity.activity_type,
                occurred_at=activity.occurred_at,
                note=activity.note,
            ).first()
        )
        return stored.pk if stored else None


def _storable(value) -> bool:
    """A string the database can store and the answer can repeat: JSON allows "\\u0000"
    and lone surrogates, which PostgreSQL and UTF-8 refuse."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _has_text(event, name: str) -> bool:
    return isinstance(event, dict) and _storable(event.get(name))


def _text(event: dict, name: str, *, required: bool = False) -> str:
    value = event.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ActivityError(f"“{name}” is required.", field=name)
        return ""
    if not isinstance(value, str):
        raise ActivityError(f"“{name}” must be a string.", field=name)
    if not _storable(value):
        raise ActivityError(f"“{name}” contains characters that are not text.", field=name)
    return value.strip()
