import datetime as dt

import factory
from django.utils import timezone

from accountability.models import Membership, Organization, Role, Team, User

PASSWORD = "correct-horse-battery-9"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Agency {n}")
    slug = factory.Sequence(lambda n: f"agency-{n}")
    timezone = "America/Chicago"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    """A user with a membership. `role="producer"` gets a team of the organization."""

    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.PRODUCER
    team = factory.LazyAttribute(
        lambda m: TeamFactory(organization=m.organization) if m.role == Role.PRODUCER else None
    )
    active_from = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=365))


def member(organization, role, *, team=None, manages=(), **user_kwargs) -> User:
    """A user with a membership in `organization` (the cast's building block)."""
    user = UserFactory(**user_kwargs)
    MembershipFactory(user=user, organization=organization, role=role, team=team if role == Role.PRODUCER else None)
    for managed in manages:
        managed.managers.add(user)
    return user
