"""The activity log services, rule by rule (SPEC §2 activities/, §3 weeks).

Time is frozen at NOW = Thursday 2026-03-19 03:00 UTC, which in the cast's
America/Chicago is still Wednesday 2026-03-18, 22:00 CDT: local and UTC dates differ.
The open week is Mon 2026-03-16; the week of Mon 2026-03-09 ended Mon 2026-03-16 00:00
CDT and closed 48 grace hours later, Wed 2026-03-18 00:00 CDT — 22 hours before NOW.
"""

import contextlib
import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
import time_machine

from accountability.models import AuditEvent, Membership, Role, User
from accountability.tests.factories import OrganizationFactory, TeamFactory, member
from activities.errors import ActivityError
from activities.models import Activity, Category, Source, Status, WeekRecompute
from activities.services.log import (
    DUPLICATE_MESSAGE,
    ActivityData,
    activity_delete,
    activity_log,
    activity_reject,
    activity_update,
    activity_verify,
)

from .factories import ActivityFactory, ActivityTypeFactory

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
UTC = dt.UTC
NOW = dt.datetime(2026, 3, 19, 3, 0, tzinfo=UTC)
THIS_WEEK = dt.date(2026, 3, 16)
LAST_WEEK = dt.date(2026, 3, 9)  # closed at NOW
TWO_WEEKS_AGO = dt.date(2026, 3, 2)  # closed


def chicago(month, day, hour=12, minute=0, year=2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


@pytest.fixture(autouse=True)
def frozen():
    # autouse, so the cast (memberships active from "today - 365 days") is built in frozen time
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def crm(org):
    return ActivityTypeFactory(organization=org, name="CRM entry", category=Category.CRM)


@pytest.fixture
def social(org):
    return ActivityTypeFactory(organization=org, name="Social post", category=Category.SOCIAL, requires_evidence=True)


@pytest.fixture
def policy(org):
    return ActivityTypeFactory(
        organization=org, name="New policy sold", category=Category.RESULT, tracks_value=True, value_label="Premium ($)"
    )


def log(producer, activity_type, occurred_at=None, *, by=None, source=Source.WEB, **fields) -> Activity:
    data = ActivityData(
        activity_type=activity_type, occurred_at=occurred_at or NOW - dt.timedelta(minutes=10), **fields
    )
    return activity_log(producer=producer, data=data, by=by or producer, source=source)


def data_of(activity, **changes) -> ActivityData:
    fields = {
        "activity_type": activity.activity_type,
        "occurred_at": activity.occurred_at,
        "quantity": activity.quantity,
        "value": activity.value,
        "note": activity.note,
        "evidence_url": activity.evidence_url,
    }
    return ActivityData(**{**fields, **changes})


def fresh(user) -> User:
    """The user re-read, so a membership changed in the database is seen (it is cached on the object)."""
    return User.objects.get(pk=user.pk)


def state():
    return (
        list(Activity.objects.order_by("pk").values()),
        list(AuditEvent.objects.order_by("pk").values_list("pk", flat=True)),
        list(WeekRecompute.objects.order_by("pk").values()),
    )


@contextlib.contextmanager
def refused(message: str, field: str | None):
    """The block raises ActivityError with this message (fragment) and field, and writes nothing."""
    before = state()
    with pytest.raises(ActivityError) as caught:
        yield caught
    assert message in caught.value.message
    assert caught.value.field == field
    assert state() == before


def recomputes():
    return sorted(WeekRecompute.objects.values_list("producer_id", "week_start"))


# --- activity_log: what is refused ---------------------------------------------------


def test_log_saves_every_field_with_the_org_local_week(producer, policy):
    activity = log(producer, policy, chicago(3, 18, 21), quantity=2, value="1,250.5", note="  Auto + home  ")

    activity.refresh_from_db()
    assert (activity.quantity, activity.value, activity.note) == (2, Decimal("1250.50"), "Auto + home")
    assert (activity.week_start, activity.status, activity.source) == (THIS_WEEK, Status.LOGGED, Source.WEB)
    assert activity.organization == producer.membership.organization
    assert (activity.logged_by, activity.needs_review) == (producer, False)
    assert activity.created_at == NOW


def test_future_beyond_five_minutes_of_skew_is_refused(producer, crm):
    with refused("cannot be in the future", "occurred_at"):
        log(producer, crm, NOW + dt.timedelta(minutes=5, seconds=1))


def test_future_within_the_skew_is_accepted(producer, crm):
    activity = log(producer, crm, NOW + dt.timedelta(minutes=4, seconds=59))
    assert activity.occurred_at == NOW + dt.timedelta(minutes=4, seconds=59)


def test_naive_datetime_is_refused(producer, crm):
    with refused("with a time zone", "occurred_at"):
        log(producer, crm, dt.datetime(2026, 3, 18, 10, 0))


def test_inactive_type_is_refused(producer, crm):
    crm.active = False
    crm.save()
    with refused("no longer in use", "activity_type"):
        log(producer, crm)


def test_another_organizations_type_is_refused(producer, other_org):
    foreign = ActivityTypeFactory(organization=other_org, name="CRM entry")
    with refused("Unknown activity type.", "activity_type"):
        log(producer, foreign)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "between 1 and 1000"),
        (1001, "between 1 and 1000"),
        (-3, "between 1 and 1000"),
        ("abc", "whole number"),
        (True, "whole number"),
        (2.5, "whole number"),
        (None, "whole number"),
    ],
)
def test_bad_quantity_is_refused(producer, crm, quantity, message):
    with refused(message, "quantity"):
        log(producer, crm, quantity=quantity)


