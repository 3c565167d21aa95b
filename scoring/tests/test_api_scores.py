"""Scores, leaderboard and flags API (SPEC §5): private rows for scores and flags (leaders
all, managers their teams, producers themselves), the public leaderboard with the
scoreboard's privacy, filters, 400 / 401 / 404 / 405, and query budgets.

Time is frozen on Wednesday 2026-11-18 (America/Chicago, weeks from Monday)."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accountability.models import Organization, Role
from accountability.tests.factories import member
from activities.tests.factories import ExpectationFactory
from scoring.models import Flag

from .factories_board import BadgeAwardFactory, BadgeFactory, ExemptionRequestFactory, FlagFactory, WeeklyScoreFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 18, 18, 0, tzinfo=dt.UTC)
THIS_WEEK = dt.date(2026, 11, 16)
LAST_WEEK = dt.date(2026, 11, 9)
TWO_AGO = dt.date(2026, 11, 2)

SCORES_URL = "/api/v1/scores/"
LEADERBOARD_URL = "/api/v1/leaderboard/"
FLAGS_URL = "/api/v1/flags/"
Visibility = Organization.ScoreboardVisibility


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def producers_of(response) -> set[int]:
    return {row["producer"] for row in ok(response)["results"]}


@pytest.fixture
def scores(producer, teammate, outsider):
    """Two weeks for the producer and the teammate, one for the outsider (another org)."""
    rows = {
        "producer_last": WeeklyScoreFactory(producer=producer, week_start=LAST_WEEK, points=20, streak=2),
        "producer_now": WeeklyScoreFactory(producer=producer, week_start=THIS_WEEK, points=5, is_final=False),
        "teammate_last": WeeklyScoreFactory(producer=teammate, week_start=LAST_WEEK, points=30, excused=True),
        "teammate_now": WeeklyScoreFactory(producer=teammate, week_start=THIS_WEEK, points=8, is_final=False),
        "outsider_last": WeeklyScoreFactory(producer=outsider, week_start=LAST_WEEK, points=99),
    }
    return rows


@pytest.fixture
def flags(org, producer, teammate, outsider, other_org):
    expectation = ExpectationFactory(activity_type__organization=org)
    foreign = ExpectationFactory(activity_type__organization=other_org)
    return {
        "producer": FlagFactory(producer=producer, week_start=LAST_WEEK, expectation=expectation),
        "producer_old": FlagFactory(
            producer=producer, week_start=TWO_AGO, expectation=expectation, status=Flag.Status.EXCUSED
        ),
        "teammate": FlagFactory(producer=teammate, week_start=LAST_WEEK, expectation=expectation),
        "outsider": FlagFactory(producer=outsider, week_start=LAST_WEEK, expectation=foreign),
    }


# --- scores ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, expected",
    [
        ("leader", {"producer", "teammate"}),
        ("manager", {"producer"}),
        ("producer", {"producer"}),
        ("teammate", {"teammate"}),
        ("outsider", {"outsider"}),
    ],
)
def test_scores_visible_to_each_role(request, scores, who, expected):
    user = request.getfixturevalue(who)
    assert producers_of(api(user).get(SCORES_URL)) == {request.getfixturevalue(name).pk for name in expected}


def test_score_fields(leader, producer, scores):
    row = ok(api(leader).get(SCORES_URL, {"producer": producer.pk, "week": LAST_WEEK.isoformat()}))["results"]
    assert row == [
        {
            "id": scores["producer_last"].pk,
            "producer": producer.pk,
            "producer_name": "Pat Producer",
            "team": producer.membership.team_id,
            "week_start": "2026-11-09",
            "points": 20,
            "completion": 100.0,
            "expectations_met": 1,
            "expectations_total": 1,
            "excused": False,
            "met_all": True,
            "streak": 2,
            "rank_org": None,
            "rank_team": None,
            "is_final": True,
            "computed_at": row[0]["computed_at"],
        }
    ]


def test_scores_filters(leader, producer, teammate, other_team, scores):
    client = api(leader)
    by_week = ok(client.get(SCORES_URL, {"week": "2026-11-12"}))["results"]  # a Thursday: its week
    assert {row["id"] for row in by_week} == {scores["producer_last"].pk, scores["teammate_last"].pk}
    assert producers_of(client.get(SCORES_URL, {"team": other_team.pk})) == {teammate.pk}
    assert producers_of(client.get(SCORES_URL, {"producer": teammate.pk})) == {teammate.pk}


@pytest.mark.parametrize("params", [{"week": "2026-13-01"}, {"week": "last"}, {"producer": "abc"}, {"team": "1.5"}])
def test_scores_bad_filters_are_400(leader, scores, params):
    response = api(leader).get(SCORES_URL, params)
    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_score_of_another_organization_is_404(producer, leader, scores):
    assert api(leader).get(f"{SCORES_URL}{scores['outsider_last'].pk}/").status_code == 404
    assert api(producer).get(f"{SCORES_URL}{scores['teammate_last'].pk}/").status_code == 404
    assert ok(api(producer).get(f"{SCORES_URL}{scores['producer_last'].pk}/"))["points"] == 20


def test_scores_anonymous_401_and_read_only(leader, scores):
    assert APIClient().get(SCORES_URL).status_code == 401
    assert APIClient().get(LEADERBOARD_URL).status_code == 401
    assert APIClient().get(FLAGS_URL).status_code == 401
    assert api(leader).post(SCORES_URL, {}, format="json").status_code == 405
    assert api(leader).delete(f"{SCORES_URL}{scores['producer_last'].pk}/").status_code == 405
    assert api(leader).post(LEADERBOARD_URL, {}, format="json").status_code == 405


def _queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        ok(client.get(url, params or {}))
    return len(captured)


def _add_producers(org, team, n):
    star = BadgeFactory(code="test-star")
    expectation = ExpectationFactory(activity_type__organization=org)
    for _ in range(n):
        someone = member(org, Role.PRODUCER, team=team)
        for week in (THIS_WEEK, LAST_WEEK, TWO_AGO):
            WeeklyScoreFactory(producer=someone, week_start=week, points=4, is_final=week != THIS_WEEK)
        BadgeAwardFactory(producer=someone, badge=star, week_start=LAST_WEEK)
        FlagFactory(producer=someone, week_start=LAST_WEEK, expectation=expectation)


@pytest.mark.parametrize(
    "url, params",
    [
        (SCORES_URL, {}),
        (FLAGS_URL, {}),
        (LEADERBOARD_URL, {"period": "week"}),
        (LEADERBOARD_URL, {"period": "last_week"}),
        (LEADERBOARD_URL, {"period": "month"}),
    ],
)
@pytest.mark.parametrize("who", ["leader", "manager"])
def test_query_budget_does_not_depend_on_producers(request, org, team, url, params, who):
    client = api(request.getfixturevalue(who))
    _add_producers(org, team, 3)
    ok(client.get(url, params))  # warm: the membership is cached on the authenticated user
    small = _queries(client, url, params)
    _add_producers(org, team, 27)
    large = _queries(client, url, params)
    # lists: count, page; leaderboard: (latest final week), scores, badges. The caller's
    # membership and managed teams are cached on the user after the first request.
    assert small == large <= 3, (small, large)


# --- leaderboard ---------------------------------------------------------------------------


def set_visibility(org, visibility, top_n=None):
    Organization.objects.filter(pk=org.pk).update(scoreboard_visibility=visibility, scoreboard_top_n=top_n)


def test_leaderboard_named(producer, teammate, scores):
    star = BadgeFactory(code="test-star", name="Star", icon="star")
    BadgeAwardFactory(producer=teammate, badge=star, week_start=LAST_WEEK)
    body = ok(api(producer).get(LEADERBOARD_URL))
    assert body["period"] == "week" and body["week_from"] == body["week_to"] == "2026-11-16"
    assert body["provisional"] is True and body["visibility"] == "named" and body["me"] is None
    assert body["results"] == [
        {
            "rank": 1,
            "name": "Tess Teammate",
            "producer": teammate.pk,
            "is_me": False,
            "points": 8,
            "completion": 100.0,
            "streak": 1,
            "badges": [{"code": "test-star", "name": "Star", "icon": "star", "count": 1, "last_week": "2026-11-09"}],
        },
        {
            "rank": 2,
            "name": "Pat Producer",
            "producer": producer.pk,
            "is_me": True,
            "points": 5,
            "completion": 100.0,
            "streak": 1,
            "badges": [],
        },
    ]


def test_leaderboard_periods(producer, teammate, scores):
    def points(period):
        body = ok(api(producer).get(LEADERBOARD_URL, {"period": period}))
        return body, {row["name"]: row["points"] for row in body["results"]}

    body, last = points("last_week")
    assert last == {"Tess Teammate": 30, "Pat Producer": 20} and body["provisional"] is False
    assert body["week_from"] == "2026-11-09"
    WeeklyScoreFactory(producer=producer, week_start=TWO_AGO, points=7)
    WeeklyScoreFactory(producer=producer, week_start=dt.date(2026, 10, 26), points=1000)  # October
    body, month = points("month")
    assert month == {"Pat Producer": 20 + 5 + 7, "Tess Teammate": 30 + 8}
    assert (body["week_from"], body["week_to"]) == ("2026-11-01", "2026-11-30")


def test_leaderboard_anonymous_and_top_n(org, team, producer, teammate, scores):
    third = member(org, Role.PRODUCER, team=team, name="Zed Third")
    WeeklyScoreFactory(producer=third, week_start=THIS_WEEK, points=50, is_final=False)
    set_visibility(org, Visibility.ANONYMOUS, top_n=2)
    body = ok(api(producer).get(LEADERBOARD_URL))
    assert [(r["rank"], r["name"], r["producer"]) for r in body["results"]] == [
        (1, "Producer #1", None),
        (2, "Producer #2", None),
    ]
    assert (body["me"]["rank"], body["me"]["name"], body["me"]["producer"]) == (3, "Pat Producer", producer.pk)
    assert "Zed" not in str(body) and "Tess" not in str(body)


def test_leaderboard_off(org, producer, scores):
    set_visibility(org, Visibility.OFF)
    body = ok(api(producer).get(LEADERBOARD_URL))
    assert body["visibility"] == "off" and body["results"] == [] and body["me"] is None


def test_leaderboard_team(producer, teammate, other_team, outsider_team, scores):
    body = ok(api(producer).get(LEADERBOARD_URL, {"team": other_team.pk}))
    assert [r["name"] for r in body["results"]] == ["Tess Teammate"] and body["team"] == other_team.pk
    assert api(producer).get(LEADERBOARD_URL, {"team": outsider_team.pk}).status_code == 404
    assert api(producer).get(LEADERBOARD_URL, {"team": 10**9}).status_code == 404


@pytest.mark.parametrize("params, field", [({"period": "year"}, "period"), ({"team": "abc"}, "team")])
def test_leaderboard_bad_input_is_400(producer, scores, params, field):
    response = api(producer).get(LEADERBOARD_URL, params)
    assert response.status_code == 400 and field in response.json()
    if field == "period":
        assert "use week, last_week or month" in response.json()["period"][0]


def test_leaderboard_shows_nothing_private(org, producer, teammate, scores, flags):
    ExemptionRequestFactory(producer=teammate, week_from=LAST_WEEK, week_to=LAST_WEEK, note="Grandmother's surgery")
    for period in ("week", "last_week", "month"):
        body = ok(api(producer).get(LEADERBOARD_URL, {"period": period}))
        text = str(body).lower()
        for word in ("grandmother", "sick", "exempt", "excused", "flag", "missed", "open"):
            assert word not in text, (period, word)
        assert set(body["results"][0]) == {
            "rank",
            "name",
            "producer",
            "is_me",
            "points",
            "completion",
            "streak",
            "badges",
        }


def test_outsider_leaderboard_is_their_own(outsider, scores):
    body = ok(api(outsider).get(LEADERBOARD_URL, {"period": "last_week"}))
    assert [r["name"] for r in body["results"]] == ["Oscar Outsider"]


# --- flags -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, expected",
    [
        ("leader", {"producer", "producer_old", "teammate"}),
        ("manager", {"producer", "producer_old"}),
        ("producer", {"producer", "producer_old"}),
        ("teammate", {"teammate"}),
        ("outsider", {"outsider"}),
    ],
)
def test_flags_visible_to_each_role(request, flags, who, expected):
    body = ok(api(request.getfixturevalue(who)).get(FLAGS_URL))
    assert {row["id"] for row in body["results"]} == {flags[name].pk for name in expected}


def test_flag_fields_and_filters(leader, producer, flags):
    client = api(leader)
    rows = ok(client.get(FLAGS_URL, {"producer": producer.pk, "status": "excused"}))["results"]
    assert [(r["id"], r["producer_name"], r["week_start"], r["kind"], r["actual"], r["target"]) for r in rows] == [
        (flags["producer_old"].pk, "Pat Producer", "2026-11-02", "missed_expectation", 1, 3)
    ]
    by_week = ok(client.get(FLAGS_URL, {"week": "2026-11-15"}))["results"]  # Sunday of last week
    assert {r["id"] for r in by_week} == {flags["producer"].pk, flags["teammate"].pk}


def test_flag_of_someone_else_is_404(producer, flags):
    assert api(producer).get(f"{FLAGS_URL}{flags['teammate'].pk}/").status_code == 404
    assert api(producer).get(f"{FLAGS_URL}{flags['outsider'].pk}/").status_code == 404
    assert ok(api(producer).get(f"{FLAGS_URL}{flags['producer'].pk}/"))["status"] == "open"


@pytest.mark.parametrize("params", [{"status": "closed"}, {"week": "2026-02-30"}, {"kind": "x"}])
def test_flags_bad_filters_are_400(leader, flags, params):
    response = api(leader).get(FLAGS_URL, params)
    assert response.status_code == 400 and set(response.json()) == set(params)
