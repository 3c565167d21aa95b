"""Reads for activities, already scoped to what the caller may see (via accountability.access)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum

from accountability.access import membership_of, private_rows_visible_to, scoped_to_organization
from accountability.models import Membership

from .models import Activity, ActivityType, Expectation, Status


def activities_visible_to(user) -> QuerySet[Activity]:
    """Activities the user may see: own (producer), their teams' (manager), all (leader)."""
    queryset = Activity.objects.select_related("activity_type", "producer", "reviewed_by", "logged_by")
    return private_rows_visible_to(queryset, user, field="producer")


def activity_types_visible_to(user) -> QuerySet[ActivityType]:
    return scoped_to_organization(ActivityType.objects.all(), user)


def expectations_visible_to(user) -> QuerySet[Expectation]:
    return scoped_to_organization(Expectation.objects.select_related("activity_type", "team"), user)


def verification_queue(user) -> QuerySet[Activity]:
    """Activities waiting for a manager's decision, for the producers the user acts on."""
    membership = membership_of(user)
    if membership is None or membership.is_producer:
        return Activity.objects.none()
    return activities_visible_to(user).filter(needs_review=True, status=Status.LOGGED).order_by("occurred_at", "id")


def expectations_in_force(*, organization, week_start: dt.date, team_id: int | None) -> dict[int, Expectation]:
    """The applicable expectation per activity type for a producer of `team_id` in a week:
    organization-wide or for the team, effective that week; where two apply to one type,
    the higher target counts (SPEC §3)."""
    rows = (
        Expectation.objects.filter(organization=organization, effective_from__lte=week_start)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=week_start))
        .filter(Q(team__isnull=True) | Q(team_id=team_id))
        .select_related("activity_type")
    )
    best: dict[int, Expectation] = {}
    for expectation in rows:
        current = best.get(expectation.activity_type_id)
        if current is None or expectation.target > current.target:
            best[expectation.activity_type_id] = expectation
    return best


@dataclass
class Progress:
    activity_type: ActivityType
    target: int | None  # None: logged but not expected
    actual: int

    @property
    def to_go(self) -> int:
        return max((self.target or 0) - self.actual, 0)

    @property
    def met(self) -> bool:
        return self.target is not None and self.actual >= self.target

    @property
    def percent(self) -> int:
        if not self.target:
            return 100
        return min(100, round(self.actual * 100 / self.target))


def week_progress(*, membership: Membership, week_start: dt.date) -> list[Progress]:
    """A producer's week per expected type (target, actual, to go), by type name; types
    logged but not expected are not listed. Two queries. `actual` counts every
    non-rejected activity, as scoring does."""
    expected = expectations_in_force(
        organization=membership.organization, week_start=week_start, team_id=membership.team_id
    )
    totals = dict(
        Activity.objects.filter(producer_id=membership.user_id, week_start=week_start)
        .exclude(status=Status.REJECTED)
        .values("activity_type")
        .annotate(total=Sum("quantity"))
        .values_list("activity_type", "total")
    )
    rows = [Progress(e.activity_type, e.target, totals.get(type_id, 0)) for type_id, e in expected.items()]
    rows.sort(key=lambda p: p.activity_type.name)
    return rows
