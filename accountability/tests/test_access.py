"""The access helpers (SPEC §1): who sees which members, teams and private rows; 404 outside
visibility, 403 for a visible object the role may not change; refused access is logged."""

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from accountability.access import (
    can_act_on_producer,
    get_member_for_user,
    get_producer_for_user,
    get_team_for_user,
    leader_required,
    member_required,
    members_visible_to,
    membership_of,
    organization_of,
    private_rows_visible_to,
    role_of,
    role_required,
    scoped_to_organization,
    staff_required,
    teams_visible_to,
)
from accountability.models import Membership, Role, Team, User

from .factories import UserFactory, member

CAST = ["leader", "manager", "producer", "teammate", "outsider", "outsider_leader"]
MALFORMED_IDS = ["abc", "", "1 OR 1=1", "1.5", None, [1], 10**30]


@pytest.fixture
def cast(request):
    """Every member of the cast, created, by fixture name."""
    return {name: request.getfixturevalue(name) for name in CAST}


@pytest.fixture
def superuser(db):
    """A Django superuser with no membership: /admin/ only, nothing in the product."""
    return User.objects.create_superuser("root@test.example", "root-pass-2026", name="Root")


def fresh(user):
    """The user re-read from the database (the access helpers cache per user object)."""
    return User.objects.get(pk=user.pk)


def emails(memberships):
    return {m.user.email for m in memberships}


def names(teams):
    return {t.name for t in teams}


# --- membership_of ---------------------------------------------------------------------


def test_membership_role_and_organization_of_the_cast(cast, org, other_org):
    assert membership_of(cast["leader"]).organization == org
    assert role_of(cast["manager"]) == Role.MANAGER
    assert role_of(cast["producer"]) == Role.PRODUCER
    assert organization_of(cast["outsider"]) == other_org
    assert membership_of(AnonymousUser()) is None
    assert role_of(AnonymousUser()) is None


def test_a_deactivated_user_has_no_membership(producer, leader):
    producer.is_active = False
    producer.save(update_fields=["is_active"])
    producer = fresh(producer)

    assert Membership.objects.filter(user=producer).exists()  # history stays…
    assert membership_of(producer) is None  # …but it grants nothing
    assert not members_visible_to(producer).exists()
    assert not teams_visible_to(producer).exists()
    assert not can_act_on_producer(fresh(leader), producer)


def test_a_superuser_without_membership_sees_nothing(superuser, cast):
    assert membership_of(superuser) is None
    assert not members_visible_to(superuser).exists()
    assert not teams_visible_to(superuser).exists()
    assert not scoped_to_organization(Team.objects.all(), superuser).exists()
    assert not private_rows_visible_to(Membership.objects.all(), superuser, field="user").exists()


# --- visibility querysets --------------------------------------------------------------

ORG_MEMBERS = {"leader@test.example", "manager@test.example", "producer@test.example", "teammate@test.example"}
OTHER_ORG_MEMBERS = {"outsider@test.example", "outsider-leader@test.example"}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("leader", ORG_MEMBERS),
        ("manager", {"manager@test.example", "producer@test.example"}),
        ("producer", {"producer@test.example"}),
        ("teammate", {"teammate@test.example"}),
        ("outsider", {"outsider@test.example"}),
        ("outsider_leader", OTHER_ORG_MEMBERS),
    ],
)
def test_members_visible_to(cast, who, expected):
    assert emails(members_visible_to(cast[who])) == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("leader", {"Alpha", "Bravo"}),
        ("manager", {"Alpha"}),
        ("producer", {"Alpha"}),
        ("teammate", {"Bravo"}),
        ("outsider", {"Northwind Sales"}),
        ("outsider_leader", {"Northwind Sales"}),
    ],
)
def test_teams_visible_to(cast, who, expected):
    assert names(teams_visible_to(cast[who])) == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        # Leaders: every row about someone of their organization.
        ("leader", ORG_MEMBERS),
        # Managers: rows about the producers of the teams they manage — not their own.
        ("manager", {"producer@test.example"}),
        ("producer", {"producer@test.example"}),
        ("teammate", {"teammate@test.example"}),
        ("outsider", {"outsider@test.example"}),
        ("outsider_leader", OTHER_ORG_MEMBERS),
    ],
)
def test_private_rows_visible_to(cast, who, expected):
    rows = private_rows_visible_to(Membership.objects.all(), cast[who], field="user")
    assert emails(rows) == expected


