"""Scoreboard page, TV mode and TV links (SPEC §5 Scoreboard).

Everyone in the organization sees the board (as its visibility setting allows); leaders
manage the read-only TV links; a TV link shows the board without a login. Reads come from
scoring.selectors_board, writes from scoring.services.tv_links.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accountability.access import get_visible_or_404, leader_required, member_required, scoped_to_organization
from accountability.errors import AccountabilityError
from accountability.models import Team

from .models import TvLink
from .selectors_board import PERIOD_LABELS, Period, period_parse, scoreboard_build, tv_link_for_token
from .services.tv_links import tv_link_create as link_create
from .services.tv_links import tv_link_revoke, tv_link_seen

TV_REFRESH_SECONDS = 60


class TvLinkForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="Where the screen hangs, e.g. “Sales floor”.")


def _team_of_request(request) -> Team | None:
    """`?team=` among the organization's teams (any member sees every team's board);
    another organization's team answers 404 like one that does not exist."""
    raw = request.GET.get("team") or None
    if raw is None:
        return None
    return get_visible_or_404(scoped_to_organization(Team.objects.all(), request.user), request.user, raw, "team")


@require_GET
@never_cache
@member_required
def scoreboard(request):
    try:
        period = period_parse(request.GET.get("period"))
    except ValueError as error:
        return HttpResponseBadRequest(str(error))
    team = _team_of_request(request)
    organization = request.membership.organization
    board = scoreboard_build(organization=organization, period=period, viewer=request.user, team=team)
    context = {
        "board": board,
        "periods": PERIOD_LABELS.items(),
        "teams": [] if board.is_off else list(organization.teams.order_by("name")),
        "is_leader": request.membership.is_leader,
    }
    return render(request, "scoring/scoreboard/board.html", context)


def _tv_response(request, board, *, refresh_url: str):
    context = {"board": board, "refresh_url": refresh_url, "refresh_seconds": TV_REFRESH_SECONDS}
    template = "scoring/scoreboard/fragment_tv_board.html" if request.htmx else "scoring/scoreboard/tv.html"
    response = render(request, template, context)
    response["Referrer-Policy"] = "no-referrer"  # a TV link's token must not leak via Referer
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
@never_cache
@member_required
def tv(request):
    board = scoreboard_build(organization=request.membership.organization, period=Period.WEEK, viewer=request.user)
    return _tv_response(request, board, refresh_url=request.path)


@require_GET
@never_cache
def tv_public(request, token):
    """A TV link: read-only, no login. Unknown or revoked token → 404; a scoreboard turned
    off → 404 too (the wall shows nothing)."""
    link = tv_link_for_token(token)
    if link is None or link.organization.scoreboard_visibility == "off":
        raise Http404("Not found.")
    tv_link_seen(link=link)
    board = scoreboard_build(organization=link.organization, period=Period.WEEK, viewer=None)
    return _tv_response(request, board, refresh_url=request.path)


# --- TV links (leaders) ----------------------------------------------------------------------


def _links_page(request, form, *, created=None, token_url=None, status=200):
    links = scoped_to_organization(TvLink.objects.select_related("created_by"), request.user)
    context = {"links": links, "form": form, "created": created, "token_url": token_url}
    return render(request, "scoring/scoreboard/tv_links.html", context, status=status)


@require_GET
@leader_required
def tv_links(request):
    return _links_page(request, TvLinkForm())


@require_POST
@never_cache
@leader_required
def tv_link_create(request):
    form = TvLinkForm(request.POST)
    if form.is_valid():
        try:
            link, token = link_create(
                organization=request.membership.organization, name=form.cleaned_data["name"], by=request.user
            )
        except AccountabilityError as error:
            form.add_error("name", error.message)
        else:
            # The raw token is in this response only: it is not stored anywhere.
            token_url = request.build_absolute_uri(reverse("scoring:tv_public", args=[token]))
            return _links_page(request, TvLinkForm(), created=link, token_url=token_url)
    return _links_page(request, form, status=400)


@require_POST
@leader_required
def tv_link_revoke_view(request, pk):
    link = get_visible_or_404(scoped_to_organization(TvLink.objects.all(), request.user), request.user, pk, "tv link")
    was_active = link.revoked_at is None
    tv_link_revoke(link=link, by=request.user)
    if was_active:
        messages.success(request, f"TV link “{link.name}” revoked: that screen shows nothing from now on.")
    else:
        messages.info(request, f"TV link “{link.name}” was already revoked.")
    return redirect("scoring:tv_links")