def test_quantity_at_the_bounds_and_as_text_is_accepted(producer, crm):
    assert log(producer, crm, note="one", quantity=1).quantity == 1
    assert log(producer, crm, note="max", quantity=1000).quantity == 1000
    assert log(producer, crm, note="text", quantity=" 7 ").quantity == 7


def test_value_on_a_type_without_value_is_refused(producer, crm):
    with refused("does not record a value", "value"):
        log(producer, crm, value=Decimal("100"))


@pytest.mark.parametrize("value", [None, ""])
def test_missing_value_on_a_value_type_is_refused(producer, policy, value):
    with refused("“New policy sold” needs Premium ($)", "value"):
        log(producer, policy, value=value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-0.01", "from 0 up to"),
        (Decimal("-5"), "from 0 up to"),
        ("NaN", "from 0 up to"),
        ("Infinity", "from 0 up to"),
        ("1e10", "from 0 up to"),
        ("99999999999999999999999999999999", "from 0 up to"),
        # rounds up to 10,000,000,000.00, which no longer fits the column
        ("9999999999.999", "from 0 up to"),
        ("abc", "must be a number"),
    ],
)
def test_bad_value_is_refused(producer, policy, value, message):
    with refused(message, "value"):
        log(producer, policy, value=value)


def test_largest_value_and_zero_are_accepted(producer, policy):
    assert log(producer, policy, note="big", value="9999999999.99").value == Decimal("9999999999.99")
    assert log(producer, policy, note="zero", value=0).value == Decimal("0.00")
    stored = Activity.objects.get(note="big")
    assert stored.value == Decimal("9999999999.99")


def test_missing_evidence_where_required_is_refused(producer, social):
    with refused("needs a link as evidence", "evidence_url"):
        log(producer, social, evidence_url="   ")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/post", "javascript:alert(1)", "www.linkedin.com/post/1", "not a link"]
)
def test_evidence_that_is_not_a_web_link_is_refused(producer, social, url):
    with refused("starting with http:// or https://", "evidence_url"):
        log(producer, social, evidence_url=url)


