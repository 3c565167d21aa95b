"""The weekly random verification sample (SPEC §2 anti-gaming): `verification_sample_pick`."""

import datetime as dt
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accountability.models import Role
from accountability.tests.factories import member
from activities.models import Activity, ReviewReason, Status
from activities.services.review import verification_sample_pick

from .factories import ActivityFactory, ActivityTypeFactory

pytestmark = pytest.mark.django_db

WEEK = dt.date(2026, 3, 9)
CHICAGO_NOON = dt.datetime(2026, 3, 11, 17, 0, tzinfo=dt.UTC)  # Wednesday of WEEK, 12:00 CDT


@pytest.fixture
def crm(org):
    return ActivityTypeFactory(organization=org, name="CRM entry")


def add(producer, activity_type, count, *, week=WEEK, **fields):
    """`count` activities of the producer on the Wednesday of `week`, a minute apart."""
    noon = CHICAGO_NOON + (week - WEEK)
    return [
        ActivityFactory(
            producer=producer, activity_type=activity_type, occurred_at=noon + dt.timedelta(minutes=i), **fields
        )
        for i in range(count)
    ]


def sampled(producer=None):
    queryset = Activity.objects.filter(needs_review=True, review_reason=ReviewReason.SAMPLE)
    return queryset.filter(producer=producer) if producer else queryset


def pick(org, **kwargs):
    return verification_sample_pick(organization=org, week_start=WEEK, rng=random.Random(7), **kwargs)


def test_picks_the_sample_size_per_producer_or_all_there_are(org, producer, teammate, crm):
    add(producer, crm, 5)
    add(teammate, crm, 1)

    assert pick(org) == 3
    assert sampled(producer).count() == 2  # the organization's default sample size
    assert sampled(teammate).count() == 1


def test_sample_size_comes_from_the_organization(org, producer, crm):
    org.verification_sample_size = 4
    org.save()
    add(producer, crm, 6)
    assert pick(org) == 4
    assert sampled(producer).count() == 4


def test_sample_size_zero_picks_nothing(org, producer, crm):
    org.verification_sample_size = 0
    org.save()
    add(producer, crm, 5)
    assert pick(org) == 0
    assert not Activity.objects.filter(needs_review=True).exists()


def test_second_run_picks_nothing(org, producer, teammate, crm):
    add(producer, crm, 5)
    add(teammate, crm, 3)
    pick(org)
    first = set(sampled().values_list("pk", flat=True))

    assert verification_sample_pick(organization=org, week_start=WEEK, rng=random.Random(99)) == 0
    assert set(sampled().values_list("pk", flat=True)) == first


def test_a_verified_sample_still_counts_as_sampled(org, producer, manager, crm):
    add(producer, crm, 5)
    pick(org)
    Activity.objects.filter(review_reason=ReviewReason.SAMPLE).update(needs_review=False, status=Status.VERIFIED)
    assert pick(org) == 0


def test_skips_rejected_verified_and_already_flagged_activities(org, producer, crm):
    rejected = add(producer, crm, 2, status=Status.REJECTED)
    verified = add(producer, crm, 2, status=Status.VERIFIED)
    late = ActivityFactory(
        producer=producer,
        activity_type=crm,
        occurred_at=CHICAGO_NOON + dt.timedelta(hours=2),
        needs_review=True,
        review_reason=ReviewReason.LATE,
    )
    plain = ActivityFactory(producer=producer, activity_type=crm, occurred_at=CHICAGO_NOON + dt.timedelta(hours=3))

    assert pick(org) == 1
    assert list(sampled().values_list("pk", flat=True)) == [plain.pk]
    late.refresh_from_db()
    assert late.review_reason == ReviewReason.LATE  # not overwritten
    assert not Activity.objects.filter(pk__in=[a.pk for a in rejected + verified], needs_review=True).exists()


def test_only_the_given_week_and_organization(org, producer, outsider, crm, other_org):
    add(producer, crm, 3, week=WEEK - dt.timedelta(weeks=1))
    add(producer, crm, 3, week=WEEK + dt.timedelta(weeks=1))
    add(outsider, ActivityTypeFactory(organization=other_org), 3)

    assert pick(org) == 0
    assert not Activity.objects.filter(needs_review=True).exists()


def test_the_pick_is_random(org, producer, crm):
    add(producer, crm, 20)
    picks = set()
    for seed in range(8):
        Activity.objects.update(needs_review=False, review_reason="")
        verification_sample_pick(organization=org, week_start=WEEK, rng=random.Random(seed))
        picks.add(frozenset(sampled().values_list("pk", flat=True)))
    assert len(picks) > 1


def _queries_for(org, crm, producers: int) -> int:
    for i in range(producers):
        user = member(org, Role.PRODUCER, team=org.teams.first(), email=f"p{producers}-{i}@test.example")
        add(user, crm, 3)
    with CaptureQueriesContext(connection) as queries:
        picked = pick(org)
    assert picked == 2 * producers
    Activity.objects.all().delete()
    return len(queries)


def test_query_count_does_not_grow_with_producers(org, team, crm):
    # the producers already sampled, the candidates, one UPDATE, and the SAVEPOINT / RELEASE
    # of the atomic block inside the test's transaction
    few, many = _queries_for(org, crm, 2), _queries_for(org, crm, 12)
    assert few == many <= 5, (few, many)
