"""Leader configuration pages (SPEC §5 Settings): activity types, expectations, integration keys.

Each view authorizes through `accountability.access` (leaders only; another organization's
objects are 404), validates with a form, and leaves the write — and its audit event — to
`activities.services`."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accountability.access import get_visible_or_404, leader_required, scoped_to_organization
from accountability.errors import AccountabilityError
from accountability.models import Team
from accountability.weeks import current_week_start

from .forms_config import (
    ActivityTypeForm,
    ExpectationEndForm,
    ExpectationForm,
    IntegrationKeyForm,
    KeyActiveForm,
    week_choices,
)
from .models import ActivityType, Expectation, IntegrationKey
from .selectors import activity_types_visible_to, expectations_visible_to
from .services import config, integrations

WEBHOOK_PATH = "/api/v1/integrations/events/"  # SPEC §5; the intake view lives in urls_api_intake


def _bound(request):
    """POST data for a submitted form, None for a GET (an empty POST must still validate)."""
    return request.POST if request.method == "POST" else None


def _service_error(form, error: AccountabilityError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _this_week(request) -> dt.date:
    return current_week_start(request.membership.organization, timezone.now())


def _describe(expectation: Expectation) -> str:
    scope = expectation.team.name if expectation.team else "everyone"
    return f"{expectation.activity_type}: {expectation.target} per week for {scope}"


def _scope_key(expectation: Expectation):
    """Everyone first, then teams by name."""
    return (expectation.team is not None, expectation.team.name if expectation.team else "")


# --- activity types ---------------------------------------------------------------------


def _targets_in_force(user, week: dt.date, **filters) -> dict[int, list[Expectation]]:
    """The targets per activity type in force in `week`, everyone first then teams (one query)."""
    rows = (
        expectations_visible_to(user)
        .filter(effective_from__lte=week, **filters)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=week))
    )
    targets: dict[int, list[Expectation]] = {}
    for expectation in sorted(rows, key=_scope_key):
        targets.setdefault(expectation.activity_type_id, []).append(expectation)
    return targets


@require_GET
@leader_required
def types(request):
    # Two queries whatever the number of types: the types, then the targets in force.
    targets = _targets_in_force(request.user, _this_week(request))
    rows = [(t, targets.get(t.pk, [])) for t in activity_types_visible_to(request.user).order_by("-active", "name")]
    return render(request, "activities/config/types.html", {"rows": rows, "active": "types"})


@require_http_methods(["GET", "POST"])
@leader_required
def type_create(request):
    form = ActivityTypeForm(_bound(request))
    if request.method == "POST" and form.is_valid():
        try:
            activity_type = config.activity_type_create(
                organization=request.membership.organization, by=request.user, **form.cleaned_data
            )
        except AccountabilityError as error:
            _service_error(form, error)
        else:
            messages.success(request, f"Activity type “{activity_type.name}” created. Give it a weekly target next.")
            return redirect("activities:types")
    return render(request, "activities/config/type_form.html", {"form": form, "active": "types"})


@require_http_methods(["GET", "POST"])
@leader_required
def type_edit(request, pk):
    activity_type = get_visible_or_404(activity_types_visible_to(request.user), request.user, pk, "activity type")
    form = ActivityTypeForm(_bound(request), activity_type=activity_type)
    if request.method == "POST" and form.is_valid():
        if not form.has_changed():
            messages.info(request, "Nothing changed.")
            return redirect("activities:types")
        try:
            # A copy: a refused change must not leak into the page, which shows the saved type.
            config.activity_type_update(activity_type=copy.copy(activity_type), by=request.user, **form.cleaned_data)
        except AccountabilityError as error:
            _service_error(form, error)
        else:
            messages.success(request, f"Activity type “{form.cleaned_data['name']}” saved.")
            return redirect("activities:types")
    targets = _targets_in_force(request.user, _this_week(request), activity_type=activity_type).get(pk, [])
    context = {"activity_type": activity_type, "targets": targets, "form": form, "active": "types"}
    return render(request, "activities/config/type_form.html", context)


# --- expectations ------------------------------------------------------------------------


@dataclass
class ScopeTargets:
    """One activity type's targets for one scope (everyone, or a team) around this week."""

    team: Team | None
    current: Expectation | None = None
    scheduled: list[Expectation] = field(default_factory=list)
    history: list[Expectation] = field(default_factory=list)


def _expectation_board(user, this_week: dt.date) -> list[tuple[ActivityType, list[ScopeTargets]]]:
    """Per activity type (active ones, and inactive ones that have targets), its scopes with
    the current target, scheduled changes and past periods. Two queries."""
    scopes: dict[int, dict[int | None, ScopeTargets]] = {}
    for expectation in sorted(expectations_visible_to(user), key=_scope_key):
        if expectation.effective_to is not None:  # the end is exclusive; pages name the last week
            expectation.last_week = expectation.effective_to - dt.timedelta(days=7)
        by_scope = scopes.setdefault(expectation.activity_type_id, {})
        row = by_scope.setdefault(expectation.team_id, ScopeTargets(team=expectation.team))
        if expectation.effective_from > this_week:
            row.scheduled.append(expectation)
        elif expectation.effective_to is not None and expectation.effective_to <= this_week:
            row.history.insert(0, expectation)  # newest first
        else:
            row.current = expectation
    return [
        (activity_type, list(scopes.get(activity_type.pk, {}).values()))
        for activity_type in activity_types_visible_to(user).order_by("-active", "name")
        if activity_type.active or activity_type.pk in scopes
    ]