def test_evidence_link_is_kept(producer, social):
    activity = log(producer, social, evidence_url=" https://www.linkedin.com/posts/priya-1 ")
    assert activity.evidence_url == "https://www.linkedin.com/posts/priya-1"


def test_note_too_long_is_refused_and_the_limit_is_accepted(producer, crm):
    with refused("The note is too long (at most 500", "note"):
        log(producer, crm, note="x" * 501)
    assert len(log(producer, crm, note="x" * 500 + "   ").note) == 500


def test_activity_for_a_manager_is_refused(manager, crm):
    with refused("only be logged for producers", "producer"):
        log(manager, crm)


def test_before_the_producer_was_active_is_refused(producer, crm):
    Membership.objects.filter(user=producer).update(active_from=dt.date(2026, 3, 18))
    producer = fresh(producer)
    # 23:30 on Mar 17 in Chicago is already Mar 18 in UTC: the local date decides
    with refused("was not an active producer on Mar 17, 2026", "occurred_at"):
        log(producer, crm, chicago(3, 17, 23, 30))
    assert log(producer, crm, chicago(3, 18, 0, 30)).week_start == THIS_WEEK


def test_after_the_producers_last_active_day_is_refused(producer, crm):
    Membership.objects.filter(user=producer).update(active_to=dt.date(2026, 3, 17))
    producer = fresh(producer)
    assert log(producer, crm, chicago(3, 17, 23, 30)).week_start == THIS_WEEK  # active_to is inclusive
    with refused("was not an active producer on Mar 18, 2026", "occurred_at"):
        log(producer, crm, chicago(3, 18, 0, 30))


def test_deactivated_producer_gets_no_new_activities(producer, manager, crm):
    User.objects.filter(pk=producer.pk).update(is_active=False)
    producer = fresh(producer)
    with refused("was not an active producer", "occurred_at"):
        log(producer, crm)
    # a deactivated user is nobody's team member any more (accountability.access)
    with refused("only log activities for yourself or your team", "producer"):
        log(producer, crm, by=manager)


# --- closed weeks ---------------------------------------------------------------------


def test_producer_may_log_last_week_until_the_grace_hours_have_passed(producer, crm, frozen):
    frozen.move_to(chicago(3, 17, 23, 59))  # last week ended Monday 00:00, + 48 h = Wed 00:00
    assert log(producer, crm, chicago(3, 15, 18)).week_start == LAST_WEEK

    frozen.move_to(chicago(3, 18, 0, 0))
    with refused("The week of Mar 9 is closed", "occurred_at"):
        log(producer, crm, chicago(3, 15, 19))


def test_grace_hours_come_from_the_organization(producer, crm, frozen):
    organization = producer.membership.organization
    organization.grace_hours = 0
    organization.save()
    frozen.move_to(chicago(3, 15, 23, 59))
    assert log(producer, crm, chicago(3, 15, 18)).week_start == LAST_WEEK
    frozen.move_to(chicago(3, 16, 0, 1))
    with refused("The week of Mar 9 is closed", "occurred_at"):
        log(producer, crm, chicago(3, 15, 19))


@pytest.mark.parametrize("staff", ["manager", "leader"])
def test_manager_or_leader_may_log_in_a_closed_week_audited_and_queued(request, producer, crm, staff):
    by = request.getfixturevalue(staff)
    activity = log(producer, crm, chicago(3, 12), by=by, quantity=3)

    assert (activity.week_start, activity.logged_by, activity.producer) == (LAST_WEEK, by, producer)
    event = AuditEvent.objects.get(action="activity.log")
    assert (event.actor, event.object_id, event.organization) == (by, str(activity.pk), activity.organization)
    assert event.after["quantity"] == 3 and event.after["producer"] == producer.pk
    assert recomputes() == [(producer.pk, LAST_WEEK)]


def test_manager_logging_in_the_open_week_is_audited_without_recompute(producer, manager, crm):
    log(producer, crm, chicago(3, 18, 9), by=manager)
    assert AuditEvent.objects.filter(action="activity.log", actor=manager).count() == 1
    assert recomputes() == []


