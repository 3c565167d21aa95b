"""Reads for activities: expectations in force (SPEC §3 "applicable expectations"), a
producer's week progress, and what each role of the cast sees (SPEC §1)."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser

from activities.models import Category, Status
from activities.selectors import (
    activities_visible_to,
    activity_types_visible_to,
    expectations_in_force,
    expectations_visible_to,
    verification_queue,
    week_progress,
)

from .factories import ActivityFactory, ActivityTypeFactory, ExpectationFactory

pytestmark = pytest.mark.django_db

WEEK = dt.date(2026, 3, 9)
ONE_WEEK = dt.timedelta(weeks=1)
WEDNESDAY = dt.datetime(2026, 3, 11, 17, 0, tzinfo=dt.UTC)  # 12:00 CDT in WEEK


@pytest.fixture
def social(org):
    return ActivityTypeFactory(organization=org, name="Social post", category=Category.SOCIAL)


@pytest.fixture
def crm(org):
    return ActivityTypeFactory(organization=org, name="CRM entry", category=Category.CRM)


def targets(org, team=None, week=WEEK) -> dict:
    in_force = expectations_in_force(organization=org, week_start=week, team_id=team.pk if team else None)
    return {type_id: expectation.target for type_id, expectation in in_force.items()}


# --- expectations_in_force -------------------------------------------------------------


def test_organization_wide_expectations_apply_to_every_team(org, team, other_team, social):
    ExpectationFactory(activity_type=social, target=3, effective_from=WEEK)
    assert targets(org, team) == targets(org, other_team) == {social.pk: 3}


def test_a_team_expectation_applies_only_to_that_team(org, team, other_team, social, crm):
    ExpectationFactory(activity_type=social, target=3, effective_from=WEEK)
    ExpectationFactory(activity_type=crm, target=5, team=team, effective_from=WEEK)
    assert targets(org, team) == {social.pk: 3, crm.pk: 5}
    assert targets(org, other_team) == {social.pk: 3}


@pytest.mark.parametrize(("organization_wide", "for_team", "expected"), [(3, 5, 5), (6, 2, 6), (4, 4, 4)])
def test_the_higher_target_wins(org, team, social, organization_wide, for_team, expected):
    ExpectationFactory(activity_type=social, target=organization_wide, effective_from=WEEK)
    ExpectationFactory(activity_type=social, target=for_team, team=team, effective_from=WEEK)
    assert targets(org, team) == {social.pk: expected}


def test_effective_from_is_inclusive_and_effective_to_exclusive(org, team, social):
    ExpectationFactory(activity_type=social, target=3, effective_from=WEEK, effective_to=WEEK + 2 * ONE_WEEK)
    assert targets(org, team, WEEK - ONE_WEEK) == {}
    assert targets(org, team, WEEK) == {social.pk: 3}
    assert targets(org, team, WEEK + ONE_WEEK) == {social.pk: 3}
    assert targets(org, team, WEEK + 2 * ONE_WEEK) == {}


def test_back_to_back_periods_give_one_target_per_week(org, team, social):
    ExpectationFactory(activity_type=social, target=3, effective_from=WEEK - 4 * ONE_WEEK, effective_to=WEEK)
    ExpectationFactory(activity_type=social, target=5, effective_from=WEEK)
    assert targets(org, team, WEEK - ONE_WEEK) == {social.pk: 3}
    assert targets(org, team, WEEK) == {social.pk: 5}


def test_another_organizations_expectations_never_apply(org, other_org, team, outsider_team):
    foreign = ActivityTypeFactory(organization=other_org)
    ExpectationFactory(activity_type=foreign, target=3, effective_from=WEEK)
    ExpectationFactory(activity_type=foreign, target=3, team=outsider_team, effective_from=WEEK)
    assert targets(org, team) == {}
    assert targets(org) == {}


# --- week_progress --------------------------------------------------------------------------


def test_week_progress_sums_quantities_and_leaves_out_rejected_ones(
    org, producer, social, crm, django_assert_num_queries
):
    ExpectationFactory(activity_type=social, target=3, effective_from=WEEK)
    ExpectationFactory(activity_type=crm, target=5, effective_from=WEEK)
    at = WEDNESDAY
    ActivityFactory(producer=producer, activity_type=crm, occurred_at=at, quantity=2)
    ActivityFactory(producer=producer, activity_type=crm, occurred_at=at, quantity=4, status=Status.VERIFIED)
    ActivityFactory(producer=producer, activity_type=crm, occurred_at=at, quantity=9, status=Status.REJECTED)
    ActivityFactory(producer=producer, activity_type=social, occurred_at=at, quantity=1)

    with django_assert_num_queries(2):  # the expectations in force (with their types), the sums
        rows = week_progress(membership=producer.membership, week_start=WEEK)

    assert [(p.activity_type, p.target, p.actual, p.to_go, p.met) for p in rows] == [
        (crm, 5, 6, 0, True),
        (social, 3, 1, 2, False),
    ]
    assert [p.percent for p in rows] == [100, 33]


def test_week_progress_counts_only_this_producer_and_week(org, producer, teammate, social):
    ExpectationFactory(activity_type=social, target=3, effective_from=WEEK - ONE_WEEK)
    ActivityFactory(producer=producer, activity_type=social, occurred_at=WEDNESDAY - ONE_WEEK, quantity=3)
    ActivityFactory(producer=teammate, activity_type=social, occurred_at=WEDNESDAY, quantity=3)
    [row] = week_progress(membership=producer.membership, week_start=WEEK)
    assert (row.actual, row.to_go, row.met) == (0, 3, False)


def test_week_progress_uses_the_producers_team_target(org, producer, team, social):
    ExpectationFactory(activity_type=social, target=3, effective_from=WEEK)
    ExpectationFactory(activity_type=social, target=5, team=team, effective_from=WEEK)
    ActivityFactory(producer=producer, activity_type=social, occurred_at=WEDNESDAY, quantity=4)
    [row] = week_progress(membership=producer.membership, week_start=WEEK)
    assert (row.target, row.to_go, row.met) == (5, 1, False)


def test_week_progress_lists_only_expected_types(org, producer, social, crm):
    ExpectationFactory(activity_type=social, target=3, effective_from=WEEK)
    ActivityFactory(producer=producer, activity_type=crm, occurred_at=WEDNESDAY, quantity=4)
    assert [p.activity_type for p in week_progress(membership=producer.membership, week_start=WEEK)] == [social]


# --- visibility -------------------------------------------------------------------------------


@pytest.fixture
def logged(producer, teammate, outsider, crm, other_org):
    """One activity each for producer (team Alpha), teammate (team Bravo) and the outsider."""
    return {
        "producer": ActivityFactory(producer=producer, activity_type=crm, occurred_at=WEDNESDAY),
        "teammate": ActivityFactory(producer=teammate, activity_type=crm, occurred_at=WEDNESDAY),
        "outsider": ActivityFactory(
            producer=outsider, activity_type=ActivityTypeFactory(organization=other_org), occurred_at=WEDNESDAY
        ),
    }


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [
        ("producer", {"producer"}),
        ("teammate", {"teammate"}),
        ("manager", {"producer"}),  # manages team Alpha only
        ("leader", {"producer", "teammate"}),
        ("outsider", {"outsider"}),
        ("outsider_leader", {"outsider"}),
    ],
)
def test_activities_visible_to_each_role(request, logged, viewer, sees):
    user = request.getfixturevalue(viewer)
    visible = set(activities_visible_to(user).values_list("pk", flat=True))
    assert visible == {logged[name].pk for name in sees}


def test_anonymous_sees_no_activities(logged):
    assert not activities_visible_to(AnonymousUser()).exists()
    assert not verification_queue(AnonymousUser()).exists()


def test_a_deactivated_leader_sees_nothing(logged, leader):
    leader.is_active = False
    leader.save()
    leader = type(leader).objects.get(pk=leader.pk)
    assert not activities_visible_to(leader).exists()


def test_types_and_expectations_are_scoped_to_the_organization(org, other_org, producer, outsider, social):
    foreign = ActivityTypeFactory(organization=other_org)
    ExpectationFactory(activity_type=social, effective_from=WEEK)
    ExpectationFactory(activity_type=foreign, effective_from=WEEK)
    assert list(activity_types_visible_to(producer)) == [social]
    assert [e.activity_type for e in expectations_visible_to(producer)] == [social]
    assert list(activity_types_visible_to(outsider)) == [foreign]
    assert not activity_types_visible_to(AnonymousUser()).exists()


@pytest.fixture
def queue_rows(producer, teammate, outsider, crm, other_org):
    def flagged(user, activity_type, hour, **fields):
        return ActivityFactory(
            producer=user,
            activity_type=activity_type,
            occurred_at=WEDNESDAY + dt.timedelta(hours=hour),
            needs_review=True,
            review_reason="sample",
            **fields,
        )

    foreign = ActivityTypeFactory(organization=other_org)
    return {
        "producer_late": flagged(producer, crm, 2),
        "producer_early": flagged(producer, crm, 1),
        "teammate": flagged(teammate, crm, 3),
        "outsider": flagged(outsider, foreign, 1),
        # not waiting for a decision:
        "decided": flagged(producer, crm, 4, status=Status.REJECTED),
        "verified": flagged(producer, crm, 5, status=Status.VERIFIED),
        "unflagged": ActivityFactory(producer=producer, activity_type=crm, occurred_at=WEDNESDAY),
    }


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("producer", []),  # producers never verify, not even see their own flags as a queue
        ("teammate", []),
        ("manager", ["producer_early", "producer_late"]),
        ("leader", ["producer_early", "producer_late", "teammate"]),
        ("outsider_leader", ["outsider"]),
    ],
)
def test_verification_queue_per_role_oldest_first(request, queue_rows, viewer, expected):
    user = request.getfixturevalue(viewer)
    assert list(verification_queue(user)) == [queue_rows[name] for name in expected]


def test_verification_queue_rows_need_no_further_queries(queue_rows, leader, django_assert_num_queries):
    with django_assert_num_queries(2):  # the leader's membership, then the queue with its joins
        rows = list(verification_queue(leader))
        assert {(r.activity_type.name, r.producer.name) for r in rows}
