"""Activity pages (SPEC §5): the producer's quick log and history, edit/delete while the week
is open; the manager's verification queue and logging on behalf of a team member.

Views parse and authorize (`accountability.access`, `activities.selectors`), validate with
`forms_log`, and leave every rule, write and audit event to `activities.services.log`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accountability.access import (
    get_producer_for_user,
    get_visible_or_404,
    member_required,
    members_visible_to,
    refuse,
    staff_required,
)
from accountability.models import Membership, Role
from accountability.weeks import ONE_WEEK, current_week_start, is_week_closed

from .errors import ActivityError
from .forms_log import ActivityForm, HistoryFilterForm, RejectForm
from .models import Activity, ActivityType, Source
from .selectors import Progress, activities_visible_to, activity_types_visible_to, verification_queue, week_progress
from .services.log import activity_delete, activity_log, activity_reject, activity_update, activity_verify

PER_PAGE = 25


def _bound(request):
    """POST data for a submitted form, None for a GET."""
    return request.POST if request.method == "POST" else None


def _form_error(form, error: ActivityError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _next_or(request, default: str) -> str:
    """Where to go after a non-htmx submit: a same-site `next`, else `default`."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def first_open_week(organization, now: dt.datetime) -> dt.date:
    """The oldest week a producer may still change: last week while its grace period runs."""
    previous = current_week_start(organization, now) - ONE_WEEK
    return previous + ONE_WEEK if is_week_closed(previous, organization, now) else previous


def _activity_for(user, pk) -> Activity:
    """An activity the user may see (404 otherwise), with what the pages show of it."""
    visible = activities_visible_to(user).select_related(
        "producer__membership__organization", "producer__membership__team"
    )
    return get_visible_or_404(visible, user, pk, "activity")


# --- the quick log: producers for themselves, staff for a producer they act on -----------


@dataclass
class TypeOption:
    """One button of the type picker: the type and, when it is expected, this week's progress."""

    activity_type: ActivityType
    progress: Progress | None
    checked: bool


def _loggable_types(user, keep: ActivityType | None = None):
    """Active types; an edit keeps showing the activity's own type even if since deactivated."""
    condition = Q(active=True) if keep is None else Q(active=True) | Q(pk=keep.pk)
    return activity_types_visible_to(user).filter(condition)


def _activity_form(request, membership: Membership, *, data=None, initial=None, keep=None) -> ActivityForm:
    # Producers pick from the open week(s); a manager or leader may go back further (audited).
    on_behalf = request.user.pk != membership.user_id
    earliest = None if on_behalf else first_open_week(membership.organization, timezone.now())
    types = _loggable_types(request.user, keep)
    return ActivityForm(
        data, organization=membership.organization, activity_types=types, earliest=earliest, initial=initial
    )


def _type_help(form: ActivityForm, types: list[ActivityType]) -> None:
    """Say which types need a link or a value, in the fields' help texts."""
    needs_link = [t.name for t in types if t.requires_evidence]
    if needs_link:
        form.fields["evidence_url"].help_text = "Required for " + ", ".join(needs_link) + "."
    valued = [t for t in types if t.tracks_value]
    if valued:
        form.fields["value"].help_text = (
            "Give " + "; ".join(f"{t.value_label or 'the value'} for {t}" for t in valued) + "."
        )
    if len({t.value_label for t in valued}) == 1 and valued[0].value_label:
        form.fields["value"].label = valued[0].value_label  # e.g. "Premium ($)"


def _type_options(form: ActivityForm, progress: list[Progress]) -> list[TypeOption]:
    """The type buttons, expected types first (by name), each with its progress; one query."""
    types = list(form.fields["activity_type"].queryset)
    _type_help(form, types)
    by_type = {row.activity_type.pk: row for row in progress}
    selected = str(form["activity_type"].value() or "")
    options = [TypeOption(t, by_type.get(t.pk), str(t.pk) == selected) for t in types]
    options.sort(key=lambda option: option.progress is None)
    return options


