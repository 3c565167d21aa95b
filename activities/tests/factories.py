import datetime as dt

import factory
from django.utils import timezone

from accountability.tests.factories import OrganizationFactory
from accountability.weeks import week_start_for
from activities.models import Activity, ActivityType, Category, Expectation, Source, Status


class ActivityTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActivityType

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Activity type {n}")
    category = Category.SOCIAL
    points = 1


class ExpectationFactory(factory.django.DjangoModelFactory):
    """An organization-wide target effective from long ago (override effective_from/to)."""

    class Meta:
        model = Expectation

    organization = factory.LazyAttribute(lambda e: e.activity_type.organization)
    activity_type = factory.SubFactory(ActivityTypeFactory)
    target = 3
    team = None
    effective_from = factory.LazyAttribute(
        lambda e: week_start_for(timezone.now() - dt.timedelta(days=400), e.activity_type.organization)
    )


class ActivityFactory(factory.django.DjangoModelFactory):
    """An activity written directly (no service rules); `week_start` follows `occurred_at`."""

    class Meta:
        model = Activity

    producer = None  # required: pass a producer user
    organization = factory.LazyAttribute(lambda a: a.producer.membership.organization)
    activity_type = factory.LazyAttribute(lambda a: ActivityTypeFactory(organization=a.organization))
    occurred_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=30))
    week_start = factory.LazyAttribute(lambda a: week_start_for(a.occurred_at, a.organization))
    quantity = 1
    source = Source.WEB
    status = Status.LOGGED
    note = factory.Sequence(lambda n: f"note {n}")
