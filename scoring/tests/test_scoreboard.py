"""Scoreboard page, TV mode and TV links (SPEC §5 Scoreboard, §1 "praise in public").

Time is frozen on Wednesday 2026-11-18 in America/Chicago (weeks start on Monday): the
open week starts 2026-11-16, the last final week is 2026-11-09, and "this month" is the
weeks starting 11-02, 11-09, 11-16 (the week of 10-26 started in October)."""

import datetime as dt
import hashlib
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accountability.models import AuditEvent, Organization, Role
from accountability.tests.factories import member
from activities.tests.factories import ExpectationFactory
from scoring.models import TvLink

from .factories_board import (
    BadgeAwardFactory,
    BadgeFactory,
    ExemptionRequestFactory,
    FlagFactory,
    TvLinkFactory,
    WeeklyScoreFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 18, 18, 0, tzinfo=dt.UTC)
THIS_WEEK = dt.date(2026, 11, 16)
LAST_WEEK = dt.date(2026, 11, 9)
TWO_AGO = dt.date(2026, 11, 2)
OCTOBER_WEEK = dt.date(2026, 10, 26)

BOARD_URL = "/scoring/scoreboard/"
TV_URL = "/scoring/scoreboard/tv/"
LINKS_URL = "/scoring/scoreboard/tv/links/"
CREATE_URL = "/scoring/scoreboard/tv/links/new/"
Visibility = Organization.ScoreboardVisibility


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def score(producer, week=THIS_WEEK, **fields):
    fields.setdefault("is_final", week != THIS_WEEK)
    return WeeklyScoreFactory(producer=producer, week_start=week, **fields)


def set_visibility(org, visibility, top_n=None):
    Organization.objects.filter(pk=org.pk).update(scoreboard_visibility=visibility, scoreboard_top_n=top_n)


def board_names(response) -> list[str]:
    """The names in the board's rows, in order (the name cell is the second cell)."""
    assert response.status_code == 200, response.content
    html = response.content.decode()
    rows = re.findall(r'data-testid="board-row">\s*<td[^>]*>[^<]*</td>\s*<td>([^<]*)<', html)
    return [name.strip() for name in rows]


def main(response) -> str:
    """The page's own content, without the navigation (which links to every area)."""
    assert response.status_code == 200, response.content
    return response.content.decode().split('id="main"', 1)[1].split("</main>", 1)[0].lower()


@pytest.fixture
def board(producer, teammate):
    """This week: teammate 30 points (rank 1), producer 20 (rank 2)."""
    score(teammate, points=30, completion=100, streak=5)
    score(producer, points=20, completion="66.7", streak=0, met_all=False)


# --- the page ---------------------------------------------------------------------------


def test_named_board_ranks_by_points_with_completion_and_streak(login, producer, board):
    response = login(producer).get(BOARD_URL)
    assert board_names(response) == ["Tess Teammate", "Pat Producer"]
    html = response.content.decode()
    assert "66.7%" in html and "100.0%" in html
    assert "provisional" in html
    assert 'class="table-primary"' in html  # yourself highlighted


def test_ties_share_a_rank(login, producer, teammate, team):
    third = member(producer.membership.organization, Role.PRODUCER, team=team, name="Zed Third")
    score(producer, points=20)
    score(teammate, points=20)
    score(third, points=5)
    html = login(producer).get(BOARD_URL).content.decode()
    ranks = re.findall(r'data-testid="board-row">\s*<td[^>]*>(\d+)</td>', html)
    assert ranks == ["1", "1", "3"]


def test_anonymous_board_names_only_yourself(login, org, producer, board):
    set_visibility(org, Visibility.ANONYMOUS)
    response = login(producer).get(BOARD_URL)
    assert board_names(response) == ["Producer #1", "Pat Producer"]
    assert "Tess" not in response.content.decode()


def test_anonymous_board_hides_everyone_from_a_leader(login, org, leader, board):
    set_visibility(org, Visibility.ANONYMOUS)
    assert board_names(login(leader).get(BOARD_URL)) == ["Producer #1", "Producer #2"]


def test_off_board_shows_nothing_and_tells_leaders_how_to_turn_it_on(login, org, producer, leader, board):
    set_visibility(org, Visibility.OFF)
    html = login(producer).get(BOARD_URL).content.decode()
    assert "turned off" in html
    assert "Tess" not in html and 'data-testid="board-row"' not in html
    assert "/settings/organization/" not in html
    leader_html = login(leader).get(BOARD_URL).content.decode()
    assert "turned off" in leader_html and "Settings → Organization" in leader_html