def test_producer_logging_for_themselves_is_not_audited(producer, crm):
    log(producer, crm)
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("actor", "target"),
    [
        ("manager", "teammate"),  # a manager of another team
        ("teammate", "producer"),  # a fellow producer
        ("outsider", "producer"),  # another organization
        ("outsider_leader", "producer"),
        ("leader", "outsider"),
    ],
)
def test_logging_for_someone_one_does_not_act_on_is_refused(request, crm, actor, target):
    by, producer = request.getfixturevalue(actor), request.getfixturevalue(target)
    activity_type = crm if target != "outsider" else ActivityTypeFactory(organization=producer.membership.organization)
    with refused("only log activities for yourself or your team", "producer"):
        log(producer, activity_type, by=by)


# --- the stored week ------------------------------------------------------------------


def test_week_start_is_the_org_local_week_not_the_utc_one(producer, manager, crm):
    # Sunday 22:00 CDT is already Monday in UTC; the activity belongs to the week before.
    sunday_night = dt.datetime(2026, 3, 16, 3, 0, tzinfo=UTC)
    assert log(producer, crm, sunday_night, by=manager).week_start == LAST_WEEK
    monday_morning = chicago(3, 16, 0, 0)
    assert log(producer, crm, monday_morning).week_start == THIS_WEEK


def test_sunday_start_organization_across_the_dst_change(frozen):
    organization = OrganizationFactory(timezone="America/Chicago", week_start=6)  # weeks start on Sunday
    team = TeamFactory(organization=organization)
    producer = member(organization, Role.PRODUCER, team=team)
    activity_type = ActivityTypeFactory(organization=organization)
    # Clocks went forward on Sunday 2026-03-08 at 02:00; that week has 167 hours.
    frozen.move_to(dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC))
    saturday_night = dt.datetime(2026, 3, 8, 5, 30, tzinfo=UTC)  # Sat 23:30 CST
    sunday_early = dt.datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # Sun 00:30 CST
    assert log(producer, activity_type, saturday_night).week_start == dt.date(2026, 3, 1)
    assert log(producer, activity_type, sunday_early).week_start == dt.date(2026, 3, 8)

    frozen.move_to(dt.datetime(2026, 3, 15, 6, 0, tzinfo=UTC))
    last_minute = dt.datetime(2026, 3, 15, 4, 59, tzinfo=UTC)  # Sat 23:59 CDT, 167th hour
    next_week = dt.datetime(2026, 3, 15, 5, 0, tzinfo=UTC)  # Sun 00:00 CDT
    assert log(producer, activity_type, last_minute).week_start == dt.date(2026, 3, 8)
    assert log(producer, activity_type, next_week).week_start == dt.date(2026, 3, 15)


# --- duplicates -----------------------------------------------------------------------


def test_exact_duplicate_is_refused_with_a_message(producer, crm):
    at = chicago(3, 18, 9)
    log(producer, crm, at, note="Called the Hendersons")
    with refused(DUPLICATE_MESSAGE, None):
        log(producer, crm, at, note="  Called the Hendersons ")  # same once the note is trimmed


def test_duplicate_logged_by_the_manager_is_refused_too(producer, manager, crm):
    at = chicago(3, 18, 9)
    log(producer, crm, at, note="Review")
    with refused(DUPLICATE_MESSAGE, None):
        log(producer, crm, at, note="Review", by=manager)


def test_same_time_with_another_note_or_type_is_not_a_duplicate(producer, crm, org):
    at = chicago(3, 18, 9)
    other_type = ActivityTypeFactory(organization=org, name="Marketing event", category=Category.MARKETING)
    log(producer, crm, at, note="Called the Hendersons")
    log(producer, crm, at, note="Called the Parkers")
    log(producer, other_type, at, note="Called the Hendersons")
    assert Activity.objects.count() == 3


