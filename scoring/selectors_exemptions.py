"""Reads for exemption requests, already scoped to what the caller may see (accountability.access):
producers their own, managers their teams' producers', leaders the whole organization's."""

from __future__ import annotations

from django.db.models import QuerySet

from accountability.access import membership_of, private_rows_visible_to

from .models import ExemptionRequest

Status = ExemptionRequest.Status


def exemptions_visible_to(user) -> QuerySet[ExemptionRequest]:
    queryset = ExemptionRequest.objects.select_related(
        "producer__membership__team", "expectation__activity_type", "expectation__team", "decided_by"
    )
    return private_rows_visible_to(queryset, user, field="producer")


def exemption_queue(user) -> QuerySet[ExemptionRequest]:
    """Pending requests the caller decides (their producers'; none for producers), oldest first."""
    membership = membership_of(user)
    if membership is None or membership.is_producer:
        return ExemptionRequest.objects.none()
    return exemptions_visible_to(user).filter(status=Status.PENDING).order_by("created_at", "id")


def exemptions_decided(user) -> QuerySet[ExemptionRequest]:
    """Decided requests the caller may see, latest decision first (the history)."""
    return exemptions_visible_to(user).exclude(status=Status.PENDING).order_by("-decided_at", "-id")
