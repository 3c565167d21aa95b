"""Provisional scores of the open week (SPEC §3: the live scoreboard may lag a few minutes)."""

from __future__ import annotations

import datetime as dt

from accountability.models import Organization
from accountability.weeks import current_week_start

from .close import week_close


def refresh_provisional_scores(*, organization: Organization, now: dt.datetime) -> int:
    """Recompute the open week's scores (is_final = false; no flags, badges or close record).
    Returns the number of producers scored."""
    week_start = current_week_start(organization, now)
    return week_close(organization=organization, week_start=week_start, final=False)