# --- anti-gaming ----------------------------------------------------------------------


def test_logging_more_than_two_days_later_marks_for_review(producer, crm):
    on_time = log(producer, crm, NOW - dt.timedelta(days=2) + dt.timedelta(minutes=1))
    late = log(producer, crm, NOW - dt.timedelta(days=2, minutes=1))

    assert not on_time.needs_review
    assert (late.needs_review, late.review_reason) == (True, "late")
    late.refresh_from_db()
    assert (late.needs_review, late.review_reason) == (True, "late")


@pytest.mark.parametrize("source", [Source.CSV, Source.WEBHOOK, Source.TRAINING])
def test_records_from_other_systems_are_never_marked(producer, crm, frozen, source):
    log(producer, crm, NOW - dt.timedelta(days=2, hours=5), source=source)
    for minute in range(12):
        log(producer, crm, chicago(3, 17, 9, minute), source=source)
    assert not Activity.objects.filter(needs_review=True).exists()


@pytest.mark.parametrize("source", [Source.WEB, Source.API])
def test_the_eleventh_back_dated_entry_within_an_hour_marks_the_whole_burst(producer, crm, frozen, source):
    for minute in range(10):
        log(producer, crm, chicago(3, 17, 9, minute), source=source)
        frozen.shift(dt.timedelta(minutes=5))  # the first one is 50 minutes old at the 11th
    assert not Activity.objects.filter(needs_review=True).exists()

    eleventh = log(producer, crm, chicago(3, 17, 9, 10), source=source)

    assert (eleventh.needs_review, eleventh.review_reason) == (True, "burst")
    assert set(Activity.objects.values_list("needs_review", "review_reason")) == {(True, "burst")}
    assert Activity.objects.count() == 11


def test_a_late_entry_in_a_burst_keeps_its_late_reason(producer, crm):
    log(producer, crm, chicago(3, 16, 9))  # more than 2 days ago
    for minute in range(10):
        log(producer, crm, chicago(3, 17, 9, minute))
    reasons = sorted(Activity.objects.values_list("review_reason", flat=True))
    assert reasons == ["burst"] * 10 + ["late"]


def test_entries_more_than_an_hour_apart_are_not_a_burst(producer, crm, frozen):
    log(producer, crm, chicago(3, 17, 8))
    frozen.shift(dt.timedelta(minutes=61))
    for minute in range(10):
        log(producer, crm, chicago(3, 17, 9, minute))
    assert not Activity.objects.filter(needs_review=True).exists()


def test_todays_entries_do_not_count_towards_a_burst(producer, crm):
    # "Today" is Wednesday in Chicago, although it is already Thursday in UTC: entries of
    # Wednesday 01:00-01:30 CDT are today's, not back-dated.
    for minute in range(15):
        log(producer, crm, chicago(3, 18, 1, minute * 2))
    for minute in range(10):
        log(producer, crm, chicago(3, 17, 9, minute))
    assert not Activity.objects.filter(needs_review=True).exists()

    log(producer, crm, chicago(3, 17, 9, 30))  # the 11th back-dated one
    marked = Activity.objects.filter(needs_review=True)
    assert marked.count() == 11
    assert not marked.filter(occurred_at__gte=chicago(3, 18, 0)).exists()


def test_imported_entries_do_not_count_towards_a_web_burst(producer, crm):
    for minute in range(10):
        log(producer, crm, chicago(3, 17, 9, minute), source=Source.CSV)
    web = log(producer, crm, chicago(3, 17, 10))
    assert not web.needs_review
    assert not Activity.objects.filter(needs_review=True).exists()


def test_another_producers_entries_do_not_count_towards_a_burst(producer, teammate, crm):
    for minute in range(10):
        log(teammate, crm, chicago(3, 17, 9, minute))
    assert not log(producer, crm, chicago(3, 17, 10)).needs_review


