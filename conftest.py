"""The cast every test can use (STYLE.md):

org / other_org, a leader, a manager of `team`, a producer on `team`, a teammate on
`other_team` (same organization, another team), and an outsider — a producer of
`other_org` — plus `outsider_leader` and `outsider_team` for cross-organization checks.
"""

import os

import pytest
from hypothesis import settings as hypothesis_settings

from accountability.models import Role
from accountability.tests.factories import PASSWORD, OrganizationFactory, TeamFactory, member

# In CI, property tests draw the same examples every run: a red build is then reproducible
# and never depends on luck. Locally they keep exploring new examples.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Summit Test Agency", slug="summit-test", timezone="America/Chicago")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Northwind Test", slug="northwind-test", timezone="Europe/London")


@pytest.fixture
def team(org):
    return TeamFactory(organization=org, name="Alpha")


@pytest.fixture
def other_team(org):
    return TeamFactory(organization=org, name="Bravo")


@pytest.fixture
def outsider_team(other_org):
    return TeamFactory(organization=other_org, name="Northwind Sales")


@pytest.fixture
def leader(org):
    return member(org, Role.LEADER, email="leader@test.example", name="Lena Leader")


@pytest.fixture
def manager(org, team):
    return member(org, Role.MANAGER, manages=[team], email="manager@test.example", name="Max Manager")


@pytest.fixture
def producer(org, team):
    return member(org, Role.PRODUCER, team=team, email="producer@test.example", name="Pat Producer")


@pytest.fixture
def teammate(org, other_team):
    """A producer in the same organization but on another team (not managed by `manager`)."""
    return member(org, Role.PRODUCER, team=other_team, email="teammate@test.example", name="Tess Teammate")


@pytest.fixture
def outsider(other_org, outsider_team):
    return member(other_org, Role.PRODUCER, team=outsider_team, email="outsider@test.example", name="Oscar Outsider")


@pytest.fixture
def outsider_leader(other_org):
    return member(other_org, Role.LEADER, email="outsider-leader@test.example", name="Olga Outsider")


@pytest.fixture
def login(client):
    """Log a user in on the test client and return the client."""

    def _login(user):
        client.force_login(user)
        return client

    return _login
