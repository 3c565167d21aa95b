"""`/`: each role's home. The real dashboards arrive with their issues; until then these
pages show the member's organization, teams and people, with a constant number of queries."""

from django.db.models import Count, Prefetch, Q
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from activities.selectors import verification_queue
from activities.views_log import quick_log_context

from ..access import member_required, teams_visible_to
from ..models import Membership, Role

HOME_TEMPLATES = {
    Role.PRODUCER: "accountability/home_producer.html",
    Role.MANAGER: "accountability/home_manager.html",
    Role.LEADER: "accountability/home_leader.html",
}


def _active_on(day, prefix: str = "") -> Q:
    """Memberships active on `day` (active_to is the last active day, inclusive)."""
    return (
        Q(**{f"{prefix}active_from__lte": day})
        & (Q(**{f"{prefix}active_to__isnull": True}) | Q(**{f"{prefix}active_to__gte": day}))
        & Q(**{f"{prefix}user__is_active": True})
    )


def teams_for_home(user, today):
    """The caller's visible teams with managers, active producers and their count:
    three queries whatever the number of teams or people."""
    active_producers = Membership.objects.filter(_active_on(today)).select_related("user").order_by("user__name")
    return (
        teams_visible_to(user)
        .annotate(producer_count=Count("producers", filter=_active_on(today, "producers__")))
        .prefetch_related("managers", Prefetch("producers", queryset=active_producers, to_attr="active_producers"))
    )


@require_safe
@member_required
def home(request):
    membership = request.membership
    today = timezone.localdate(timezone=membership.organization.tzinfo)
    teams = list(teams_for_home(request.user, today))
    context = {
        "teams": teams,
        "my_team": teams[0] if membership.is_producer and teams else None,
        "producer_total": sum(team.producer_count for team in teams),
    }
    if membership.is_producer:  # this week's progress and the quick log (three queries)
        context.update(quick_log_context(request, membership=membership), next=request.path)
    elif membership.is_manager:
        context["queue_count"] = verification_queue(request.user).count()
    return render(request, HOME_TEMPLATES[membership.role], context)