@require_GET
@leader_required
def expectations(request):
    this_week = _this_week(request)
    context = {
        "board": _expectation_board(request.user, this_week),
        "week_choices": week_choices(request.membership.organization),
        "this_week": this_week,
        "active": "expectations",
    }
    return render(request, "activities/config/expectations.html", context)


def _expectation_initial(request) -> dict:
    """Prefill from the list page's "Change" links (?activity_type=&team=); the form's
    choices stay scoped, so a foreign id just preselects nothing."""
    initial = {k: request.GET[k] for k in ("activity_type", "team") if request.GET.get(k, "").isdigit()}
    if "activity_type" in initial:
        week = _this_week(request)
        in_force = _targets_in_force(request.user, week, activity_type_id=initial["activity_type"])
        for expectation in in_force.get(int(initial["activity_type"]), []):
            if str(expectation.team_id or "") == initial.get("team", ""):
                initial["target"] = expectation.target
    return initial


@require_http_methods(["GET", "POST"])
@leader_required
def expectation_set(request):
    organization = request.membership.organization
    form = ExpectationForm(_bound(request), organization=organization, initial=_expectation_initial(request))
    if request.method == "POST" and form.is_valid():
        try:
            expectation = config.expectation_set(organization=organization, by=request.user, **form.cleaned_data)
        except AccountabilityError as error:
            _service_error(form, error)
        else:
            week = expectation.effective_from
            messages.success(
                request,
                f"{_describe(expectation)} from the week of {week:%b} {week.day}. Earlier weeks keep their target.",
            )
            return redirect("activities:expectations")
    return render(request, "activities/config/expectation_form.html", {"form": form, "active": "expectations"})


@require_POST
@leader_required
def expectation_end(request, pk):
    expectation = get_visible_or_404(expectations_visible_to(request.user), request.user, pk, "expectation")
    form = ExpectationEndForm(request.POST, organization=request.membership.organization)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["effective_to"]))
        return redirect("activities:expectations")
    description = _describe(expectation)
    try:
        config.expectation_end(expectation=expectation, by=request.user, effective_to=form.cleaned_data["effective_to"])
    except AccountabilityError as error:
        messages.error(request, error.message)
    else:
        if expectation.pk is None:  # ended before it began: the service removed it
            messages.success(request, f"{description} — removed; it never applies.")
        else:
            week = expectation.effective_to
            messages.success(request, f"{description} — no longer applies from the week of {week:%b} {week.day}.")
    return redirect("activities:expectations")


# --- integration keys ---------------------------------------------------------------------


def _keys(user):
    return scoped_to_organization(IntegrationKey.objects.select_related("created_by"), user).order_by("name", "pk")


def _secret_page(request, key: IntegrationKey, secret: str, *, rotated: bool):
    """The only response that ever carries the secret: rendered straight into this POST's
    answer — never stored in the session or a message — and marked not to be cached."""
    context = {
        "key": key,
        "secret": secret,
        "rotated": rotated,
        "endpoint": request.build_absolute_uri(WEBHOOK_PATH),
        "active": "keys",
    }
    return render(request, "activities/config/key_secret.html", context)


@require_GET
@leader_required
def keys(request):
    return render(request, "activities/config/keys.html", {"keys": _keys(request.user), "active": "keys"})


@never_cache
@require_http_methods(["GET", "POST"])
@leader_required
def key_create(request):
    form = IntegrationKeyForm(_bound(request))
    if request.method == "POST" and form.is_valid():
        try:
            key, secret = integrations.integration_key_create(
                organization=request.membership.organization, by=request.user, **form.cleaned_data
            )
        except AccountabilityError as error:
            _service_error(form, error)
        else:
            return _secret_page(request, key, secret, rotated=False)
    return render(request, "activities/config/key_form.html", {"form": form, "active": "keys"})


@never_cache
@require_POST
@leader_required
def key_rotate(request, pk):
    key = get_visible_or_404(_keys(request.user), request.user, pk, "integration key")
    key, secret = integrations.integration_key_rotate(key=key, by=request.user)
    return _secret_page(request, key, secret, rotated=True)


@require_POST
@leader_required
def key_toggle(request, pk):
    key = get_visible_or_404(_keys(request.user), request.user, pk, "integration key")
    form = KeyActiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say whether to activate or deactivate the key.")
        return redirect("activities:keys")
    try:
        integrations.integration_key_set_active(key=key, by=request.user, active=form.cleaned_data["active"])
    except AccountabilityError as error:
        messages.error(request, error.message)
    else:
        if key.active:
            outcome = "active again: requests signed with it are accepted"
        else:
            outcome = "deactivated: requests signed with it are refused"
        messages.success(request, f"Key “{key.name}” is {outcome}.")
    return redirect("activities:keys")
