"""Who may see and change what (SPEC §1) — the one place that decides.

Rules:
- Nothing of another organization is ever visible: such objects answer 404, exactly like
  objects that do not exist.
- A visible object the role may not change answers 403.
- Leaders read everything in their organization and configure it.
- Managers see and act on the members of the teams they manage.
- Producers see themselves (and the scoreboard / rules pages, which are organization-wide).

Every view and API view goes through these helpers; nothing looks up a model by a
user-supplied id without them.
"""

from __future__ import annotations

import functools
import logging

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from .models import Membership, Organization, Role, Team, User

security_log = logging.getLogger("accountability.security")

LEADER = Role.LEADER
MANAGER = Role.MANAGER
PRODUCER = Role.PRODUCER
STAFF_ROLES = (Role.MANAGER, Role.LEADER)


def membership_of(user) -> Membership | None:
    """The user's membership (cached on the user object), or None for anonymous/unaffiliated users."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_membership_cache"):
        user._membership_cache = (
            Membership.objects.select_related("organization", "team").filter(user=user, user__is_active=True).first()
        )
    return user._membership_cache


def organization_of(user) -> Organization | None:
    membership = membership_of(user)
    return membership.organization if membership else None


def role_of(user) -> str | None:
    membership = membership_of(user)
    return membership.role if membership else None


def refuse(user, what: str, *, status: int = 403):
    """Log a refused access and raise the matching exception (403 or 404)."""
    security_log.warning("access refused status=%s user=%s what=%s", status, getattr(user, "pk", None), what)
    if status == 404:
        raise Http404("Not found.")
    raise PermissionDenied("You are not allowed to do that.")


def require_membership(user) -> Membership:
    membership = membership_of(user)
    if membership is None:
        refuse(user, "no membership")
    return membership


def require_role(user, *roles: str) -> Membership:
    membership = require_membership(user)
    if membership.role not in roles:
        refuse(user, f"role {membership.role} not in {roles}")
    return membership


def managed_team_ids(user) -> list[int]:
    """Ids of the teams the user manages (cached on the user object)."""
    if not hasattr(user, "_managed_team_ids"):
        user._managed_team_ids = list(Team.objects.filter(managers=user).values_list("id", flat=True))
    return user._managed_team_ids


# --- visibility: querysets already scoped to what the caller may see -------------------


def scoped_to_organization(queryset: QuerySet, user, field: str = "organization") -> QuerySet:
    """Restrict any organization-owned queryset to the caller's organization (empty if none)."""
    organization = organization_of(user)
    if organization is None:
        return queryset.none()
    return queryset.filter(**{field: organization})


def producer_filter(user, field: str = "producer") -> Q | None:
    """A Q restricting rows about producers to those the caller may see privately.

    Leaders: every producer of the organization; managers: the producers of their teams;
    producers: themselves. `field` is the path to the producer user from the row.
    Returns None when the caller sees nothing.
    """
    membership = membership_of(user)
    if membership is None:
        return None
    in_org = Q(**{f"{field}__membership__organization": membership.organization})
    if membership.is_leader:
        return in_org
    if membership.is_manager:
        return in_org & Q(**{f"{field}__membership__team_id__in": managed_team_ids(user)})
    return Q(**{field: user})


def private_rows_visible_to(queryset: QuerySet, user, field: str = "producer") -> QuerySet:
    """Rows about a producer (activities, check-ins, escalations, …) the caller may see."""
    condition = producer_filter(user, field)
    return queryset.none() if condition is None else queryset.filter(condition)


def members_visible_to(user) -> QuerySet[Membership]:
    """Memberships the caller may see: leaders all, managers their teams' producers and
    themselves, producers themselves."""
    membership = membership_of(user)
    queryset = Membership.objects.select_related("user", "team", "organization")
    if membership is None:
        return queryset.none()
    queryset = queryset.filter(organization=membership.organization)
    if membership.is_leader:
        return queryset
    if membership.is_manager:
        return queryset.filter(Q(team_id__in=managed_team_ids(user)) | Q(user=user))
    return queryset.filter(user=user)


def teams_visible_to(user) -> QuerySet[Team]:
    membership = membership_of(user)
    if membership is None:
        return Team.objects.none()
    queryset = Team.objects.filter(organization=membership.organization)
    if membership.is_leader:
        return queryset
    if membership.is_manager:
        return queryset.filter(id__in=managed_team_ids(user))
    return queryset.filter(id=membership.team_id)


# --- single objects: 404 outside visibility, 403 for a forbidden change --------------


def get_visible_or_404(queryset: QuerySet, user, pk, what: str):
    """Fetch `pk` from an already-scoped queryset; anything else (or a malformed id) is 404."""
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        refuse(user, f"{what} {pk!r}", status=404)


def can_act_on_producer(user, producer: User) -> bool:
    """Managers of the producer's team and leaders of its organization act on a producer."""
    membership = membership_of(user)
    target = membership_of(producer)
    if membership is None or target is None or target.organization_id != membership.organization_id:
        return False
    if membership.is_leader:
        return True
    return membership.is_manager and target.team_id in managed_team_ids(user)


def get_member_for_user(user, pk, *, write: bool = False) -> Membership:
    """A membership by id: 404 outside visibility; with write=True, 403 unless a leader."""
    member = get_visible_or_404(members_visible_to(user), user, pk, "membership")
    if write and not membership_of(user).is_leader:
        refuse(user, f"change membership {pk}")
    return member


def get_team_for_user(user, pk, *, write: bool = False) -> Team:
    """A team by id: 404 outside visibility; with write=True, 403 unless a leader."""
    team = get_visible_or_404(teams_visible_to(user), user, pk, "team")
    if write and not membership_of(user).is_leader:
        refuse(user, f"change team {pk}")
    return team


def get_producer_for_user(user, pk, *, write: bool = False) -> User:
    """A producer (user) by id: 404 unless the caller may see them privately; with
    write=True, 403 unless the caller may act on them (their manager or a leader)."""
    visible = User.objects.filter(membership__in=members_visible_to(user).filter(role=Role.PRODUCER))
    producer = get_visible_or_404(visible, user, pk, "producer")
    if write and not can_act_on_producer(user, producer):
        refuse(user, f"act on producer {pk}")
    return producer


# --- views -------------------------------------------------------------------------


def role_required(*roles: str):
    """Decorator for function views: anonymous → login page; no membership or wrong role → 403.

    The membership is put on `request.membership` for the view.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            request.membership = require_role(request.user, *(roles or Role.values))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


member_required = role_required()
leader_required = role_required(LEADER)
staff_required = role_required(MANAGER, LEADER)