def test_private_rows_of_anonymous_are_empty(cast):
    assert not private_rows_visible_to(Membership.objects.all(), AnonymousUser(), field="user").exists()


def test_a_manager_of_two_teams_sees_both(cast, other_team):
    other_team.managers.add(cast["manager"])
    manager = fresh(cast["manager"])
    assert names(teams_visible_to(manager)) == {"Alpha", "Bravo"}
    assert emails(members_visible_to(manager)) == {
        "manager@test.example",
        "producer@test.example",
        "teammate@test.example",
    }
    assert can_act_on_producer(manager, cast["teammate"])


def test_scoped_to_organization(cast):
    assert names(scoped_to_organization(Team.objects.all(), cast["producer"])) == {"Alpha", "Bravo"}
    assert names(scoped_to_organization(Team.objects.all(), cast["outsider"])) == {"Northwind Sales"}


# --- single objects ----------------------------------------------------------------


def test_get_member_for_user(cast):
    leader, manager, producer = cast["leader"], cast["manager"], cast["producer"]
    mine = producer.membership.pk

    assert get_member_for_user(leader, mine, write=True).user == producer
    assert get_member_for_user(manager, mine).user == producer
    assert get_member_for_user(producer, mine).user == producer
    assert get_member_for_user(producer, str(mine)).user == producer  # ids arrive as URL strings


@pytest.mark.parametrize(
    ("who", "target", "write", "refusal"),
    [
        ("leader", "outsider", False, Http404),
        ("leader", "outsider", True, Http404),  # outside visibility is 404 even for a write
        ("outsider_leader", "producer", True, Http404),
        ("manager", "teammate", False, Http404),
        ("manager", "leader", False, Http404),
        ("producer", "teammate", False, Http404),
        ("producer", "manager", False, Http404),
        ("manager", "producer", True, PermissionDenied),
        ("producer", "producer", True, PermissionDenied),
    ],
)
def test_get_member_for_user_refuses(cast, who, target, write, refusal):
    with pytest.raises(refusal):
        get_member_for_user(cast[who], cast[target].membership.pk, write=write)


@pytest.mark.parametrize("malformed", MALFORMED_IDS)
def test_malformed_ids_are_404(cast, team, malformed):
    for helper in (get_member_for_user, get_team_for_user, get_producer_for_user):
        with pytest.raises(Http404):
            helper(cast["leader"], malformed)


def test_unknown_id_is_404(cast):
    unknown = Membership.objects.order_by("-pk").first().pk + 1000
    with pytest.raises(Http404):
        get_member_for_user(cast["leader"], unknown)


def test_get_team_for_user(cast, team, other_team, outsider_team):
    leader, manager, producer = cast["leader"], cast["manager"], cast["producer"]

    assert get_team_for_user(leader, other_team.pk, write=True) == other_team
    assert get_team_for_user(manager, team.pk) == team
    assert get_team_for_user(producer, team.pk) == team
    with pytest.raises(PermissionDenied):
        get_team_for_user(manager, team.pk, write=True)
    with pytest.raises(PermissionDenied):
        get_team_for_user(producer, team.pk, write=True)
    for who, pk in ((manager, other_team.pk), (producer, other_team.pk), (leader, outsider_team.pk)):
        with pytest.raises(Http404):
            get_team_for_user(who, pk, write=True)


def test_get_producer_for_user_takes_the_producers_user_id(org, team, leader):
    """A producer is addressed by their user id (the `producer` of every row about them),
    not by their membership's id."""
    UserFactory()  # a user without membership: user ids and membership ids now differ
    newcomer = member(org, Role.PRODUCER, team=team, email="newcomer@test.example")
    assert newcomer.pk != newcomer.membership.pk

    assert get_producer_for_user(leader, newcomer.pk) == newcomer
    assert get_producer_for_user(leader, str(newcomer.pk), write=True) == newcomer


def test_get_producer_for_user(cast):
    leader, manager, producer, teammate = (cast[n] for n in ("leader", "manager", "producer", "teammate"))

    assert get_producer_for_user(leader, teammate.pk, write=True) == teammate
    assert get_producer_for_user(manager, producer.pk, write=True) == producer
    assert get_producer_for_user(producer, producer.pk) == producer
    with pytest.raises(PermissionDenied):
        get_producer_for_user(producer, producer.pk, write=True)  # producers see, never act on, themselves