def test_top_n_shows_yourself_below_the_cut(login, org, team, producer, teammate):
    third = member(org, Role.PRODUCER, team=team, name="Zed Third")
    score(teammate, points=30)
    score(third, points=25)
    score(producer, points=5)
    set_visibility(org, Visibility.NAMED, top_n=1)
    response = login(producer).get(BOARD_URL)
    assert board_names(response) == ["Tess Teammate", "Pat Producer"]
    html = response.content.decode()
    assert "Zed Third" not in html
    assert "table-group-divider" in html
    assert re.search(r"table-primary[^>]*>\s*<td[^>]*>3</td>", html)  # own rank kept: 3rd
    # Inside the cut: no divider, no duplicate row.
    assert board_names(login(teammate).get(BOARD_URL)) == ["Tess Teammate"]


def test_top_n_with_anonymous_numbers_by_position(login, org, team, producer, teammate):
    third = member(org, Role.PRODUCER, team=team, name="Zed Third")
    score(teammate, points=30)
    score(third, points=25)
    score(producer, points=5)
    set_visibility(org, Visibility.ANONYMOUS, top_n=2)
    assert board_names(login(producer).get(BOARD_URL)) == ["Producer #1", "Producer #2", "Pat Producer"]


def test_nothing_private_on_the_page(login, org, producer, teammate, board):
    expectation = ExpectationFactory(activity_type__organization=org)
    flag = FlagFactory(producer=producer, week_start=LAST_WEEK, expectation=expectation)
    exemption = ExemptionRequestFactory(
        producer=teammate, week_from=THIS_WEEK, week_to=THIS_WEEK, note="Grandmother's surgery"
    )
    score(producer, LAST_WEEK, points=3, met_all=False, excused=False)
    score(teammate, LAST_WEEK, points=0, excused=True, completion=100)
    for user in (producer, teammate):
        for period in ("week", "last_week", "month"):
            html = main(login(user).get(BOARD_URL, {"period": period}))
            for word in ("grandmother", "surgery", "sick", "exempt", "excused", "flag", "missed", "escalat", "hold"):
                assert word not in html, (user, period, word)
            assert f"/flags/{flag.pk}" not in html and f"/exemptions/{exemption.pk}" not in html


def test_periods_this_week_last_week_and_month(login, producer, teammate):
    score(producer, THIS_WEEK, points=7, is_final=False)
    score(producer, LAST_WEEK, points=20)
    score(producer, TWO_AGO, points=5)
    score(producer, OCTOBER_WEEK, points=100)
    score(teammate, LAST_WEEK, points=25, streak=3)
    score(teammate, OCTOBER_WEEK, points=500)
    client = login(producer)

    def points(period):
        html = client.get(BOARD_URL, {"period": period}).content.decode()
        rows = re.findall(r'data-testid="board-row">.*?<td>([^<]*)<.*?<td class="text-end">(\d+)</td>', html, re.S)
        return {name.strip(): int(value) for name, value in rows}

    assert points("week") == {"Pat Producer": 7}  # the teammate has no provisional row yet
    assert points("last_week") == {"Tess Teammate": 25, "Pat Producer": 20}
    assert points("month") == {"Pat Producer": 7 + 20 + 5, "Tess Teammate": 25}


def test_last_week_is_the_latest_final_week(login, producer):
    score(producer, TWO_AGO, points=5)  # last week's close has not run yet
    response = login(producer).get(BOARD_URL, {"period": "last_week"})
    assert board_names(response) == ["Pat Producer"]
    assert "Nov 2, 2026" in response.content.decode()


def test_empty_week_says_when_scores_appear(login, producer):
    html = login(producer).get(BOARD_URL).content.decode()
    assert "scores appear after the first activity" in html
    assert "No week has been closed yet" in login(producer).get(BOARD_URL, {"period": "last_week"}).content.decode()


def test_only_active_producers_appear(login, org, team, producer, teammate):
    gone = member(org, Role.PRODUCER, team=team, name="Gone Producer")
    gone.membership.active_to = dt.date(2026, 11, 10)
    gone.membership.save()
    score(gone, points=99)
    score(producer, points=1)
    assert board_names(login(producer).get(BOARD_URL)) == ["Pat Producer"]


def test_team_filter(login, producer, teammate, other_team, board):
    assert board_names(login(producer).get(BOARD_URL, {"team": other_team.pk})) == ["Tess Teammate"]


def test_badges_shown_as_icons(login, producer, board):
    star = BadgeFactory(code="test-star", name="Top of the test", icon="star")
    BadgeAwardFactory(producer=producer, badge=star, week_start=LAST_WEEK)
    BadgeAwardFactory(producer=producer, badge=star, week_start=TWO_AGO)
    html = login(producer).get(BOARD_URL).content.decode()
    assert 'title="Top of the test ×2"' in html and "bi-star" in html


