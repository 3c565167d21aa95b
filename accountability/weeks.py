"""Week arithmetic in an organization's local time (SPEC §3 "Weeks").

A week is [week_start 00:00, week_start + 7 days 00:00) in the organization's time zone,
starting on its `week_start` weekday. Weeks are identified by their local start *date*.
Bounds are computed from local midnights, so DST weeks are 167 or 169 hours long, and
`week_start_for` is defined from the bounds, so that every instant belongs to exactly one
week even where a DST change makes local midnight happen twice or not at all.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

ONE_WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class WeekCalendar:
    """The two settings that define an organization's weeks."""

    tz: zoneinfo.ZoneInfo
    week_start: int  # 0 = Monday … 6 = Sunday
    grace_hours: int = 48

    @classmethod
    def of(cls, organization) -> WeekCalendar:
        return cls(zoneinfo.ZoneInfo(organization.timezone), organization.week_start, organization.grace_hours)


def _calendar(org_or_calendar) -> WeekCalendar:
    if isinstance(org_or_calendar, WeekCalendar):
        return org_or_calendar
    return WeekCalendar.of(org_or_calendar)


def local_midnight(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first instant of `day` in `tz`, as an aware UTC datetime.

    Where midnight is skipped by a DST jump, fold=0 resolves it with the offset before the
    jump, which lands on the first instant that exists on that day. Where midnight happens
    twice, fold=0 picks the first.
    """
    naive = dt.datetime.combine(day, dt.time.min)
    return naive.replace(tzinfo=tz).astimezone(dt.UTC)


def align(day: dt.date, week_start: int) -> dt.date:
    """The week-start date on or before `day`."""
    return day - dt.timedelta(days=(day.weekday() - week_start) % 7)


def week_bounds(week_start: dt.date, org) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the week beginning on the local date `week_start`, as aware UTC datetimes."""
    cal = _calendar(org)
    if week_start.weekday() != cal.week_start:
        raise ValueError(f"{week_start} is not a week start (weekday {cal.week_start}).")
    return local_midnight(week_start, cal.tz), local_midnight(week_start + ONE_WEEK, cal.tz)


def week_start_for(moment: dt.datetime, org) -> dt.date:
    """The local start date of the week that contains the aware instant `moment`."""
    if moment.tzinfo is None:
        raise ValueError("week_start_for needs an aware datetime.")
    cal = _calendar(org)
    candidate = align(moment.astimezone(cal.tz).date(), cal.week_start)
    # A doubled or skipped local midnight can put the local date on the wrong side of the
    # boundary instant; the bounds are the definition, so correct against them.
    if moment < local_midnight(candidate, cal.tz):
        return candidate - ONE_WEEK
    if moment >= local_midnight(candidate + ONE_WEEK, cal.tz):
        return candidate + ONE_WEEK
    return candidate


def week_closes_at(week_start: dt.date, org) -> dt.datetime:
    """When the week closes: its end plus the organization's grace hours."""
    cal = _calendar(org)
    return week_bounds(week_start, cal)[1] + dt.timedelta(hours=cal.grace_hours)


def is_week_closed(week_start: dt.date, org, now: dt.datetime) -> bool:
    """Whether the grace period after the week has passed (the close job may still be due)."""
    return now >= week_closes_at(week_start, org)


def current_week_start(org, now: dt.datetime) -> dt.date:
    return week_start_for(now, org)


def weeks_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Week-start dates from `first` to `last`, inclusive (both already aligned)."""
    weeks, day = [], first
    while day <= last:
        weeks.append(day)
        day += ONE_WEEK
    return weeks


def local_date(moment: dt.datetime, org) -> dt.date:
    return moment.astimezone(_calendar(org).tz).date()
