"""`activities.tasks.pick_verification_samples`: the week that just ended, per organization's
own calendar, sampled through Celery (eager under the test settings), idempotent."""

import datetime as dt

import pytest
import time_machine
from celery.result import EagerResult

from accountability.celery import app
from activities.models import Activity, ReviewReason
from activities.tasks import pick_verification_samples

from .factories import ActivityFactory, ActivityTypeFactory

pytestmark = pytest.mark.django_db

# Monday 2026-03-16 03:00 UTC is still Sunday 22:00 in Chicago (org: its week of Mar 9 is
# running, the week of Mar 2 just ended) but already Monday 03:00 in London (other_org: the
# week of Mar 9 just ended).
NOW = dt.datetime(2026, 3, 16, 3, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def three_a_day(producer, organization, day: dt.datetime) -> list[Activity]:
    activity_type = ActivityTypeFactory(organization=organization)
    return [
        ActivityFactory(producer=producer, activity_type=activity_type, occurred_at=day + dt.timedelta(hours=h))
        for h in range(3)
    ]


def sampled_weeks():
    return sorted(
        Activity.objects.filter(review_reason=ReviewReason.SAMPLE).values_list("producer__email", "week_start")
    )


def test_task_is_registered_under_its_name():
    assert app.tasks["activities.tasks.pick_verification_samples"] is pick_verification_samples._get_current_object()
    assert app.conf.beat_schedule["pick-verification-samples"]["task"] == "activities.tasks.pick_verification_samples"


def test_samples_the_week_that_just_ended_in_each_organizations_time_zone(org, other_org, producer, outsider):
    wednesday = dt.datetime(2026, 3, 4, 18, tzinfo=dt.UTC)
    week_of_mar_2, week_of_mar_9 = wednesday, wednesday + dt.timedelta(weeks=1)
    three_a_day(producer, org, week_of_mar_2)
    three_a_day(producer, org, week_of_mar_9)  # still running in Chicago
    three_a_day(outsider, other_org, week_of_mar_2)
    three_a_day(outsider, other_org, week_of_mar_9)

    result = pick_verification_samples.delay()

    assert isinstance(result, EagerResult)
    assert result.get() == 4
    assert sampled_weeks() == [
        ("outsider@test.example", dt.date(2026, 3, 9)),
        ("outsider@test.example", dt.date(2026, 3, 9)),
        ("producer@test.example", dt.date(2026, 3, 2)),
        ("producer@test.example", dt.date(2026, 3, 2)),
    ]


def test_running_again_picks_nothing(org, producer, teammate):
    three_a_day(producer, org, dt.datetime(2026, 3, 4, 18, tzinfo=dt.UTC))
    three_a_day(teammate, org, dt.datetime(2026, 3, 5, 18, tzinfo=dt.UTC))
    assert pick_verification_samples.delay().get() == 4
    before = sampled_weeks()

    assert pick_verification_samples.delay().get() == 0
    assert sampled_weeks() == before
