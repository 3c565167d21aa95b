"""Week arithmetic (SPEC §3 "Weeks"): properties over instants, zones and week starts, and
hand-computed DST, week-53 and far-offset cases."""

import datetime as dt
import functools
import zoneinfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accountability.models import Organization
from accountability.weeks import (
    WeekCalendar,
    current_week_start,
    is_week_closed,
    local_date,
    week_bounds,
    week_closes_at,
    week_start_for,
    weeks_between,
)

from .factories import OrganizationFactory

UTC = dt.UTC
US = dt.timedelta(microseconds=1)
HOUR = dt.timedelta(hours=1)
ONE_WEEK = dt.timedelta(days=7)

ZONES = [
    "UTC",
    "America/Chicago",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # 30-minute DST
    "Asia/Kolkata",  # UTC+5:30, no DST
    "Pacific/Kiritimati",  # UTC+14; skipped the whole of 1994-12-31
    "America/Santiago",  # DST changes at local midnight
    "America/Havana",  # DST at midnight: midnight skipped in spring, doubled in autumn
    "Asia/Tehran",  # midnight DST until 2022, and 30-minute offset changes in the 1970s
    "Pacific/Chatham",  # UTC+12:45 / +13:45
    "America/St_Johns",  # UTC-3:30; until 2011 fell back at 00:01 to 23:01 of the day before
]
FIRST = dt.datetime(1970, 1, 8, tzinfo=UTC)
LAST = dt.datetime(2100, 12, 24, tzinfo=UTC)


@functools.cache
def offset_changes(zone: str) -> tuple[dt.datetime, ...]:
    """Every instant in 1970–2100 where the zone's UTC offset changes, found with zoneinfo
    alone (a weekly scan, then bisection to the second), so the properties below are
    exercised right around DST transitions rather than only at random instants."""
    tz = zoneinfo.ZoneInfo(zone)

    def offset(seconds: int):
        return dt.datetime.fromtimestamp(seconds, UTC).astimezone(tz).utcoffset()

    step = 7 * 86400
    changes, t = [], int(FIRST.timestamp())
    while t < LAST.timestamp():
        if offset(t) != offset(t + step):
            lo, hi = t, t + step
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == offset(lo) else (lo, mid)
            changes.append(dt.datetime.fromtimestamp(hi, UTC))
        t += step
    return tuple(changes)