# --- activity_update ------------------------------------------------------------------


def test_producer_edits_their_own_activity_while_the_week_is_open(producer, crm, policy):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 18, 9), note="a")
    updated = activity_update(
        activity=activity, data=data_of(activity, activity_type=policy, value="900", quantity=2, note="b"), by=producer
    )
    updated.refresh_from_db()
    assert (updated.activity_type, updated.value, updated.quantity, updated.note) == (policy, Decimal("900.00"), 2, "b")


def test_producer_moving_an_activity_to_another_open_week_changes_its_week(producer, crm, frozen):
    frozen.move_to(chicago(3, 17, 12))  # last week is still in its grace hours
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 17, 9))
    assert activity.week_start == THIS_WEEK

    activity_update(activity=activity, data=data_of(activity, occurred_at=chicago(3, 13, 9)), by=producer)

    activity.refresh_from_db()
    assert activity.week_start == LAST_WEEK


def test_update_applies_every_logging_rule(producer, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 18, 9))
    with refused("between 1 and 1000", "quantity"):
        activity_update(activity=activity, data=data_of(activity, quantity=0), by=producer)
    with refused("cannot be in the future", "occurred_at"):
        activity_update(activity=activity, data=data_of(activity, occurred_at=NOW + dt.timedelta(hours=1)), by=producer)


def test_producer_cannot_edit_an_activity_of_a_closed_week(producer, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 12, 9))
    with refused("The week of Mar 9 is closed", "occurred_at"):
        activity_update(activity=activity, data=data_of(activity, quantity=5), by=producer)


def test_producer_cannot_move_an_activity_into_a_closed_week(producer, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 18, 9))
    with refused("The week of Mar 9 is closed", "occurred_at"):
        activity_update(activity=activity, data=data_of(activity, occurred_at=chicago(3, 12, 9)), by=producer)


def test_staff_edit_in_a_closed_week_is_audited_and_queued(producer, manager, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 12, 9), quantity=1)
    activity_update(activity=activity, data=data_of(activity, quantity=4), by=manager)

    activity.refresh_from_db()
    assert activity.quantity == 4
    event = AuditEvent.objects.get(action="activity.update")
    assert event.actor == manager and event.object_id == str(activity.pk)
    assert (event.before["quantity"], event.after["quantity"]) == (1, 4)
    assert recomputes() == [(producer.pk, LAST_WEEK)]


def test_staff_moving_between_closed_weeks_queues_both(producer, leader, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 12, 9))
    activity_update(activity=activity, data=data_of(activity, occurred_at=chicago(3, 4, 9)), by=leader)

    activity.refresh_from_db()
    assert activity.week_start == TWO_WEEKS_AGO
    assert recomputes() == [(producer.pk, TWO_WEEKS_AGO), (producer.pk, LAST_WEEK)]


def test_staff_moving_from_a_closed_to_the_open_week_queues_only_the_closed_one(producer, manager, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 12, 9))
    activity_update(activity=activity, data=data_of(activity, occurred_at=chicago(3, 18, 9)), by=manager)
    assert recomputes() == [(producer.pk, LAST_WEEK)]


def test_the_given_now_decides_which_weeks_are_closed(producer, manager, crm):
    # Callers pass `now` (imports, the API); the re-computation must follow it, not the clock.
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 18, 9))
    a_week_later = NOW + dt.timedelta(days=7)  # the week of Mar 16 has closed by then
    activity_update(activity=activity, data=data_of(activity, quantity=2), by=manager, now=a_week_later)
    assert recomputes() == [(producer.pk, THIS_WEEK)]


def test_a_verified_activity_goes_back_to_logged_when_the_producer_edits_it(producer, crm):
    activity = ActivityFactory(
        producer=producer, activity_type=crm, occurred_at=chicago(3, 18, 9), status=Status.VERIFIED
    )
    activity_update(activity=activity, data=data_of(activity, quantity=3), by=producer)
    activity.refresh_from_db()
    assert activity.status == Status.LOGGED


