"""Recomputing closed weeks after a change (SPEC §3: a closed week that changes is
recomputed together with everything that depends on it)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from accountability.models import Organization
from activities.models import WeekRecompute
from scoring.locks import organization_lock
from scoring.models import WeekClose

from .close import week_close


def recompute_pending(*, organization: Organization) -> list[dt.date]:
    """Consume the organization's pending WeekRecompute rows: recompute the earliest affected
    closed week and every later closed week, oldest first (streaks, perfect months and
    flags carry forward), then delete the rows consumed. Returns the weeks recomputed.

    The whole organization is recomputed per week: the close is set-based, so one
    producer costs as much as all of them. Rows for weeks not closed yet are simply
    dropped (the close will count those activities). It runs in one transaction under the
    organization's lock, so a close of a later week on another worker waits and then reads
    the recomputed streaks; a crash rolls everything back and leaves the rows for the next run.
    """
    with transaction.atomic():
        organization_lock(organization_id=organization.pk)
        pending = list(WeekRecompute.objects.filter(organization=organization).values_list("id", "week_start"))
        if not pending:
            return []
        earliest = min(week_start for _id, week_start in pending)
        weeks = list(
            WeekClose.objects.filter(organization=organization, week_start__gte=earliest)
            .order_by("week_start")
            .values_list("week_start", flat=True)
        )
        for week_start in weeks:
            week_close(organization=organization, week_start=week_start, final=True)
        WeekRecompute.objects.filter(id__in=[row_id for row_id, _week in pending]).delete()
    return weeks