def local(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.astimezone(zoneinfo.ZoneInfo(zone))


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


weekdays = st.integers(min_value=0, max_value=6)


def uniform_instants():
    return st.datetimes(min_value=FIRST.replace(tzinfo=None), max_value=LAST.replace(tzinfo=None)).map(
        lambda naive: naive.replace(tzinfo=UTC)
    )


@st.composite
def zone_instant_weekday(draw):
    """A zone, an instant and a week-start weekday. The instant is uniform over 1970–2100,
    or near one of the zone's offset changes (within 90 minutes or 8 days, give or take a
    microsecond to land on both sides of a bound); then the week often starts on the
    local day of the change, so that week bounds and DST changes coincide."""
    zone = draw(st.sampled_from(ZONES))
    changes = offset_changes(zone)
    if not changes or draw(st.booleans()):
        return zone, draw(uniform_instants()), draw(weekdays)
    change = draw(st.sampled_from(changes))
    minutes = draw(st.integers(-90, 90) | st.integers(-8 * 24 * 60, 8 * 24 * 60))
    moment = change + dt.timedelta(minutes=minutes) + draw(st.sampled_from([-US, dt.timedelta(0), US]))
    change_day = local(change, zone).weekday()
    return zone, moment, draw(st.just(change_day) | st.just((change_day + 1) % 7) | weekdays)


PROPERTY_SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def with_known_edges(test):
    """Always try the nastiest known instants as well as the random ones."""
    edges = [
        ("America/St_Johns", dt.datetime(2006, 10, 29, 3, tzinfo=UTC), 6),  # the repeated Saturday 23:30
        ("America/St_Johns", dt.datetime(2006, 10, 29, 2, 30, tzinfo=UTC), 6),  # the first of two midnights
        ("America/Havana", dt.datetime(2026, 3, 8, 5, tzinfo=UTC), 6),  # 01:00 after a skipped midnight
        ("America/Havana", dt.datetime(2026, 11, 1, 4, 30, tzinfo=UTC), 6),  # the first of two 00:30s
        ("Pacific/Kiritimati", dt.datetime(1994, 12, 31, 10, tzinfo=UTC), 5),  # after the skipped Saturday
        ("Australia/Lord_Howe", dt.datetime(2026, 4, 4, 15, tzinfo=UTC), 6),  # 30-minute fall-back
        ("America/Chicago", dt.datetime(2026, 3, 8, 8, tzinfo=UTC), 0),  # 03:00 CDT, just after the jump
    ]
    for case in edges:
        test = example(case)(test)
    return test


# --- properties --------------------------------------------------------------------------


@PROPERTY_SETTINGS
@with_known_edges
@given(zone_instant_weekday())
def test_every_instant_is_in_exactly_one_week_starting_on_the_weekday(case):
    zone, moment, week_start = case
    cal = WeekCalendar(zoneinfo.ZoneInfo(zone), week_start)
    week = week_start_for(moment, cal)
    start, end = week_bounds(week, cal)

    assert week.weekday() == week_start
    assert start <= moment < end
    # …and in neither neighbour: they end where this one starts and start where it ends.
    assert week_bounds(week - ONE_WEEK, cal)[1] == start
    assert week_bounds(week + ONE_WEEK, cal)[0] == end


@PROPERTY_SETTINGS
@with_known_edges
@given(zone_instant_weekday())
def test_week_bounds_are_the_first_instants_of_the_local_start_dates(case):
    """A bound is the first instant whose local date is on or after the week's start date —
    local midnight, or the first instant after a DST gap (Havana), or after a skipped day
    (Kiritimati)."""
    zone, moment, week_start = case
    cal = WeekCalendar(zoneinfo.ZoneInfo(zone), week_start)
    week = week_start_for(moment, cal)
    start, end = week_bounds(week, cal)

    for bound, day in ((start, week), (end, week + ONE_WEEK)):
        assert local(bound - US, zone).date() < day <= local(bound, zone).date()
    day = local(moment, zone).date()
    # Its local date is one of the week's seven — except in the hour repeated by a fall-back
    # across midnight (St. John's before 2011), which comes after the week's first midnight.
    repeated_hour = day == week - dt.timedelta(days=1) and moment - start < HOUR
    assert week <= day < week + ONE_WEEK or repeated_hour
    # Offsets change by at most two hours in a week (St. John's "double daylight time" of
    # 1988 moved two at once), except Kiritimati's skipped day.
    slack = dt.timedelta(days=1) if zone == "Pacific/Kiritimati" else 2 * HOUR
    assert abs((end - start) - ONE_WEEK) <= slack


@PROPERTY_SETTINGS
@with_known_edges
@given(zone_instant_weekday())
def test_week_start_for_its_own_bounds(case):
    zone, moment, week_start = case
    cal = WeekCalendar(zoneinfo.ZoneInfo(zone), week_start)
    week = week_start_for(moment, cal)
    start, end = week_bounds(week, cal)

    assert week_start_for(start, cal) == week
    assert week_start_for(end - US, cal) == week
    assert week_start_for(end, cal) == week + ONE_WEEK
    assert week_start_for(start - US, cal) == week - ONE_WEEK


@PROPERTY_SETTINGS
@given(zone_instant_weekday(), st.integers(min_value=0, max_value=24 * 14))
def test_an_organization_and_its_calendar_agree(case, grace_hours):
    zone, moment, week_start = case
    organization = Organization(timezone=zone, week_start=week_start, grace_hours=grace_hours)
    cal = WeekCalendar(zoneinfo.ZoneInfo(zone), week_start, grace_hours)

    week = week_start_for(moment, organization)
    assert week == week_start_for(moment, cal)
    assert week_bounds(week, organization) == week_bounds(week, cal)
    assert week_closes_at(week, organization) == week_bounds(week, cal)[1] + dt.timedelta(hours=grace_hours)
    # The instant's time zone does not matter, only the instant.
    assert week_start_for(local(moment, "Pacific/Chatham"), organization) == week


# --- America/Chicago DST weeks (Monday start) -------------------------------------------
# 2026-03-08 02:00 CST → 03:00 CDT; 2026-11-01 02:00 CDT → 01:00 CST.


@pytest.fixture
def chicago(db):
    return OrganizationFactory(timezone="America/Chicago", week_start=0, grace_hours=48)


def test_spring_forward_week_is_167_hours(chicago):
    start, end = week_bounds(dt.date(2026, 3, 2), chicago)
    assert start == utc(2026, 3, 2, 6)  # Monday 00:00 CST (UTC-6)
    assert end == utc(2026, 3, 9, 5)  # Monday 00:00 CDT (UTC-5)
    assert end - start == dt.timedelta(hours=167)
    assert week_start_for(utc(2026, 3, 8, 8, 30), chicago) == dt.date(2026, 3, 2)  # Sun 03:30 CDT


def test_fall_back_week_is_169_hours(chicago):
    start, end = week_bounds(dt.date(2026, 10, 26), chicago)
    assert start == utc(2026, 10, 26, 5)  # Monday 00:00 CDT
    assert end == utc(2026, 11, 2, 6)  # Monday 00:00 CST
    assert end - start == dt.timedelta(hours=169)
    # Both 01:30s of 2026-11-01 (CDT, then CST) are in that week.
    assert week_start_for(utc(2026, 11, 1, 6, 30), chicago) == dt.date(2026, 10, 26)
    assert week_start_for(utc(2026, 11, 1, 7, 30), chicago) == dt.date(2026, 10, 26)


def test_chicago_week_edges_are_local_midnights(chicago):
    assert week_start_for(utc(2026, 3, 9, 4, 59, 59, 999999), chicago) == dt.date(2026, 3, 2)  # Sun 23:59:59 CDT
    assert week_start_for(utc(2026, 3, 9, 5), chicago) == dt.date(2026, 3, 9)
    # Monday 03:00 UTC is still Sunday evening in Chicago.
    assert week_start_for(utc(2026, 3, 2, 3), chicago) == dt.date(2026, 2, 23)
    assert local_date(utc(2026, 3, 2, 3), chicago) == dt.date(2026, 3, 1)
    assert current_week_start(chicago, utc(2026, 3, 4, 12)) == dt.date(2026, 3, 2)


def test_sunday_start_organization(db):
    organization = OrganizationFactory(timezone="America/Chicago", week_start=6)
    # The week of Sunday 2026-03-01 ends at Sunday 03-08 00:00 CST, before the 02:00 jump.
    assert week_bounds(dt.date(2026, 3, 1), organization) == (utc(2026, 3, 1, 6), utc(2026, 3, 8, 6))
    # The week of Sunday 2026-03-08 contains the jump.
    start, end = week_bounds(dt.date(2026, 3, 8), organization)
    assert (start, end) == (utc(2026, 3, 8, 6), utc(2026, 3, 15, 5))
    assert end - start == dt.timedelta(hours=167)
    # Saturday 2026-03-14 23:30 CDT is the last half hour of it; Sunday 00:00 starts the next.
    assert week_start_for(utc(2026, 3, 15, 4, 30), organization) == dt.date(2026, 3, 8)
    assert week_start_for(utc(2026, 3, 15, 5), organization) == dt.date(2026, 3, 15)
    with pytest.raises(ValueError, match="not a week start"):
        week_bounds(dt.date(2026, 3, 9), organization)  # a Monday


def test_iso_week_53_is_an_ordinary_week(chicago):
    week = dt.date(2026, 12, 28)
    assert week.isocalendar() == (2026, 53, 1)
    assert week_bounds(week, chicago) == (utc(2026, 12, 28, 6), utc(2027, 1, 4, 6))
    assert week_start_for(utc(2026, 12, 31, 18), chicago) == week  # Thursday noon CST
    assert week_start_for(utc(2027, 1, 4, 5, 59), chicago) == week  # Sunday 2027-01-03 23:59 CST
    assert week_start_for(utc(2027, 1, 4, 6), chicago) == dt.date(2027, 1, 4)
    assert weeks_between(dt.date(2026, 12, 21), dt.date(2027, 1, 4)) == [
        dt.date(2026, 12, 21),
        week,
        dt.date(2027, 1, 4),
    ]


def test_kolkata_half_hour_offset():
    cal = WeekCalendar(zoneinfo.ZoneInfo("Asia/Kolkata"), 0)
    # Monday 2026-03-02 00:00 IST (UTC+5:30) is Sunday 18:30 UTC.
    assert week_bounds(dt.date(2026, 3, 2), cal) == (utc(2026, 3, 1, 18, 30), utc(2026, 3, 8, 18, 30))
    assert week_start_for(utc(2026, 3, 1, 18, 29, 59), cal) == dt.date(2026, 2, 23)
    assert week_start_for(utc(2026, 3, 1, 18, 30), cal) == dt.date(2026, 3, 2)


def test_kiritimati_is_already_monday_on_a_utc_sunday():
    cal = WeekCalendar(zoneinfo.ZoneInfo("Pacific/Kiritimati"), 0)
    sunday_utc = utc(2026, 3, 8, 10)  # Sunday 10:00 UTC = Monday 2026-03-09 00:00 at UTC+14
    assert sunday_utc.weekday() == 6
    assert week_start_for(sunday_utc, cal) == dt.date(2026, 3, 9)
    assert week_start_for(sunday_utc - US, cal) == dt.date(2026, 3, 2)
    assert week_bounds(dt.date(2026, 3, 9), cal) == (sunday_utc, utc(2026, 3, 15, 10))


def test_kiritimati_week_without_1994_12_31():
    """The island moved from UTC-10 to UTC+14 by skipping Saturday 1994-12-31: the week of
    Monday 1994-12-26 is six days long and the next one starts on time."""
    cal = WeekCalendar(zoneinfo.ZoneInfo("Pacific/Kiritimati"), 0)
    start, end = week_bounds(dt.date(1994, 12, 26), cal)
    assert start == utc(1994, 12, 26, 10)  # 00:00 at UTC-10
    assert end == utc(1995, 1, 1, 10)  # Monday 1995-01-02 00:00 at UTC+14
    assert end - start == dt.timedelta(days=6)


def test_havana_skipped_midnight_starts_the_week_at_one():
    """Cuba springs forward at midnight: Sunday 2026-03-08 00:00 CST never happens; a
    Sunday-start week begins at 01:00 CDT, which is 05:00 UTC."""
    cal = WeekCalendar(zoneinfo.ZoneInfo("America/Havana"), 6)
    start, end = week_bounds(dt.date(2026, 3, 8), cal)
    assert start == utc(2026, 3, 8, 5)
    assert local(start, "America/Havana").replace(tzinfo=None) == dt.datetime(2026, 3, 8, 1)
    assert end == utc(2026, 3, 15, 4)  # Sunday 00:00 CDT (UTC-4)
    assert end - start == dt.timedelta(hours=167)
    assert week_start_for(start - US, cal) == dt.date(2026, 3, 1)


def test_st_johns_repeated_hour_across_midnight_belongs_to_the_new_week():
    """2006-10-29 00:01 NDT (UTC-2:30) fell back to 2006-10-28 23:01 NST (UTC-3:30):
    Sunday's midnight came twice and Saturday 23:01–23:59 came again after it. A
    Sunday-start week begins at the first midnight, so the second Saturday 23:30 is in it."""
    cal = WeekCalendar(zoneinfo.ZoneInfo("America/St_Johns"), 6)
    start, end = week_bounds(dt.date(2006, 10, 29), cal)
    assert start == utc(2006, 10, 29, 2, 30)
    assert end == utc(2006, 11, 5, 3, 30)  # 00:00 NST
    assert end - start == dt.timedelta(hours=169)
    second_saturday_2330 = utc(2006, 10, 29, 3)
    assert local(second_saturday_2330, "America/St_Johns").date() == dt.date(2006, 10, 28)
    assert week_start_for(second_saturday_2330, cal) == dt.date(2006, 10, 29)
    assert week_start_for(utc(2006, 10, 29, 2, 29), cal) == dt.date(2006, 10, 22)  # the first Saturday 23:59


# --- closing and bad input ------------------------------------------------------------


def test_week_closes_at_end_plus_grace_hours(chicago):
    week = dt.date(2026, 10, 26)
    closes = utc(2026, 11, 4, 6)  # end 2026-11-02 06:00 UTC + 48 h
    assert week_closes_at(week, chicago) == closes
    assert not is_week_closed(week, chicago, closes - US)
    assert is_week_closed(week, chicago, closes)

    no_grace = WeekCalendar(zoneinfo.ZoneInfo("America/Chicago"), 0, grace_hours=0)
    assert week_closes_at(week, no_grace) == utc(2026, 11, 2, 6)
    assert week_closes_at(week, WeekCalendar(zoneinfo.ZoneInfo("UTC"), 0, grace_hours=5)) == utc(2026, 11, 2, 5)


def test_naive_datetime_is_refused(chicago):
    with pytest.raises(ValueError, match="aware"):
        week_start_for(dt.datetime(2026, 3, 4, 12), chicago)


@pytest.mark.parametrize("day", [dt.date(2026, 3, 3), dt.date(2026, 3, 8)])
def test_wrong_weekday_is_refused(chicago, day):
    with pytest.raises(ValueError, match="not a week start"):
        week_bounds(day, chicago)
    with pytest.raises(ValueError, match="not a week start"):
        week_closes_at(day, chicago)