@pytest.mark.parametrize("team_id", ["outsider", "abc", "99999999"])
def test_team_of_another_organization_is_404(login, producer, outsider_team, board, team_id):
    team_id = outsider_team.pk if team_id == "outsider" else team_id
    assert login(producer).get(BOARD_URL, {"team": team_id}).status_code == 404


def test_outsider_never_sees_the_board(login, outsider, board):
    response = login(outsider).get(BOARD_URL)
    assert response.status_code == 200
    assert board_names(response) == [] and "Tess" not in response.content.decode()


def test_anonymous_is_sent_to_login(client, board):
    for url in (BOARD_URL, TV_URL, LINKS_URL):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_bad_period_is_400_and_post_is_405(login, producer):
    response = login(producer).get(BOARD_URL, {"period": "year"})
    assert response.status_code == 400 and "Unknown period" in response.content.decode()
    assert login(producer).post(BOARD_URL).status_code == 405


def _board_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured)


@pytest.mark.parametrize("period", ["week", "last_week", "month"])
def test_query_budget_does_not_depend_on_producers(login, org, team, producer, period):
    star = BadgeFactory(code="test-star")

    def add(n):
        for _ in range(n):
            someone = member(org, Role.PRODUCER, team=team)
            for week in (THIS_WEEK, LAST_WEEK, TWO_AGO):
                score(someone, week, points=3)
            BadgeAwardFactory(producer=someone, badge=star, week_start=LAST_WEEK)

    client = login(producer)
    add(3)
    small = _board_queries(client, BOARD_URL, {"period": period})
    add(27)
    large = _board_queries(client, BOARD_URL, {"period": period})
    # session, user, second factor, membership+organization, (latest final week), scores,
    # badges, teams, unread notifications, and the idle-expiry session save (3 with savepoint).
    assert small == large <= 12, (small, large)


# --- TV mode ------------------------------------------------------------------------------


def test_tv_mode_is_full_screen_and_polls(login, producer, board):
    response = login(producer).get(TV_URL)
    html = response.content.decode()
    assert 'hx-trigger="every 60s"' in html and f'hx-get="{TV_URL}"' in html
    assert "navbar" not in html and 'data-bs-theme="dark"' in html
    assert "Tess Teammate" in html and "Top streaks" in html