def test_a_verified_activity_stays_verified_when_the_manager_edits_it(producer, manager, crm):
    activity = ActivityFactory(
        producer=producer, activity_type=crm, occurred_at=chicago(3, 18, 9), status=Status.VERIFIED
    )
    activity_update(activity=activity, data=data_of(activity, quantity=3), by=manager)
    activity.refresh_from_db()
    assert activity.status == Status.VERIFIED


def test_update_into_an_exact_duplicate_is_refused(producer, crm):
    at = chicago(3, 18, 9)
    ActivityFactory(producer=producer, activity_type=crm, occurred_at=at, note="same")
    other = ActivityFactory(producer=producer, activity_type=crm, occurred_at=at, note="other")
    with refused(DUPLICATE_MESSAGE, None):
        activity_update(activity=other, data=data_of(other, note="same"), by=producer)


def test_saving_an_activity_unchanged_is_not_a_duplicate_of_itself(producer, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 18, 9))
    activity_update(activity=activity, data=data_of(activity), by=producer)


@pytest.mark.parametrize("actor", ["teammate", "outsider_leader"])
def test_others_cannot_update_a_producers_activity(request, producer, crm, actor):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 18, 9))
    with refused("only log activities for yourself or your team", "producer"):
        activity_update(activity=activity, data=data_of(activity, quantity=9), by=request.getfixturevalue(actor))


def test_manager_of_another_team_cannot_update(teammate, manager, crm):
    activity = ActivityFactory(producer=teammate, activity_type=crm, occurred_at=chicago(3, 18, 9))
    with refused("only log activities for yourself or your team", "producer"):
        activity_update(activity=activity, data=data_of(activity, quantity=9), by=manager)


# --- activity_delete ------------------------------------------------------------------


def test_producer_deletes_their_own_activity_while_the_week_is_open(producer, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 18, 9))
    activity_delete(activity=activity, by=producer)
    assert not Activity.objects.exists()


def test_producer_cannot_delete_in_a_closed_week(producer, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 12, 9))
    with refused("The week of Mar 9 is closed", "occurred_at"):
        activity_delete(activity=activity, by=producer)


def test_manager_deletes_in_a_closed_week_audited_and_queued(producer, manager, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 12, 9), quantity=2)
    pk = activity.pk
    activity_delete(activity=activity, by=manager)

    assert not Activity.objects.exists()
    event = AuditEvent.objects.get(action="activity.delete")
    assert (event.actor, event.object_id, event.before["quantity"]) == (manager, str(pk), 2)
    assert recomputes() == [(producer.pk, LAST_WEEK)]


@pytest.mark.parametrize(
    ("actor", "target"), [("teammate", "producer"), ("manager", "teammate"), ("outsider", "producer")]
)
def test_others_cannot_delete(request, crm, actor, target):
    producer = request.getfixturevalue(target)
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 18, 9))
    with refused("only log activities for yourself or your team", "producer"):
        activity_delete(activity=activity, by=request.getfixturevalue(actor))


# --- verify / reject --------------------------------------------------------------------


@pytest.fixture
def flagged(producer, crm):
    return ActivityFactory(
        producer=producer, activity_type=crm, occurred_at=chicago(3, 18, 9), needs_review=True, review_reason="late"
    )


def test_manager_of_the_team_verifies(flagged, manager):
    activity_verify(activity=flagged, by=manager)

    flagged.refresh_from_db()
    assert (flagged.status, flagged.needs_review) == (Status.VERIFIED, False)
    assert (flagged.reviewed_by, flagged.reviewed_at) == (manager, NOW)
    event = AuditEvent.objects.get(action="activity.verify")
    assert event.actor == manager and event.object_id == str(flagged.pk)
    assert event.before == {"status": "logged", "needs_review": True}
    assert event.after == {"status": "verified"}
    assert recomputes() == []  # the open week; and verifying does not change what counts


