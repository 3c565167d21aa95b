"""Leader settings (SPEC §5): organization, teams, users & invitations.

Each view authorizes through `accountability.access`, validates with a form, and leaves the
write — and its audit event — to `accountability.services`."""

from __future__ import annotations

import copy
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import selectors, services
from ..access import get_member_for_user, get_team_for_user, get_visible_or_404, leader_required, scoped_to_organization
from ..errors import AccountabilityError
from ..forms_settings import InvitationForm, MemberFilterForm, MemberForm, OrganizationForm, TeamForm
from ..models import Invitation, Weekday

MEMBERS_PER_PAGE = 50


def _bound(request):
    """POST data for a submitted form, None for a GET (an empty POST must still validate)."""
    return request.POST if request.method == "POST" else None


def _service_error(form, error: AccountabilityError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


# --- organization ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@leader_required
def organization(request):
    current = request.membership.organization
    # A copy: ModelForm validation sets fields on its instance, and the layout must keep
    # showing the saved organization when the input is refused.
    form = OrganizationForm(_bound(request), instance=copy.copy(current))
    if request.method == "POST" and form.is_valid():
        try:
            updated = services.organization_update(organization=current, by=request.user, data=form.settings_data())
        except AccountabilityError as error:
            _service_error(form, error)
        else:
            messages.success(request, "Organization settings saved.")
            if {"timezone", "week_start"} & set(form.changed_data):
                messages.warning(
                    request,
                    f"From now on weeks start on {Weekday(updated.week_start).label} at midnight "
                    f"{updated.timezone}. Closed weeks keep their dates and scores.",
                )
            return redirect("settings:organization")
    return render(request, "accountability/settings/organization.html", {"form": form, "active": "organization"})


# --- teams ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@leader_required
def teams(request):
    organization = request.membership.organization
    form = TeamForm(_bound(request), organization=organization)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(organization=organization, by=request.user, **form.cleaned_data)
        except AccountabilityError as error:
            _service_error(form, error)
        else:
            messages.success(request, f"Team “{team.name}” created.")
            return redirect("settings:teams")
    context = {"teams": selectors.teams_for_settings(organization=organization), "form": form, "active": "teams"}
    return render(request, "accountability/settings/teams.html", context)


@require_http_methods(["GET", "POST"])
@leader_required
def team_edit(request, pk):
    team = get_team_for_user(request.user, pk, write=True)
    initial = {"name": team.name, "managers": list(team.managers.values_list("pk", flat=True))}
    form = TeamForm(_bound(request), organization=team.organization, team=team, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.team_update(team=team, by=request.user, **form.cleaned_data)
        except AccountabilityError as error:
            _service_error(form, error)
        else:
            messages.success(request, f"Team “{team.name}” saved.")
            return redirect("settings:teams")
    producers = team.producers.select_related("user").order_by("user__name")
    context = {"team": team, "form": form, "producers": producers, "active": "teams"}
    return render(request, "accountability/settings/team_edit.html", context)


@require_POST
@leader_required
def team_delete(request, pk):
    team = get_team_for_user(request.user, pk, write=True)
    name = team.name
    try:
        services.team_delete(team=team, by=request.user)
    except AccountabilityError as error:
        messages.error(request, f"“{name}” was not deleted: {error.message}")
        return redirect("settings:team_edit", pk=pk)
    messages.success(request, f"Team “{name}” deleted.")
    return redirect("settings:teams")


# --- users & invitations ---------------------------------------------------------------


@require_GET
@leader_required
def users(request):
    organization = request.membership.organization
    filter_form = MemberFilterForm(request.GET)
    filters = filter_form.filters()
    members = selectors.members_for_settings(organization=organization, **filters)
    page = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filter_form": filter_form,
        "filter_query": urlencode({k: v for k, v in filters.items() if v}),
        "invitations": selectors.invitations_open(organization=organization),
        "active": "users",
    }
    return render(request, "accountability/settings/users.html", context)


@require_http_methods(["GET", "POST"])
@leader_required
def invite(request):
    organization = request.membership.organization
    # "Invite again" links prefill the form from the query string; the team choices stay scoped.
    initial = {key: request.GET[key] for key in ("email", "name", "role", "team") if key in request.GET}
    form = InvitationForm(_bound(request), organization=organization, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, token = services.invitation_create(
                organization=organization, by=request.user, **form.cleaned_data
            )
        except AccountabilityError as error:
            _service_error(form, error)
        else:
            # The link is shown this once (only its hash is stored) so the leader can pass it
            # on themselves if the e-mail does not arrive.
            messages.success(
                request,
                format_html(
                    "Invitation sent to {}. If the e-mail does not arrive, share this link with them — "
                    'it is shown only now: <code class="user-select-all text-break">{}</code>',
                    invitation.email,
                    services.invitation_url(token),
                ),
            )
            return redirect("settings:users")
    return render(request, "accountability/settings/invite.html", {"form": form, "active": "users"})


@require_POST
@leader_required
def invitation_revoke(request, pk):
    invitations = scoped_to_organization(Invitation.objects.select_related("organization"), request.user)
    invitation = get_visible_or_404(invitations, request.user, pk, "invitation")
    try:
        services.invitation_revoke(invitation=invitation, by=request.user)
    except AccountabilityError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Invitation for {invitation.email} withdrawn; the link no longer works.")
    return redirect("settings:users")


@require_http_methods(["GET", "POST"])
@leader_required
def member_edit(request, pk):
    member = get_member_for_user(request.user, pk, write=True)
    form = MemberForm(_bound(request), member=member)
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_change(membership=member, by=request.user, **form.cleaned_data)
        except AccountabilityError as error:
            _service_error(form, error)
        else:
            messages.success(request, f"{member.user} saved.")
            return redirect("settings:users")
    managed = member.user.managed_teams.order_by("name")
    context = {"member": member, "form": form, "managed_teams": managed, "active": "users"}
    return render(request, "accountability/settings/member_edit.html", context)


@require_POST
@leader_required
def member_deactivate(request, pk):
    return _member_switch(
        request, pk, services.user_deactivate, "deactivated: signed out everywhere and no longer scored from today."
    )


@require_POST
@leader_required
def member_reactivate(request, pk):
    return _member_switch(
        request, pk, services.user_reactivate, "reactivated; they can sign in again and are scored from today."
    )


def _member_switch(request, pk, service, done: str):
    """Deactivate or reactivate a member through `service`; report the outcome."""
    member = get_member_for_user(request.user, pk, write=True)
    try:
        service(membership=member, by=request.user)
    except AccountabilityError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{member.user} {done}")
    return redirect("settings:users")