def test_tv_poll_returns_the_fragment_only(login, producer, board):
    response = login(producer).get(TV_URL, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and "Tess Teammate" in html


def test_tv_top_streaks(login, org, team, producer, teammate):
    third = member(org, Role.PRODUCER, team=team, name="Zed Third")
    score(producer, points=50, streak=1)
    score(teammate, points=10, streak=7)
    score(third, points=20, streak=0)
    html = login(producer).get(TV_URL).content.decode()
    streaks = html.split('data-testid="top-streaks"')[1]
    assert streaks.index("Tess Teammate") < streaks.index("Pat Producer")
    assert "Zed Third" not in streaks


def _create_link(client, name="Sales floor") -> str:
    response = client.post(CREATE_URL, {"name": name})
    assert response.status_code == 200, response.content
    return re.search(r'value="(http[^"]+)"[^>]*data-testid="tv-link-url"', response.content.decode()).group(1)


def test_leader_creates_a_link_shown_once_and_stored_hashed(login, leader, org, board):
    client = login(leader)
    url = _create_link(client)
    token = url.rstrip("/").rsplit("/", 1)[1]
    link = TvLink.objects.get()
    assert link.organization == org and link.created_by == leader and link.name == "Sales floor"
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in link.token_hash
    assert AuditEvent.objects.filter(action="tv_link.create", object_id=str(link.pk), actor=leader).exists()
    assert token not in client.get(LINKS_URL).content.decode()  # never shown again
    client.logout()
    public = client.get(url.split("testserver", 1)[1])
    assert public.status_code == 200 and "Tess Teammate" in public.content.decode()
    assert public["Referrer-Policy"] == "no-referrer"
    link.refresh_from_db()
    assert link.last_seen_at == timezone.now()


def test_revoked_and_unknown_tokens_are_404(client, login, leader, org, board):
    link = TvLinkFactory(organization=org, token="wall-token-abcdefghijklmnopqrstuvwxyz12")
    assert client.get(f"{TV_URL}wall-token-abcdefghijklmnopqrstuvwxyz12/").status_code == 200
    response = login(leader).post(f"{LINKS_URL}{link.pk}/revoke/")
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert AuditEvent.objects.filter(action="tv_link.revoke", object_id=str(link.pk)).count() == 1
    login(leader).post(f"{LINKS_URL}{link.pk}/revoke/")  # again: nothing more written
    assert AuditEvent.objects.filter(action="tv_link.revoke").count() == 1
    client.logout()
    assert client.get(f"{TV_URL}wall-token-abcdefghijklmnopqrstuvwxyz12/").status_code == 404
    assert client.get(f"{TV_URL}no-such-token/").status_code == 404


def test_public_tv_honours_visibility(client, org, board):
    TvLinkFactory(organization=org, token="wall-token-abcdefghijklmnopqrstuvwxyz12")
    url = f"{TV_URL}wall-token-abcdefghijklmnopqrstuvwxyz12/"
    set_visibility(org, Visibility.ANONYMOUS)
    html = client.get(url).content.decode()
    assert "Producer #1" in html and "Producer #2" in html and "Pat" not in html and "Tess" not in html
    set_visibility(org, Visibility.OFF)
    assert client.get(url).status_code == 404


def test_nothing_private_on_tv(client, login, org, producer, teammate, board):
    expectation = ExpectationFactory(activity_type__organization=org)
    FlagFactory(producer=producer, week_start=THIS_WEEK, expectation=expectation)
    ExemptionRequestFactory(producer=teammate, week_from=THIS_WEEK, week_to=THIS_WEEK, note="Grandmother's surgery")
    TvLinkFactory(organization=org, token="wall-token-abcdefghijklmnopqrstuvwxyz12")
    pages = [login(producer).get(TV_URL), client.get(f"{TV_URL}wall-token-abcdefghijklmnopqrstuvwxyz12/")]
    for response in pages:
        html = response.content.decode().lower()
        for word in ("grandmother", "sick", "exempt", "excused", "flag", "missed"):
            assert word not in html, word


def test_public_tv_of_one_organization_shows_only_it(client, org, other_org, board, outsider):
    WeeklyScoreFactory(producer=outsider, week_start=dt.date(2026, 11, 16), is_final=False, points=99)
    TvLinkFactory(organization=other_org, token="other-token-abcdefghijklmnopqrstuvwxyz1")
    html = client.get(f"{TV_URL}other-token-abcdefghijklmnopqrstuvwxyz1/").content.decode()
    assert "Oscar Outsider" in html and "Tess" not in html and "Pat" not in html


@pytest.mark.parametrize("who", ["producer", "manager"])
def test_only_leaders_manage_links(request, login, org, who):
    user = request.getfixturevalue(who)
    link = TvLinkFactory(organization=org)
    client = login(user)
    assert client.get(LINKS_URL).status_code == 403
    assert client.post(CREATE_URL, {"name": "Wall"}).status_code == 403
    assert client.post(f"{LINKS_URL}{link.pk}/revoke/").status_code == 403
    assert TvLink.objects.count() == 1 and TvLink.objects.get().revoked_at is None


def test_outsider_leader_cannot_see_or_revoke_a_link(login, org, outsider_leader):
    link = TvLinkFactory(organization=org, name="Secret wall")
    client = login(outsider_leader)
    assert "Secret wall" not in client.get(LINKS_URL).content.decode()
    assert client.post(f"{LINKS_URL}{link.pk}/revoke/").status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


def test_bad_link_input_is_400_and_writes_nothing(login, leader):
    client = login(leader)
    response = client.post(CREATE_URL, {"name": "   "})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    assert client.post(CREATE_URL, {"name": "x" * 81}).status_code == 400
    assert not TvLink.objects.exists() and not AuditEvent.objects.filter(action__startswith="tv_link").exists()
    assert client.get(CREATE_URL).status_code == 405
    assert client.get(f"{LINKS_URL}1/revoke/").status_code == 405


def test_public_tv_query_budget_does_not_depend_on_producers(client, org, team):
    TvLinkFactory(organization=org, token="wall-token-abcdefghijklmnopqrstuvwxyz12", last_seen_at=timezone.now())
    url = f"{TV_URL}wall-token-abcdefghijklmnopqrstuvwxyz12/"
    star = BadgeFactory(code="test-star")

    def add(n):
        for _ in range(n):
            someone = member(org, Role.PRODUCER, team=team)
            score(someone, points=3, streak=2)
            BadgeAwardFactory(producer=someone, badge=star, week_start=LAST_WEEK)

    add(3)
    small = _board_queries(client, url)
    add(27)
    large = _board_queries(client, url)
    # the link with its organization, the scores, the badges (last seen is recent: no write).
    assert small == large == 3, (small, large)