def test_leader_rejects_with_a_reason(flagged, leader):
    activity_reject(activity=flagged, by=leader, reason="  No such client in the CRM  ")

    flagged.refresh_from_db()
    assert (flagged.status, flagged.reviewed_by) == (Status.REJECTED, leader)
    assert flagged.rejection_reason == "No such client in the CRM"
    event = AuditEvent.objects.get(action="activity.reject")
    assert event.before == {"status": "logged", "needs_review": True}
    assert event.after == {"status": "rejected", "reason": "No such client in the CRM"}


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_reject_needs_a_reason(flagged, manager, reason):
    with refused("Say why the activity is rejected", "reason"):
        activity_reject(activity=flagged, by=manager, reason=reason)


def test_reject_reason_too_long_is_refused(flagged, manager):
    with refused("The reason is too long", "reason"):
        activity_reject(activity=flagged, by=manager, reason="x" * 501)


@pytest.mark.parametrize("actor", ["producer", "teammate", "outsider_leader", "outsider"])
def test_producer_and_strangers_cannot_verify_or_reject(request, flagged, actor):
    by = request.getfixturevalue(actor)
    with refused("Only the producer's manager or a leader", None):
        activity_verify(activity=flagged, by=by)
    with refused("Only the producer's manager or a leader", None):
        activity_reject(activity=flagged, by=by, reason="Looks made up")


def test_manager_of_another_team_cannot_verify(teammate, manager, crm):
    activity = ActivityFactory(producer=teammate, activity_type=crm, occurred_at=chicago(3, 18, 9))
    with refused("Only the producer's manager or a leader", None):
        activity_verify(activity=activity, by=manager)


def test_rejecting_in_a_closed_week_queues_a_recompute(producer, manager, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 12, 9))
    activity_reject(activity=activity, by=manager, reason="Duplicate of Tuesday's entry")
    assert recomputes() == [(producer.pk, LAST_WEEK)]
    assert WeekRecompute.objects.get().reason == "activity.reject"


def test_verifying_in_a_closed_week_changes_nothing_that_counts(producer, manager, crm):
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=chicago(3, 12, 9))
    activity_verify(activity=activity, by=manager)
    assert recomputes() == []


def test_un_rejecting_in_a_closed_week_queues_a_recompute(producer, leader, crm):
    activity = ActivityFactory(
        producer=producer, activity_type=crm, occurred_at=chicago(3, 12, 9), status=Status.REJECTED
    )
    activity_verify(activity=activity, by=leader)
    assert recomputes() == [(producer.pk, LAST_WEEK)]


# --- anti-gaming: who is watched, and back-dating by editing ----------------------------


def test_a_late_entry_logged_by_the_manager_is_not_marked(producer, manager, crm):
    # Anti-gaming watches producers' own entries; a manager's entry is audited instead.
    activity = log(producer, crm, NOW - dt.timedelta(days=3), by=manager)
    activity.refresh_from_db()
    assert (activity.needs_review, activity.review_reason) == (False, "")


def test_producer_back_dating_by_editing_is_marked_late(producer, crm, frozen):
    frozen.move_to(chicago(3, 17, 12))
    activity = log(producer, crm, chicago(3, 17, 11))
    assert not activity.needs_review

    activity_update(activity=activity, data=data_of(activity, occurred_at=chicago(3, 13, 9)), by=producer)

    activity.refresh_from_db()
    assert (activity.needs_review, activity.review_reason) == (True, "late")


def test_producer_editing_the_note_only_is_not_marked(producer, crm):
    activity = log(producer, crm, NOW - dt.timedelta(hours=1))
    activity_update(activity=activity, data=data_of(activity, note="call with the Smiths"), by=producer)
    activity.refresh_from_db()
    assert activity.needs_review is False
