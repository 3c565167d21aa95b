"""Reads for the core: lists for the leader's settings pages, already scoped to one
organization and loaded so that templates never trigger queries."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from .models import Invitation, Membership, Organization, Role, Team, User

MEMBER_STATUSES = ("active", "deactivated")


def members_for_settings(*, organization: Organization, role: str = "", status: str = "") -> QuerySet[Membership]:
    """The organization's members with user, team and managed teams loaded (two queries:
    memberships joined to users and teams, then the managed teams of those users)."""
    queryset = (
        Membership.objects.filter(organization=organization)
        .select_related("user", "team")
        .prefetch_related(Prefetch("user__managed_teams", queryset=Team.objects.order_by("name")))
        .order_by("user__name", "user__email")
    )
    if role in Role.values:
        queryset = queryset.filter(role=role)
    if status in MEMBER_STATUSES:
        queryset = queryset.filter(user__is_active=status == "active")
    return queryset


def invitations_open(*, organization: Organization) -> QuerySet[Invitation]:
    """Invitations neither accepted nor revoked — pending or already expired — newest first."""
    return Invitation.objects.filter(
        organization=organization, accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("team", "invited_by")


def teams_for_settings(*, organization: Organization) -> QuerySet[Team]:
    """Teams with producer counts (one aggregate query) and managers (one prefetch query)."""
    return (
        Team.objects.filter(organization=organization)
        .annotate(
            producer_count=Count("producers", distinct=True),
            active_producer_count=Count("producers", filter=Q(producers__user__is_active=True), distinct=True),
        )
        .prefetch_related(Prefetch("managers", queryset=User.objects.order_by("name")))
        .order_by("name")
    )


def managers_assignable(*, organization: Organization) -> QuerySet[User]:
    """Active managers of the organization: the people who may manage a team."""
    return User.objects.filter(
        membership__organization=organization, membership__role=Role.MANAGER, is_active=True
    ).order_by("name", "email")


def teams_of(*, organization: Organization) -> QuerySet[Team]:
    return Team.objects.filter(organization=organization).order_by("name")
