"""Exemption pages (SPEC §5): a producer's requests and the request form; the decision queue
and history for managers (their teams) and leaders (the organization).

Views parse and authorize (`accountability.access`, `scoring.selectors_exemptions`), validate
with `forms_exemptions`, and leave every rule, write and audit event to
`scoring.services.exemptions`."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accountability.access import get_visible_or_404, member_required, refuse, role_required, staff_required
from accountability.models import Role
from accountability.weeks import current_week_start
from activities.selectors import expectations_in_force

from .errors import ExemptionError
from .forms_exemptions import DecisionForm, ExemptionRequestForm
from .models import ExemptionRequest
from .selectors_exemptions import exemption_queue, exemptions_decided, exemptions_visible_to
from .services.exemptions import exemption_approve, exemption_cancel, exemption_reject, exemption_request

PER_PAGE = 25
producer_required = role_required(Role.PRODUCER)


def _exemption_for(user, pk) -> ExemptionRequest:
    return get_visible_or_404(exemptions_visible_to(user), user, pk, "exemption")


@require_GET
@member_required
def exemptions(request):
    """Producers: their own requests. Managers and leaders: the queue, then the history."""
    membership = request.membership
    if membership.is_producer:
        rows = exemptions_visible_to(request.user).order_by("-week_from", "-id")
        page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
        return render(request, "scoring/exemptions/mine.html", {"page": page})
    history = Paginator(exemptions_decided(request.user), PER_PAGE).get_page(request.GET.get("page"))
    context = {"queue": list(exemption_queue(request.user)), "page": history}
    return render(request, "scoring/exemptions/queue.html", context)


@require_http_methods(["GET", "POST"])
@producer_required
def exemption_new(request):
    membership = request.membership
    organization = membership.organization
    current = current_week_start(organization, timezone.now())
    in_force = expectations_in_force(organization=organization, week_start=current, team_id=membership.team_id)
    expectations = sorted(in_force.values(), key=lambda e: e.activity_type.name)
    form = ExemptionRequestForm(
        request.POST if request.method == "POST" else None, current_week=current, expectations=expectations
    )
    if form.is_valid():
        try:
            exemption_request(producer=request.user, by=request.user, **form.cleaned_data)
        except ExemptionError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "Your exemption request was sent to your manager.")
            return redirect("scoring:exemptions")
    status = 400 if form.is_bound else 200
    return render(request, "scoring/exemptions/request.html", {"form": form}, status=status)


def _decision_response(request, exemption: ExemptionRequest, *, done: str = "", error: str = ""):
    """htmx: the card in its new state; else a message and back to the queue."""
    if request.htmx:
        # 200 even for a refusal: htmx swaps only successful answers, and the card shows it.
        context = {"exemption": exemption, "done": done, "error": error}
        return render(request, "scoring/exemptions/fragment_queue_item.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect("scoring:exemptions")


def _decide(request, pk, service, verb: str):
    exemption = _exemption_for(request.user, pk)
    form = DecisionForm(request.POST)
    form.is_valid()  # the note's rules are the service's
    try:
        exemption = service(exemption=exemption, by=request.user, note=form.cleaned_data.get("note", ""))
    except ExemptionError as error:
        return _decision_response(request, exemption, error=error.message)
    return _decision_response(request, exemption, done=f"{verb} the request of {exemption.producer.name}.")


@require_POST
@staff_required
def exemption_approve_view(request, pk):
    return _decide(request, pk, exemption_approve, "Approved")


@require_POST
@staff_required
def exemption_reject_view(request, pk):
    return _decide(request, pk, exemption_reject, "Rejected")


@require_POST
@member_required
def exemption_cancel_view(request, pk):
    exemption = _exemption_for(request.user, pk)
    if exemption.producer_id != request.user.pk:
        refuse(request.user, f"cancel exemption {pk}")
    try:
        exemption_cancel(exemption=exemption, by=request.user)
    except ExemptionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Your request was cancelled.")
    return redirect("scoring:exemptions")
