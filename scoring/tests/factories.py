"""Factories and small builders for scoring tests: producers with explicit membership
dates, activities at a local time, exemptions."""

import datetime as dt

import factory

from accountability.models import Role
from accountability.tests.factories import MembershipFactory, OrganizationFactory, TeamFactory, UserFactory
from activities.models import Status
from activities.tests.factories import ActivityFactory
from scoring.models import ExemptionRequest


class ExemptionRequestFactory(factory.django.DjangoModelFactory):
    """An approved exemption for every expectation of one week (override as needed)."""

    class Meta:
        model = ExemptionRequest

    producer = None  # required
    organization = factory.LazyAttribute(lambda e: e.producer.membership.organization)
    week_from = dt.date(2026, 3, 2)
    week_to = factory.LazyAttribute(lambda e: e.week_from)
    expectation = None
    reason = ExemptionRequest.Reason.PTO
    status = ExemptionRequest.Status.APPROVED
    decided_at = factory.LazyFunction(lambda: dt.datetime(2026, 3, 1, tzinfo=dt.UTC))


def org_make(**fields):
    """An organization without ramp weeks (tests that need them say so)."""
    fields.setdefault("timezone", "America/Chicago")
    fields.setdefault("ramp_weeks", 0)
    return OrganizationFactory(**fields)


def producer_make(organization, *, team=None, active_from=dt.date(2025, 1, 1), active_to=None, name=None):
    team = team or TeamFactory(organization=organization)
    user = UserFactory(**({"name": name} if name else {}))
    MembershipFactory(
        user=user,
        organization=organization,
        role=Role.PRODUCER,
        team=team,
        active_from=active_from,
        active_to=active_to,
    )
    return user


def activity_at(producer, activity_type, day: dt.date, *, quantity=1, status=Status.LOGGED, at=dt.time(12)):
    """An activity at local time `at` on local date `day` in the producer's organization."""
    organization = producer.membership.organization
    occurred_at = dt.datetime.combine(day, at, tzinfo=organization.tzinfo).astimezone(dt.UTC)
    return ActivityFactory(
        producer=producer, activity_type=activity_type, occurred_at=occurred_at, quantity=quantity, status=status
    )
