"""Factories for the scoreboard tests: weekly scores, badges and their awards, TV links,
and the private rows (flags, exemptions) the board must never show."""

import factory
from django.utils import timezone

from accountability.tokens import token_hash
from scoring.models import Badge, BadgeAward, ExemptionRequest, Flag, TvLink, WeeklyScore


def _organization(row):
    return row.producer.membership.organization


class WeeklyScoreFactory(factory.django.DjangoModelFactory):
    """A score row written directly; pass `producer` and `week_start`."""

    class Meta:
        model = WeeklyScore

    producer = None
    organization = factory.LazyAttribute(_organization)
    team = factory.LazyAttribute(lambda s: s.producer.membership.team)
    points = 10
    completion = 100
    expectations_met = 1
    expectations_total = 1
    met_all = True
    streak = 1
    is_final = True


class BadgeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Badge
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"badge-{n}")
    name = factory.Sequence(lambda n: f"Badge {n}")
    description = "A test badge."
    icon = "award"


class BadgeAwardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BadgeAward

    producer = None
    organization = factory.LazyAttribute(_organization)
    badge = factory.SubFactory(BadgeFactory)


class FlagFactory(factory.django.DjangoModelFactory):
    """An open missed-expectation flag; pass `producer`, `week_start` and `expectation`."""

    class Meta:
        model = Flag

    producer = None
    organization = factory.LazyAttribute(_organization)
    actual = 1
    target = 3


class ExemptionRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExemptionRequest

    producer = None
    organization = factory.LazyAttribute(_organization)
    reason = ExemptionRequest.Reason.SICK
    note = "Dentist appointment"
    status = ExemptionRequest.Status.APPROVED
    decided_at = factory.LazyFunction(timezone.now)


class TvLinkFactory(factory.django.DjangoModelFactory):
    """A TV link whose raw token is `token` (not a model field)."""

    class Meta:
        model = TvLink
        exclude = ("token",)

    organization = None
    name = factory.Sequence(lambda n: f"Screen {n}")
    token = factory.Sequence(lambda n: f"test-token-{n:04d}-abcdefghijklmnopqrstuvwxyz")
    token_hash = factory.LazyAttribute(lambda link: token_hash(link.token))
