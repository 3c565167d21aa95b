"""Exemption requests: a producer asks, their manager or a leader decides (SPEC §2, §3).

Rules enforced here:
- producers request for themselves only; weeks are week-start dates of the organization,
  `week_to` ≥ `week_from`, at most MAX_WEEKS weeks, from LOOKBACK_WEEKS before the current
  week up to LOOKAHEAD_WEEKS after it. Closed weeks may be requested (the producer was
  sick last week and could not ask): a manager may still approve, and the close job then
  re-computes those weeks;
- the expectation (or none = every expectation) must be one that can apply to the
  producer: of their organization, organization-wide or for their team;
- a request may not overlap a pending or approved one of the same producer whose scope
  meets it (the same expectation, or either one covering all of them);
- only a manager of the producer's team or a leader decides — never the producer — and
  only pending requests; a rejection needs a note, which the producer reads;
- an approval that covers closed weeks queues those (producer, week) pairs for
  re-computation (`activities.WeekRecompute`, consumed by the close job);
- the producer may cancel (delete) a request while it is pending.
Every transition is audited; every decision notifies the producer.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accountability.access import can_act_on_producer
from accountability.models import Membership, Role, User
from accountability.services import audit_log, notification_send, snapshot
from accountability.weeks import ONE_WEEK, current_week_start, is_week_closed, weeks_between
from activities.models import Expectation, WeekRecompute

from ..errors import ExemptionError
from ..models import ExemptionRequest

MAX_WEEKS = 12
LOOKBACK_WEEKS = 8
LOOKAHEAD_WEEKS = 26
NOTE_MAX_LENGTH = 500
AUDITED = ("status", "week_from", "week_to", "expectation", "reason", "note", "decided_by", "decision_note")
Status = ExemptionRequest.Status


def _producer_membership(producer: User) -> Membership:
    membership = Membership.objects.select_related("organization").filter(user=producer).first()
    if membership is None or membership.role != Role.PRODUCER:
        raise ExemptionError("Only producers can request exemptions.", field="producer")
    return membership


def _check_weeks(*, organization, week_from: dt.date, week_to: dt.date, now: dt.datetime) -> None:
    for field, week in (("week_from", week_from), ("week_to", week_to)):
        if week.weekday() != organization.week_start:
            raise ExemptionError(f"{week:%a %b %-d, %Y} is not the first day of a week.", field=field)
    if week_to < week_from:
        raise ExemptionError("The last week cannot come before the first week.", field="week_to")
    if (week_to - week_from).days // 7 + 1 > MAX_WEEKS:
        raise ExemptionError(
            f"An exemption covers at most {MAX_WEEKS} weeks; ask again for later weeks.", field="week_to"
        )
    current = current_week_start(organization, now)
    if week_from < current - LOOKBACK_WEEKS * ONE_WEEK:
        raise ExemptionError(f"Exemptions can go back at most {LOOKBACK_WEEKS} weeks.", field="week_from")
    if week_to > current + LOOKAHEAD_WEEKS * ONE_WEEK:
        raise ExemptionError(f"Exemptions can reach at most {LOOKAHEAD_WEEKS} weeks ahead.", field="week_to")


def _check_expectation(expectation: Expectation | None, membership: Membership) -> None:
    if expectation is None:
        return
    applies = expectation.organization_id == membership.organization_id and expectation.team_id in (
        None,
        membership.team_id,
    )
    if not applies:
        raise ExemptionError("That expectation does not apply to you.", field="expectation")


def _check_overlap(*, producer: User, week_from: dt.date, week_to: dt.date, expectation) -> None:
    scope = Q() if expectation is None else Q(expectation__isnull=True) | Q(expectation=expectation)
    clash = (
        ExemptionRequest.objects.filter(producer=producer, status__in=[Status.PENDING, Status.APPROVED])
        .filter(week_from__lte=week_to, week_to__gte=week_from)
        .filter(scope)
        .order_by("week_from")
        .first()
    )
    if clash is not None:
        raise ExemptionError(
            f"You already have a {clash.get_status_display().lower()} exemption for week of "
            f"{clash.week_from:%b %-d}–week of {clash.week_to:%b %-d} that overlaps these weeks.",
            field="week_from",
        )


def exemption_request(
    *,
    producer: User,
    week_from: dt.date,
    week_to: dt.date,
    expectation: Expectation | None = None,
    reason: str,
    note: str = "",
    by: User,
) -> ExemptionRequest:
    """A producer asks to be excused from one expectation (or all) for some weeks."""
    if by.pk != producer.pk:
        raise ExemptionError("Producers request exemptions for themselves.", field="producer")
    if reason not in ExemptionRequest.Reason.values:
        raise ExemptionError("Choose a reason.", field="reason")
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ExemptionError(f"Keep the note under {NOTE_MAX_LENGTH} characters.", field="note")
    with transaction.atomic():
        # Lock the producer's membership: two requests at once must not both pass the overlap check.
        membership = _producer_membership(producer)
        Membership.objects.select_for_update().filter(pk=membership.pk).first()
        organization = membership.organization
        _check_weeks(organization=organization, week_from=week_from, week_to=week_to, now=timezone.now())
        _check_expectation(expectation, membership)
        _check_overlap(producer=producer, week_from=week_from, week_to=week_to, expectation=expectation)
        exemption = ExemptionRequest.objects.create(
            organization=organization,
            producer=producer,
            week_from=week_from,
            week_to=week_to,
            expectation=expectation,
            reason=reason,
            note=note,
        )
        audit_log(
            organization=organization,
            actor=by,
            action="exemption.request",
            obj=exemption,
            after=snapshot(exemption, AUDITED),
        )
    return exemption


def _locked(pk: int) -> ExemptionRequest:
    rows = ExemptionRequest.objects.select_related("organization", "producer", "expectation__activity_type")
    return rows.select_for_update(of=("self",)).get(pk=pk)


def _lock_pending(exemption: ExemptionRequest, *, by: User, verb: str) -> ExemptionRequest:
    """The row again, locked; refused unless `by` may decide it and it is still pending."""
    if exemption.producer_id == by.pk:
        raise ExemptionError(f"You cannot {verb} your own exemption request.")
    if not can_act_on_producer(by, exemption.producer):
        raise ExemptionError(f"Only the producer's manager or a leader can {verb} this request.")
    locked = _locked(exemption.pk)
    if locked.status != Status.PENDING:
        raise ExemptionError(f"This request was already {locked.get_status_display().lower()}.")
    return locked


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ExemptionError(f"Keep the note under {NOTE_MAX_LENGTH} characters.", field="note")
    return note


def _decide(exemption: ExemptionRequest, *, by: User, status: str, note: str) -> ExemptionRequest:
    verb = "approve" if status == Status.APPROVED else "reject"
    with transaction.atomic():
        locked = _lock_pending(exemption, by=by, verb=verb)
        note = _clean_note(note)
        if status == Status.REJECTED and not note:
            raise ExemptionError("Say why you reject it; the producer reads your note.", field="note")
        before = snapshot(locked, AUDITED)
        locked.status, locked.decided_by, locked.decided_at, locked.decision_note = status, by, timezone.now(), note
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit_log(
            organization=locked.organization,
            actor=by,
            action=f"exemption.{verb}",
            obj=locked,
            before=before,
            after=snapshot(locked, AUDITED),
        )
        if status == Status.APPROVED:
            exemption_recompute_closed_weeks(exemption=locked, now=locked.decided_at)
        _notify(locked, by=by)
    return locked


def _notify(exemption: ExemptionRequest, *, by: User) -> None:
    scope = exemption.expectation.activity_type.name if exemption.expectation_id else "all expectations"
    span = f"week of {exemption.week_from:%b %-d}"
    if exemption.week_to != exemption.week_from:
        span += f" to week of {exemption.week_to:%b %-d}"
    text = f"{by.name or by.email} {exemption.get_status_display().lower()} your exemption ({scope}, {span})"
    if exemption.decision_note:
        text += f": {exemption.decision_note}"
    notification_send(
        recipient=exemption.producer,
        kind=f"exemption_{exemption.status}",
        text=text,
        link=reverse("scoring:exemptions"),
    )


def exemption_recompute_closed_weeks(*, exemption: ExemptionRequest, now: dt.datetime) -> list[dt.date]:
    """Queue each covered week whose grace period has passed for re-computation; the close
    job consumes the rows (and recomputes later weeks too, for streaks). Returns the weeks."""
    organization = exemption.organization
    weeks = [w for w in weeks_between(exemption.week_from, exemption.week_to) if is_week_closed(w, organization, now)]
    for week in weeks:
        WeekRecompute.objects.update_or_create(
            producer_id=exemption.producer_id,
            week_start=week,
            defaults={"organization": organization, "reason": f"exemption {exemption.pk} approved"[:120]},
        )
    return weeks


def exemption_approve(*, exemption: ExemptionRequest, by: User, note: str = "") -> ExemptionRequest:
    """Approve a pending request: those expectations are excused for those weeks."""
    return _decide(exemption, by=by, status=Status.APPROVED, note=note)


def exemption_reject(*, exemption: ExemptionRequest, by: User, note: str) -> ExemptionRequest:
    """Reject a pending request, saying why."""
    return _decide(exemption, by=by, status=Status.REJECTED, note=note)


def exemption_cancel(*, exemption: ExemptionRequest, by: User) -> None:
    """The producer withdraws their own request while it is still pending (the row goes;
    the audit log keeps it)."""
    if exemption.producer_id != by.pk:
        raise ExemptionError("Only the producer who asked can cancel a request.")
    with transaction.atomic():
        locked = _locked(exemption.pk)
        if locked.status != Status.PENDING:
            raise ExemptionError(f"This request was already {locked.get_status_display().lower()}.")
        before = snapshot(locked, AUDITED)
        audit_log(organization=locked.organization, actor=by, action="exemption.cancel", obj=locked, before=before)
        locked.delete()
