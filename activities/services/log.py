"""Logging, editing and deleting activities; anti-gaming markers; verification (SPEC §2).

Rules enforced here:
- not in the future (5 minutes of clock skew allowed); quantity 1–1000; a value only for
  types that track one (and then required); evidence where the type requires it;
- not in a closed week unless a manager or leader does it — audited, and the week is queued
  for re-computation (`WeekRecompute`, consumed by scoring);
- a producer edits or deletes their own activities only while the week is open;
- exact duplicates (producer, type, occurred_at, note) are refused;
- anti-gaming: entries typed in (web/api) more than 2 days after they happened, or in a
  burst of more than 10 back-dated entries within an hour, are marked `needs_review`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from accountability.access import can_act_on_producer
from accountability.models import Membership, Role, User
from accountability.services import audit_log
from accountability.weeks import is_week_closed, local_date, local_midnight, week_start_for

from ..errors import ActivityError
from ..models import (
    MAX_QUANTITY,
    NOTE_MAX_LENGTH,
    Activity,
    ActivityType,
    ReviewReason,
    Source,
    Status,
    WeekRecompute,
)

CLOCK_SKEW = dt.timedelta(minutes=5)
LATE_AFTER = dt.timedelta(days=2)
BURST_WINDOW = dt.timedelta(hours=1)
BURST_LIMIT = 10
MAX_VALUE = Decimal("9999999999.99")  # Activity.value: 12 digits, 2 of them decimals
# Entries a person types in can be gamed; CRM pushes, imports and attendance are records.
REVIEWED_SOURCES = (Source.WEB, Source.API)
_url = URLValidator(schemes=["http", "https"])


@dataclass
class ActivityData:
    """What describes an activity, validated and normalized by `activity_clean`."""

    activity_type: ActivityType
    occurred_at: dt.datetime
    quantity: int = 1
    value: Decimal | None = None
    note: str = ""
    evidence_url: str = ""


def producer_membership(producer: User) -> Membership:
    membership = getattr(producer, "membership", None)
    if membership is None or membership.role != Role.PRODUCER:
        raise ActivityError("Activities can only be logged for producers.", field="producer")
    return membership


def activity_clean(*, membership: Membership, data: ActivityData, now: dt.datetime) -> ActivityData:
    """Validate and normalize; raise ActivityError with a field and a readable message."""
    activity_type = data.activity_type
    if activity_type.organization_id != membership.organization_id:
        raise ActivityError("Unknown activity type.", field="activity_type")
    if not activity_type.active:
        raise ActivityError(f"“{activity_type}” is no longer in use.", field="activity_type")
    occurred_at = data.occurred_at
    if occurred_at is None or timezone.is_naive(occurred_at):
        raise ActivityError("Give the date and time with a time zone.", field="occurred_at")
    if occurred_at > now + CLOCK_SKEW:
        raise ActivityError("An activity cannot be in the future.", field="occurred_at")
    day = local_date(occurred_at, membership.organization)
    if not membership.is_active_on(day) or not membership.user.is_active:
        raise ActivityError(f"{membership.user} was not an active producer on {day:%b %-d, %Y}.", field="occurred_at")
    return ActivityData(
        activity_type=activity_type,
        occurred_at=occurred_at,
        quantity=_clean_quantity(data.quantity),
        value=_clean_value(activity_type, data.value),
        note=_clean_note(data.note),
        evidence_url=_clean_evidence(activity_type, data.evidence_url),
    )


def _clean_quantity(quantity) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        try:
            quantity = int(str(quantity).strip())
        except (TypeError, ValueError):
            raise ActivityError("Quantity must be a whole number.", field="quantity") from None
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ActivityError(f"Quantity must be between 1 and {MAX_QUANTITY}.", field="quantity")
    return quantity


def _clean_value(activity_type: ActivityType, value) -> Decimal | None:
    if value in (None, ""):
        if activity_type.tracks_value:
            label = activity_type.value_label or "a value"
            raise ActivityError(f"“{activity_type}” needs {label}.", field="value")
        return None
    if not activity_type.tracks_value:
        raise ActivityError(f"“{activity_type}” does not record a value.", field="value")
    try:
        value = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ActivityError("The value must be a number, e.g. 1250.00.", field="value") from None
    # Compared with the largest value the column holds *before* rounding to cents, so that
    # 9999999999.999 cannot round up past it (a database error instead of a message).
    if not value.is_finite() or value < 0 or value > MAX_VALUE:
        raise ActivityError("The value must be a number from 0 up to 9,999,999,999.99.", field="value")
    return value.quantize(Decimal("0.01"))


def _clean_note(note) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ActivityError(f"The note is too long (at most {NOTE_MAX_LENGTH} characters).", field="note")
    return note


def _clean_evidence(activity_type: ActivityType, url) -> str:
    url = (url or "").strip()
    if not url:
        if activity_type.requires_evidence:
            raise ActivityError(f"“{activity_type}” needs a link as evidence.", field="evidence_url")
        return ""
    try:
        _url(url)
    except ValidationError:
        raise ActivityError(
            "The evidence must be a web link starting with http:// or https://.", field="evidence_url"
        ) from None
    if len(url) > 500:
        raise ActivityError("The evidence link is too long (at most 500 characters).", field="evidence_url")
    return url


def _is_staff_for(by: User, producer: User) -> bool:
    return by.pk != producer.pk and can_act_on_producer(by, producer)


def _check_actor(by: User, producer: User) -> bool:
    """True when a manager/leader acts for the producer; refuses anyone else."""
    if by.pk == producer.pk:
        return False
    if not can_act_on_producer(by, producer):
        raise ActivityError("You can only log activities for yourself or your team.", field="producer")
    return True


def _check_week_open(organization, week_start: dt.date, now: dt.datetime, *, staff: bool) -> bool:
    """Whether the week is closed; refuses a producer's change to a closed week."""
    closed = is_week_closed(week_start, organization, now)
    if closed and not staff:
        raise ActivityError(
            f"The week of {week_start:%b %-d} is closed. Ask your manager to add or change it.", field="occurred_at"
        )
    return closed


