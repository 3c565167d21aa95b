"""Reads of scores (for dashboards, the scoreboard and the API). Callers scope by
organization through accountability.access before showing anything."""

from __future__ import annotations

import datetime as dt

from django.db.models import OuterRef, QuerySet, Subquery

from accountability.models import Organization

from .models import WeekClose, WeeklyScore


def week_scores(*, organization: Organization, week_start: dt.date) -> QuerySet[WeeklyScore]:
    """The organization's scores of one week, best rank first (one query, producer and team joined)."""
    return (
        WeeklyScore.objects.filter(organization=organization, week_start=week_start)
        .select_related("producer", "team")
        .order_by("rank_org", "producer__name", "producer_id")
    )


def last_closed_week(*, organization: Organization) -> dt.date | None:
    """The newest final week of the organization, or None before the first close."""
    return (
        WeekClose.objects.filter(organization=organization)
        .order_by("-week_start")
        .values_list("week_start", flat=True)
        .first()
    )


def latest_scores(*, organization: Organization) -> QuerySet[WeeklyScore]:
    """Each producer's newest score (final or provisional), one query."""
    newest = WeeklyScore.objects.filter(producer=OuterRef("producer")).order_by("-week_start").values("week_start")[:1]
    return (
        WeeklyScore.objects.filter(organization=organization, week_start=Subquery(newest))
        .select_related("producer", "team")
        .order_by("rank_org", "producer_id")
    )