def quick_log_context(request, *, membership: Membership, form=None, success="", action=None) -> dict:
    """The quick-log panel for one producer: this week's progress per expectation, the type
    buttons with "N to go", the form. Three queries: expectations, totals, active types."""
    organization = membership.organization
    week = current_week_start(organization, timezone.now())
    progress = week_progress(membership=membership, week_start=week)
    form = form or _activity_form(request, membership)
    return {
        "form": form,
        "type_options": _type_options(form, progress),
        "progress": progress,
        "all_met": bool(progress) and all(row.met for row in progress),
        "week_start": week,
        "week_last": week + dt.timedelta(days=6),
        "success": success,
        "log_action": action or reverse("activities:log"),
        "for_producer": None if membership.user_id == request.user.pk else membership.user,
    }


def _logged_text(activity: Activity, by) -> str:
    whose = "" if activity.producer_id == by.pk else f" for {activity.producer}"
    week = current_week_start(activity.organization, timezone.now())
    when = "" if activity.week_start == week else f" in the week of {activity.week_start:%b %-d}"
    return f"Logged {activity.quantity}× {activity.activity_type}{whose}{when}."


def _log_page(request, *, membership: Membership, action: str):
    form = _activity_form(request, membership, data=_bound(request))
    success = ""
    if request.method == "POST" and form.is_valid():
        data = form.activity_data(occurred_at_default=timezone.now())
        try:
            activity = activity_log(producer=membership.user, data=data, by=request.user, source=Source.WEB)
        except ActivityError as error:
            _form_error(form, error)
        else:
            success = _logged_text(activity, request.user)
            if not request.htmx:
                messages.success(request, success)
                return redirect(_next_or(request, action))
            form = _activity_form(request, membership)  # a fresh form for the next entry
    context = quick_log_context(request, membership=membership, form=form, success=success, action=action)
    # htmx form errors answer 200 so that htmx swaps the form with its messages in.
    template = "activities/fragment_quick_log.html" if request.htmx else "activities/log.html"
    return render(request, template, context)


def _producers_to_log_for(user):
    return (
        members_visible_to(user)
        .filter(role=Role.PRODUCER, user__is_active=True)
        .select_related("user", "team")
        .order_by("team__name", "user__name")
    )


@require_http_methods(["GET", "POST"])
@member_required
def log(request):
    if request.membership.is_producer:
        return _log_page(request, membership=request.membership, action=reverse("activities:log"))
    if request.method == "POST":
        refuse(request.user, "quick log without a producer")  # staff log for someone: log_for
    return render(request, "activities/log_pick.html", {"producers": _producers_to_log_for(request.user)})


@require_http_methods(["GET", "POST"])
@staff_required
def log_for(request, producer_id):
    producer = get_producer_for_user(request.user, producer_id, write=True)
    membership = Membership.objects.select_related("organization", "team", "user").get(user=producer)
    return _log_page(request, membership=membership, action=reverse("activities:log_for", args=[producer.pk]))


# --- history, edit, delete ------------------------------------------------------------------


def _history_filters(request, membership: Membership) -> HistoryFilterForm:
    producers = None if membership.is_producer else list(_producers_to_log_for(request.user))
    types = activity_types_visible_to(request.user)
    return HistoryFilterForm(request.GET, activity_types=types, producers=producers)


def _mark_changeable(rows, request, membership: Membership) -> None:
    """Producers change their own activities only while the week is open (SPEC §2); a
    manager or leader changes those they see at any time (audited by the service)."""
    open_from = first_open_week(membership.organization, timezone.now())
    for row in rows:
        row.changeable = not membership.is_producer or row.week_start >= open_from


@require_GET
@member_required
def history(request):
    membership = request.membership
    filter_form = _history_filters(request, membership)
    filters = filter_form.filters()
    rows = HistoryFilterForm.apply(activities_visible_to(request.user), filters, membership.organization.tzinfo)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    _mark_changeable(page.object_list, request, membership)
    query = {key: getattr(value, "pk", value) for key, value in filters.items() if value}
    context = {
        "page": page,
        "filter_form": filter_form,
        "filter_query": urlencode(query),
        "staff": not membership.is_producer,
        "tz": membership.organization.timezone,
    }
    return render(request, "activities/history.html", context)