def _duplicate_exists(producer: User, data: ActivityData, exclude_pk=None) -> bool:
    duplicates = Activity.objects.filter(
        producer=producer, activity_type=data.activity_type, occurred_at=data.occurred_at, note=data.note
    )
    return duplicates.exclude(pk=exclude_pk).exists()


DUPLICATE_MESSAGE = "You already logged exactly this activity (same type, time and note)."


def activity_log(
    *,
    producer: User,
    data: ActivityData,
    by: User,
    source: str = Source.WEB,
    external_id: str = "",
    now: dt.datetime | None = None,
) -> Activity:
    """Log one activity for a producer (by themselves, or by their manager or a leader)."""
    now = now or timezone.now()
    membership = producer_membership(producer)
    organization = membership.organization
    staff = _check_actor(by, producer)
    data = activity_clean(membership=membership, data=data, now=now)
    week = week_start_for(data.occurred_at, organization)
    closed = _check_week_open(organization, week, now, staff=staff)
    if _duplicate_exists(producer, data):
        raise ActivityError(DUPLICATE_MESSAGE)
    try:
        with transaction.atomic():
            activity = Activity.objects.create(
                organization=organization,
                producer=producer,
                week_start=week,
                source=source,
                external_id=external_id,
                logged_by=by,
                created_at=now,
                **vars(data),
            )
            if not staff:  # anti-gaming is about producers' own entries, not their manager's
                _mark_for_review(activity, now)
            if staff:
                _audit_staff_change(activity, by, "activity.log", now=now, closed=closed, after=_summary(activity))
    except IntegrityError:  # lost a race with the same submission
        raise ActivityError(DUPLICATE_MESSAGE) from None
    return activity


def _mark_for_review(activity: Activity, now: dt.datetime) -> None:
    """Late entries and bursts of back-dated entries go to the manager's queue."""
    if activity.source not in REVIEWED_SOURCES:
        return
    if activity.occurred_at < now - LATE_AFTER:
        Activity.objects.filter(pk=activity.pk).update(needs_review=True, review_reason=ReviewReason.LATE)
        activity.needs_review, activity.review_reason = True, ReviewReason.LATE
    today_starts = local_midnight(local_date(now, activity.organization), activity.organization.tzinfo)
    if activity.occurred_at >= today_starts:
        return
    burst = Activity.objects.filter(
        producer_id=activity.producer_id,
        source__in=REVIEWED_SOURCES,
        created_at__gt=now - BURST_WINDOW,
        occurred_at__lt=today_starts,
    )
    if burst.count() > BURST_LIMIT:
        burst.filter(needs_review=False).update(needs_review=True, review_reason=ReviewReason.BURST)
        if not activity.needs_review:
            activity.needs_review, activity.review_reason = True, ReviewReason.BURST


