"""Scoreboard reads (SPEC §5 Scoreboard, §1 "praise in public, consequences in private").

The board shows names, points, completion, streak and badges — nothing else. It reads
WeeklyScore and BadgeAward only (never flags, exemptions, escalations or holds) and never
exposes `excused`. The organization's visibility setting is applied here, once, for the
page, the TV mode and the leaderboard API alike.

Queries are constant whatever the number of producers: the scores (one aggregate query,
joined to the producer), the badges of the producers shown (one query), and for
"last week" the latest final week (one query).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from django.db.models import Avg, Count, Max, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from accountability.models import Organization, Role, Team
from accountability.tokens import token_hash
from accountability.weeks import current_week_start, local_date

from .models import BadgeAward, TvLink, WeeklyScore

Visibility = Organization.ScoreboardVisibility


class Period(StrEnum):
    WEEK = "week"
    LAST_WEEK = "last_week"
    MONTH = "month"


PERIOD_LABELS = {Period.WEEK: "This week", Period.LAST_WEEK: "Last week", Period.MONTH: "This month"}


@dataclass(frozen=True)
class BadgeShown:
    code: str
    name: str
    icon: str
    count: int
    last_week: dt.date


@dataclass
class BoardRow:
    rank: int
    name: str
    points: int
    completion: float
    streak: int
    producer_id: int | None  # None when the name is hidden (anonymous boards)
    key: int  # the producer's id for the badge lookup; never rendered or serialized
    is_me: bool = False
    badges: list[BadgeShown] = field(default_factory=list)


@dataclass
class Board:
    organization: Organization
    period: Period
    first_week: dt.date | None  # None: no final week yet ("last week")
    last_week: dt.date | None
    visibility: str
    top_n: int | None
    team: Team | None = None
    provisional: bool = False
    rows: list[BoardRow] = field(default_factory=list)
    me: BoardRow | None = None  # the viewer's own row when it falls outside the top-N cut

    @property
    def is_off(self) -> bool:
        return self.visibility == Visibility.OFF

    @property
    def label(self) -> str:
        return PERIOD_LABELS[self.period]

    def top_streaks(self, limit: int = 5) -> list[BoardRow]:
        shown = self.rows + ([self.me] if self.me else [])
        return sorted((r for r in shown if r.streak > 0), key=lambda r: (-r.streak, r.rank))[:limit]


def period_parse(raw: str | None) -> Period:
    """The `period` of a request; ValueError with a readable message otherwise."""
    if raw in (None, ""):
        return Period.WEEK
    try:
        return Period(raw)
    except ValueError:
        raise ValueError(f"Unknown period “{raw}”: use week, last_week or month.") from None


def period_weeks(
    *, organization: Organization, period: Period, now: dt.datetime
) -> tuple[dt.date | None, dt.date | None]:
    """First and last week start of a period, both inclusive, in the organization's weeks.

    - week: the open week (provisional scores);
    - last_week: the latest final week before the open one (None, None before the first close);
    - month: the weeks *starting* in the current calendar month, organization-local.
    """
    this_week = current_week_start(organization, now)
    if period == Period.WEEK:
        return this_week, this_week
    if period == Period.LAST_WEEK:
        latest = WeeklyScore.objects.filter(
            organization=organization, is_final=True, week_start__lt=this_week
        ).aggregate(latest=Max("week_start"))["latest"]
        return latest, latest
    today = local_date(now, organization)
    first_day = today.replace(day=1)
    next_month = (first_day + dt.timedelta(days=32)).replace(day=1)
    return first_day, next_month - dt.timedelta(days=1)


def _active_producer_q(today: dt.date) -> Q:
    """Producers whose membership is active today (the board shows only them)."""
    return (
        Q(producer__is_active=True)
        & Q(producer__membership__role=Role.PRODUCER)
        & Q(producer__membership__active_from__lte=today)
        & (Q(producer__membership__active_to__isnull=True) | Q(producer__membership__active_to__gte=today))
    )


def _score_rows(*, organization, first_week, last_week, team, today) -> list[dict]:
    """One query: per active producer, points summed over the period, mean completion and
    the streak of the latest week of the period."""
    scores = WeeklyScore.objects.filter(
        _active_producer_q(today),
        organization=organization,
        producer__membership__organization=organization,
        week_start__gte=first_week,
        week_start__lte=last_week,
    )
    if team is not None:
        scores = scores.filter(producer__membership__team=team)
    latest_streak = (
        WeeklyScore.objects.filter(
            producer_id=OuterRef("producer_id"), week_start__gte=first_week, week_start__lte=last_week
        )
        .order_by("-week_start")
        .values("streak")[:1]
    )
    return list(
        scores.values("producer_id", "producer__name", "producer__email")
        .annotate(
            total_points=Sum("points"),
            mean_completion=Avg("completion"),
            latest_streak=Subquery(latest_streak),
        )
        .order_by("-total_points", "producer_id")
    )


def _badges_of(producer_ids: list[int]) -> dict[int, list[BadgeShown]]:
    """One query: every badge each producer has earned (all time), most recent first."""
    if not producer_ids:
        return {}
    rows = (
        BadgeAward.objects.filter(producer_id__in=producer_ids)
        .values("producer_id", "badge__code", "badge__name", "badge__icon")
        .annotate(count=Count("id"), last_week=Max("week_start"))
        .order_by("producer_id", "-last_week", "badge__name")
    )
    badges: dict[int, list[BadgeShown]] = {}
    for row in rows:
        shown = BadgeShown(row["badge__code"], row["badge__name"], row["badge__icon"], row["count"], row["last_week"])
        badges.setdefault(row["producer_id"], []).append(shown)
    return badges


def _ranked(rows: list[dict], *, viewer_id: int | None, anonymous: bool) -> list[BoardRow]:
    """Standard competition ranking by points (1, 2, 2, 4); in anonymous boards everyone but
    the viewer is "Producer #k", k being the position on this board."""
    ranked, rank, previous = [], 0, None
    for position, row in enumerate(rows, start=1):
        if row["total_points"] != previous:
            rank, previous = position, row["total_points"]
        is_me = row["producer_id"] == viewer_id
        hidden = anonymous and not is_me
        ranked.append(
            BoardRow(
                rank=rank,
                name=f"Producer #{position}" if hidden else (row["producer__name"] or row["producer__email"]),
                points=row["total_points"] or 0,
                completion=round(float(row["mean_completion"] or 0), 1),
                streak=row["latest_streak"] or 0,
                producer_id=None if hidden else row["producer_id"],
                key=row["producer_id"],
                is_me=is_me,
            )
        )
    return ranked


def scoreboard_build(
    *,
    organization: Organization,
    period: Period,
    viewer=None,
    team: Team | None = None,
    now: dt.datetime | None = None,
) -> Board:
    """The board for one period (and optionally one team), as the viewer may see it.
    `viewer=None` is a wall screen (TV link): nobody is "you", so anonymous hides everyone."""
    board = Board(
        organization=organization,
        period=period,
        first_week=None,
        last_week=None,
        visibility=organization.scoreboard_visibility,
        top_n=organization.scoreboard_top_n,
        team=team,
        provisional=period == Period.WEEK,
    )
    if board.is_off:
        return board
    now = now or timezone.now()
    board.first_week, board.last_week = period_weeks(organization=organization, period=period, now=now)
    if board.first_week is None:
        return board
    rows = _score_rows(
        organization=organization,
        first_week=board.first_week,
        last_week=board.last_week,
        team=team,
        today=local_date(now, organization),
    )
    ranked = _ranked(rows, viewer_id=getattr(viewer, "pk", None), anonymous=board.visibility == Visibility.ANONYMOUS)
    board.rows = ranked[: board.top_n] if board.top_n else ranked
    if board.top_n:
        board.me = next((row for row in ranked[board.top_n :] if row.is_me), None)
    shown = board.rows + ([board.me] if board.me else [])
    badges = _badges_of([row.key for row in shown])
    for row in shown:
        row.badges = badges.get(row.key, [])
    return board


def tv_link_for_token(token: str) -> TvLink | None:
    """The active TV link of a raw token, with its organization; None for unknown or revoked."""
    return (
        TvLink.objects.select_related("organization")
        .filter(token_hash=token_hash(token), revoked_at__isnull=True)
        .first()
    )
