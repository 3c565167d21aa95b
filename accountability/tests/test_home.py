"""`/` — each role's home, and the layout around it (navigation, notification bell)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accountability.models import Notification, Role
from accountability.tests.factories import TeamFactory, UserFactory, member

pytestmark = pytest.mark.django_db

HOME = "/"


def nav_of(response) -> str:
    """The main navigation bar of a rendered page."""
    html = response.content.decode()
    match = re.search(r'<nav[^>]*aria-label="Main navigation".*?</nav>', html, re.S)
    assert match, "page has no main navigation"
    return match.group(0)


def templates_of(response) -> list[str]:
    return [t.name for t in response.templates]


def notify(user, text, *, read=False):
    return Notification.objects.create(
        recipient=user,
        organization=user.membership.organization,
        kind="test",
        text=text,
        read_at="2026-01-01T00:00Z" if read else None,
    )


# --- each role's home --------------------------------------------------------------


def test_producer_sees_their_team_and_its_managers(login, producer, manager, teammate, outsider):
    response = login(producer).get(HOME)

    assert response.status_code == 200
    assert "accountability/home_producer.html" in templates_of(response)
    html = response.content.decode()
    assert '<strong data-testid="my-team">Alpha</strong>' in html
    assert re.search(r'data-testid="my-managers">\s*Max Manager\s*<', html)
    assert "Summit Test Agency" in html
    assert "Bravo" not in html  # another team of the organization
    assert "Tess Teammate" not in html
    assert "Northwind" not in html


def test_producer_without_a_manager_is_told_so(login, producer):
    html = login(producer).get(HOME).content.decode()
    assert "none assigned yet" in html


def test_manager_sees_only_the_teams_they_manage_with_their_producers(
    login, manager, producer, teammate, other_team, outsider
):
    response = login(manager).get(HOME)

    assert "accountability/home_manager.html" in templates_of(response)
    html = response.content.decode()
    assert [team.name for team in response.context["teams"]] == ["Alpha"]
    assert html.count('data-testid="team-card"') == 1
    assert "Alpha" in html and "Pat Producer" in html
    assert "Bravo" not in html and "Tess Teammate" not in html
    assert "Northwind" not in html and "Oscar Outsider" not in html


def test_manager_does_not_see_producers_who_have_left(login, manager, producer, team, org):
    gone = member(org, Role.PRODUCER, team=team, name="Gus Gone")
    gone.is_active = False
    gone.save()

    html = login(manager).get(HOME).content.decode()
    assert "Pat Producer" in html
    assert "Gus Gone" not in html
    assert "1 producer<" in html


def test_manager_of_no_team_is_told_how_to_get_one(login, org):
    lonely = member(org, Role.MANAGER, name="Lone Manager")
    html = login(lonely).get(HOME).content.decode()
    assert "You do not manage a team yet" in html


def test_leader_sees_every_team_of_the_organization_only(
    login, leader, manager, producer, teammate, other_team, outsider, outsider_team
):
    response = login(leader).get(HOME)

    assert "accountability/home_leader.html" in templates_of(response)
    html = response.content.decode()
    rows = re.findall(r'<tr data-testid="team-row">(.*?)</tr>', html, re.S)
    assert len(rows) == 2
    alpha, bravo = rows
    assert "Alpha" in alpha and "Max Manager" in alpha and ">1<" in alpha
    assert "Bravo" in bravo and "no manager" in bravo and ">1<" in bravo
    assert "Northwind Sales" not in html
    assert re.search(r"2 teams · 2 active producers", html)


# --- who gets in -------------------------------------------------------------------


def test_anonymous_is_sent_to_login_with_next(client):
    response = client.get(HOME)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next=/"


def test_user_without_membership_is_refused(login):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    response = login(superuser).get(HOME)
    assert response.status_code == 403


def test_deactivated_user_is_logged_out_and_sent_to_login(login, producer):
    client = login(producer)
    producer.is_active = False
    producer.save(update_fields=["is_active"])

    response = client.get(HOME)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_post_is_not_allowed(login, producer):
    assert login(producer).post(HOME).status_code == 405


# --- layout -------------------------------------------------------------------------


@pytest.mark.parametrize("role_fixture", ["producer", "manager"])
def test_settings_menu_is_only_for_leaders(request, login, role_fixture):
    user = request.getfixturevalue(role_fixture)
    nav = nav_of(login(user).get(reverse("notifications")))
    assert "Settings" not in nav
    assert reverse("settings:organization") not in nav


def test_leader_nav_has_the_settings_menu(login, leader):
    # on a page that has no settings links of its own, so this is the layout's menu
    nav = nav_of(login(leader).get(reverse("notifications")))
    assert "Settings" in nav
    for name in ("settings:organization", "settings:teams", "settings:users"):
        assert reverse(name) in nav


def test_bell_shows_the_callers_unread_count(login, producer, teammate):
    for i in range(3):
        notify(producer, f"unread {i}")
    notify(producer, "already read", read=True)
    notify(teammate, "someone else's")
    notify(teammate, "someone else's too")

    nav = nav_of(login(producer).get(HOME))
    assert re.search(r'data-testid="unread-count">3<', nav)


def test_bell_has_no_badge_without_unread_notifications(login, producer):
    notify(producer, "old news", read=True)
    nav = nav_of(login(producer).get(HOME))
    assert 'data-testid="unread-count"' not in nav
    assert reverse("notifications") in nav


# --- query budget ------------------------------------------------------------------


def _home_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(HOME)
    assert response.status_code == 200
    return len(captured)


def _add_teams(org, count):
    for _ in range(count):
        team = TeamFactory(organization=org)
        member(org, Role.MANAGER, manages=[team])
        for _ in range(2):
            member(org, Role.PRODUCER, team=team)


def test_leader_home_query_count_does_not_grow_with_teams(login, leader, org, django_assert_max_num_queries):
    client = login(leader)
    _add_teams(org, 3)
    client.get(HOME)  # warm up: the first request of a session creates it
    few = _home_queries(client)

    _add_teams(org, 27)
    # per request: session, user, two-factor device check, membership, session save
    # (savepoint, update, release); the page: teams with producer counts, their managers,
    # their producers, the bell's unread count — 11
    with django_assert_max_num_queries(11):
        response = client.get(HOME)
    assert response.content.decode().count('data-testid="team-row"') == 30
    assert _home_queries(client) == few


def test_manager_home_query_count_does_not_grow_with_team_size(login, manager, team, org):
    client = login(manager)
    client.get(HOME)
    few = _home_queries(client)

    for _ in range(20):
        member(org, Role.PRODUCER, team=team)
    assert _home_queries(client) == few
