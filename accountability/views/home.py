"""`/`: each role's home. The real dashboards arrive with their issues; until then these
pages show the member's organization, team and what is coming."""

from django.shortcuts import render

from ..access import member_required, teams_visible_to

HOME_TEMPLATES = {
    "producer": "accountability/home_producer.html",
    "manager": "accountability/home_manager.html",
    "leader": "accountability/home_leader.html",
}


@member_required
def home(request):
    membership = request.membership
    context = {"teams": teams_visible_to(request.user).prefetch_related("managers")}
    return render(request, HOME_TEMPLATES[membership.role], context)