def activity_update(*, activity: Activity, data: ActivityData, by: User, now: dt.datetime | None = None) -> Activity:
    """Change an activity. The producer may while its week (old and new) is open; their
    manager or a leader any time (audited; closed weeks are re-computed)."""
    now = now or timezone.now()
    membership = producer_membership(activity.producer)
    organization = membership.organization
    staff = _check_actor(by, activity.producer)
    data = activity_clean(membership=membership, data=data, now=now)
    old_week, new_week = activity.week_start, week_start_for(data.occurred_at, organization)
    closed = _check_week_open(organization, old_week, now, staff=staff)
    closed = _check_week_open(organization, new_week, now, staff=staff) or closed
    if _duplicate_exists(activity.producer, data, exclude_pk=activity.pk):
        raise ActivityError(DUPLICATE_MESSAGE)
    before = _summary(activity)
    moved_back = data.occurred_at < activity.occurred_at
    for key, value in vars(data).items():
        setattr(activity, key, value)
    activity.week_start = new_week
    if not staff and activity.status == Status.VERIFIED:
        activity.status = Status.LOGGED  # a changed entry needs a fresh verification
    try:
        with transaction.atomic():
            activity.save()
            if moved_back and not staff:  # back-dating by editing counts like logging late
                _mark_for_review(activity, now)
            if staff:
                _audit_staff_change(
                    activity,
                    by,
                    "activity.update",
                    now=now,
                    closed=closed,
                    before=before,
                    after=_summary(activity),
                    weeks=(old_week, new_week),
                )
    except IntegrityError:
        raise ActivityError(DUPLICATE_MESSAGE) from None
    return activity


def activity_delete(*, activity: Activity, by: User, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    staff = _check_actor(by, activity.producer)
    closed = _check_week_open(activity.organization, activity.week_start, now, staff=staff)
    with transaction.atomic():
        if staff:
            _audit_staff_change(activity, by, "activity.delete", now=now, closed=closed, before=_summary(activity))
        activity.delete()


def activity_verify(*, activity: Activity, by: User, now: dt.datetime | None = None) -> Activity:
    return _decide(activity, by, Status.VERIFIED, reason="", now=now)


def activity_reject(*, activity: Activity, by: User, reason: str, now: dt.datetime | None = None) -> Activity:
    reason = (reason or "").strip()
    if not reason:
        raise ActivityError("Say why the activity is rejected; the producer sees the reason.", field="reason")
    if len(reason) > 500:
        raise ActivityError("The reason is too long (at most 500 characters).", field="reason")
    return _decide(activity, by, Status.REJECTED, reason=reason, now=now)


def _decide(activity: Activity, by: User, status: str, *, reason: str, now) -> Activity:
    """Verify or reject: only the producer's manager or a leader, never the producer."""
    now = now or timezone.now()
    if not _is_staff_for(by, activity.producer):
        raise ActivityError("Only the producer's manager or a leader can verify or reject activities.")
    before = {"status": activity.status, "needs_review": activity.needs_review}
    closed = is_week_closed(activity.week_start, activity.organization, now)
    with transaction.atomic():
        activity.status, activity.needs_review = status, False
        activity.reviewed_by, activity.reviewed_at, activity.rejection_reason = by, now, reason
        activity.save(
            update_fields=["status", "needs_review", "reviewed_by", "reviewed_at", "rejection_reason", "updated_at"]
        )
        action = "activity.verify" if status == Status.VERIFIED else "activity.reject"
        after = {"status": status, "reason": reason} if reason else {"status": status}
        audit_log(organization=activity.organization, actor=by, action=action, obj=activity, before=before, after=after)
        if closed and before["status"] != status and Status.REJECTED in (before["status"], status):
            recompute_request(activity=activity, week_start=activity.week_start, reason=action)
    return activity


def _audit_staff_change(activity, by, action, *, now, closed, before=None, after=None, weeks=None) -> None:
    """A manager/leader changing a producer's activities is audited; a closed week is also
    queued for re-computation (scoring reads WeekRecompute)."""
    audit_log(organization=activity.organization, actor=by, action=action, obj=activity, before=before, after=after)
    if closed:
        for week in set(weeks or (activity.week_start,)):
            if is_week_closed(week, activity.organization, now):
                recompute_request(activity=activity, week_start=week, reason=action)


def recompute_request(*, activity: Activity, week_start: dt.date, reason: str) -> None:
    """Record that (producer, week) must be re-computed; one pending row per pair."""
    WeekRecompute.objects.update_or_create(
        producer_id=activity.producer_id,
        week_start=week_start,
        defaults={"organization_id": activity.organization_id, "reason": reason[:120]},
    )


def recompute_request_many(*, organization, pairs, reason: str) -> None:
    """`recompute_request` for many (producer id, week start) pairs at once (CSV import)."""
    rows = [
        WeekRecompute(organization=organization, producer_id=producer_id, week_start=week, reason=reason[:120])
        for producer_id, week in sorted(pairs)
    ]
    WeekRecompute.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["producer", "week_start"],
        update_fields=["organization", "reason"],
    )


def _summary(activity: Activity) -> dict:
    return {
        "producer": activity.producer_id,
        "activity_type": activity.activity_type_id,
        "occurred_at": activity.occurred_at.isoformat(),
        "quantity": activity.quantity,
        "value": str(activity.value) if activity.value is not None else None,
        "note": activity.note,
        "evidence_url": activity.evidence_url,
        "status": activity.status,
    }