def _closed_to_producer(request, activity: Activity) -> str:
    """The refusal for a producer opening their own activity of a closed week, else ""."""
    organization = activity.producer.membership.organization
    if activity.producer_id != request.user.pk or not is_week_closed(activity.week_start, organization, timezone.now()):
        return ""
    return f"The week of {activity.week_start:%b %-d} is closed. Ask your manager to add or change it."


def _keep_exact_time(typed: dt.datetime, original: dt.datetime) -> dt.datetime:
    """The form shows minutes: an unchanged minute keeps the original instant to the second."""
    return original if typed == original.replace(second=0, microsecond=0) else typed


def _edit_initial(activity: Activity) -> dict:
    fields = ("activity_type", "quantity", "value", "note", "evidence_url", "occurred_at")
    initial = {name: getattr(activity, name) for name in fields}
    initial["value"] = "" if activity.value is None else activity.value
    return initial


@require_http_methods(["GET", "POST"])
@member_required
def edit(request, pk):
    activity = _activity_for(request.user, pk)
    refusal = _closed_to_producer(request, activity)
    if refusal:
        messages.error(request, refusal)
        return redirect("activities:history")
    membership = activity.producer.membership
    form = _activity_form(
        request, membership, data=_bound(request), initial=_edit_initial(activity), keep=activity.activity_type
    )
    if request.method == "POST" and form.is_valid():
        data = form.activity_data(occurred_at_default=activity.occurred_at)
        data.occurred_at = _keep_exact_time(data.occurred_at, activity.occurred_at)
        try:
            activity_update(activity=activity, data=data, by=request.user)
        except ActivityError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Saved {activity.quantity}× {activity.activity_type}.")
            return redirect("activities:history")
    context = {
        "activity": activity,
        "form": form,
        "type_options": _type_options(form, progress=[]),
        "action": reverse("activities:edit", args=[activity.pk]),
        "for_producer": activity.producer,
        "tz": membership.organization.timezone,
    }
    return render(request, "activities/edit.html", context)


@require_POST
@member_required
def delete(request, pk):
    activity = _activity_for(request.user, pk)
    description = f"{activity.quantity}× {activity.activity_type}"
    try:
        activity_delete(activity=activity, by=request.user)
    except ActivityError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Deleted {description}.")
    return redirect("activities:history")


# --- the verification queue -----------------------------------------------------------------


@require_GET
@staff_required
def queue(request):
    rows = verification_queue(request.user).select_related("producer__membership__team")
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "queue_count": page.paginator.count, "tz": request.membership.organization.timezone}
    return render(request, "activities/queue.html", context)


def _decision_response(request, activity: Activity, *, done: str = "", error: str = ""):
    """htmx: the item in its new state (and the queue count, out of band); else a redirect."""
    if request.htmx:
        context = {
            "activity": activity,
            "error": error,
            "done": done,
            "queue_count": verification_queue(request.user).count(),
            "oob_count": True,
            "tz": request.membership.organization.timezone,
        }
        return render(request, "activities/fragment_queue_item.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect("activities:queue")


@require_POST
@staff_required
def verify(request, pk):
    activity = _activity_for(request.user, pk)
    try:
        activity_verify(activity=activity, by=request.user)
    except ActivityError as error:
        return _decision_response(request, activity, error=error.message)
    return _decision_response(request, activity, done=f"Verified {activity.activity_type} by {activity.producer}.")


@require_POST
@staff_required
def reject(request, pk):
    activity = _activity_for(request.user, pk)
    form = RejectForm(request.POST)
    form.is_valid()  # the reason's rules are the service's
    try:
        activity_reject(activity=activity, by=request.user, reason=form.cleaned_data.get("reason", ""))
    except ActivityError as error:
        return _decision_response(request, activity, error=error.message)
    return _decision_response(request, activity, done=f"Rejected {activity.activity_type} by {activity.producer}.")