@pytest.mark.parametrize(
    ("who", "target"),
    [
        ("manager", "teammate"),  # another team's producer
        ("producer", "teammate"),
        ("teammate", "producer"),
        ("outsider_leader", "producer"),
        ("leader", "outsider"),
        ("leader", "manager"),  # not a producer
        ("manager", "manager"),
    ],
)
@pytest.mark.parametrize("write", [False, True])
def test_get_producer_for_user_is_404_outside_visibility(cast, who, target, write):
    with pytest.raises(Http404):
        get_producer_for_user(cast[who], cast[target].pk, write=write)


@pytest.mark.parametrize(
    ("who", "target", "allowed"),
    [
        ("leader", "producer", True),
        ("leader", "teammate", True),
        ("manager", "producer", True),
        ("manager", "teammate", False),
        ("producer", "producer", False),
        ("producer", "teammate", False),
        ("teammate", "producer", False),
        ("outsider_leader", "producer", False),
        ("outsider_leader", "outsider", True),
        ("leader", "outsider", False),
        ("outsider", "outsider", False),
    ],
)
def test_can_act_on_producer(cast, who, target, allowed):
    assert can_act_on_producer(cast[who], cast[target]) is allowed


def test_nobody_acts_on_a_deactivated_producer(cast):
    producer = cast["producer"]
    producer.is_active = False
    producer.save(update_fields=["is_active"])
    assert not can_act_on_producer(fresh(cast["leader"]), fresh(producer))
    assert not can_act_on_producer(fresh(cast["manager"]), fresh(producer))


# --- role_required ----------------------------------------------------------------


def _view(request):
    return HttpResponse(request.membership.role)


def _request(user, path="/reports/?week=1"):
    request = RequestFactory().get(path)
    request.user = user
    return request


def test_role_required_sends_anonymous_to_login():
    response = leader_required(_view)(_request(AnonymousUser()))
    assert response.status_code == 302
    location = urlsplit(response.url)
    assert location.path == reverse("login")
    assert parse_qs(location.query)["next"] == ["/reports/?week=1"]


def test_role_required_refuses_a_user_without_membership(superuser):
    with pytest.raises(PermissionDenied):
        member_required(_view)(_request(superuser))


@pytest.mark.parametrize(
    ("decorator", "who", "allowed"),
    [
        (leader_required, "leader", True),
        (leader_required, "manager", False),
        (leader_required, "producer", False),
        (staff_required, "manager", True),
        (staff_required, "leader", True),
        (staff_required, "producer", False),
        (member_required, "producer", True),
        (role_required(Role.PRODUCER), "leader", False),
    ],
)
def test_role_required_by_role(cast, decorator, who, allowed):
    request = _request(cast[who])
    if allowed:
        response = decorator(_view)(request)
        assert response.content.decode() == role_of(cast[who])
        assert request.membership.user == cast[who]
    else:
        with pytest.raises(PermissionDenied):
            decorator(_view)(request)


def test_role_required_pages_answer_403_and_login_redirect(client, superuser, producer):
    url = reverse("notifications")
    response = client.get(url)
    assert response.status_code == 302
    assert urlsplit(response.url).path == reverse("login")

    client.force_login(superuser)
    assert client.get(url).status_code == 403


# --- refused access is logged -------------------------------------------------------


def test_refused_access_is_logged(cast, caplog):
    manager, teammate, producer = cast["manager"], cast["teammate"], cast["producer"]
    with caplog.at_level(logging.WARNING, logger="accountability.security"):
        with pytest.raises(Http404):
            get_producer_for_user(manager, teammate.pk)
        with pytest.raises(PermissionDenied):
            get_member_for_user(producer, producer.membership.pk, write=True)

    refusals = [r for r in caplog.records if r.name == "accountability.security"]
    assert len(refusals) == 2
    assert all(r.levelno == logging.WARNING for r in refusals)
    assert "status=404" in refusals[0].getMessage()
    assert f"user={manager.pk}" in refusals[0].getMessage()
    assert "status=403" in refusals[1].getMessage()
    assert f"user={producer.pk}" in refusals[1].getMessage()


def test_allowed_access_is_not_logged(cast, caplog):
    with caplog.at_level(logging.WARNING, logger="accountability.security"):
        get_producer_for_user(cast["leader"], cast["producer"].pk, write=True)
    assert not [r for r in caplog.records if r.name == "accountability.security"]
