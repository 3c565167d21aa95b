"""The CSV import page (SPEC §5): upload → dry-run preview (counts and every row error) →
confirm → all-or-nothing import. Managers (for their teams) and leaders; producers 403.

The uploaded file waits for the confirmation on disk, scoped to the uploader
(activities.services.staged_imports), so confirming needs no second upload; another user's
(or an unknown, expired) upload is 404."""

from __future__ import annotations

import math
from pathlib import Path

from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accountability.access import refuse, staff_required, teams_visible_to
from accountability.errors import AccountabilityError

from .forms_import import ImportUploadForm
from .selectors import activity_types_visible_to
from .services.imports import CSV_COLUMNS, MAX_ROWS, MAX_UPLOAD_LABEL, ImportResult, activities_import
from .services.staged_imports import (
    StagedImport,
    staged_import_create,
    staged_import_delete,
    staged_import_errors,
    staged_import_get,
    staged_import_save_result,
)

ERRORS_PER_PAGE = 50


def _staged_or_404(request, token: str) -> StagedImport:
    staged = staged_import_get(user=request.user, token=token)
    if staged is None:
        refuse(request.user, f"staged import {token[:8]}", status=404)
    return staged


@require_http_methods(["GET", "POST"])
@staff_required
def upload(request):
    organization = request.membership.organization
    posted = request.method == "POST"
    form = ImportUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        try:
            staged = staged_import_create(
                user=request.user, organization=organization, upload=form.cleaned_data["file"]
            )
        except AccountabilityError as error:
            form.add_error("file", error.message)
        else:
            return redirect("activities:import_preview", token=staged.token)
    context = {
        "form": form,
        "organization": organization,
        "types": activity_types_visible_to(request.user).filter(active=True),
        "teams": None if request.membership.is_leader else teams_visible_to(request.user),
        "columns": CSV_COLUMNS,
        "max_rows": MAX_ROWS,
        "max_size": MAX_UPLOAD_LABEL,
    }
    return render(request, "activities/import/upload.html", context)


@require_GET
@staff_required
def template(request):
    """An example file with the header row, to fill in."""
    today = timezone.localdate(timezone=request.membership.organization.tzinfo)
    example = activity_types_visible_to(request.user).filter(active=True).first()
    rows = [
        ",".join(CSV_COLUMNS),
        f"producer@example.com,{example.name if example else 'CRM entry'},{today:%Y-%m-%d} 09:30,1,,Call,,crm-1",
    ]
    response = HttpResponse("\r\n".join(rows) + "\r\n", content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="activities-import-template.csv"'
    return response


@require_GET
@staff_required
def preview(request, token):
    staged = _staged_or_404(request, token)
    error_count = staged.result.get("error_count", 0)
    pages = max(1, math.ceil(error_count / ERRORS_PER_PAGE))
    page = _page_number(request.GET.get("page"), pages)
    start = (page - 1) * ERRORS_PER_PAGE
    context = {
        "staged": staged,
        "result": staged.result,
        "error_count": error_count,
        "errors": staged_import_errors(staged, start=start, stop=start + ERRORS_PER_PAGE),
        "page": page,
        "pages": pages,
    }
    if request.htmx:
        return render(request, "activities/import/fragment_errors.html", context)
    return render(request, "activities/import/preview.html", context)


def _page_number(value, pages: int) -> int:
    try:
        return min(max(int(value or 1), 1), pages)
    except ValueError:
        return 1


@require_GET
@staff_required
def errors_download(request, token):
    """Every row error of the check, as CSV (row, column, message)."""
    staged = _staged_or_404(request, token)
    filename = f"{Path(staged.filename).stem or 'import'}-errors.csv"
    return FileResponse(
        staged.errors_path.open("rb"), as_attachment=True, filename=filename, content_type="text/csv; charset=utf-8"
    )


@require_POST
@staff_required
def confirm(request, token):
    staged = _staged_or_404(request, token)
    organization = request.membership.organization
    try:
        with staged.path.open("rb") as file:
            result = activities_import(
                organization=organization, by=request.user, file=file, dry_run=False, filename=staged.filename
            )
    except AccountabilityError as error:
        messages.error(request, f"Nothing was imported. {error.message}")
        return redirect("activities:import_preview", token=token)
    if not result.ok:  # the data changed since the check (a producer left, a type was deactivated, …)
        staged_import_save_result(staged, result)
        messages.error(
            request, f"Nothing was imported: {result.error_rows} row(s) have errors. Fix the file and upload it again."
        )
        return redirect("activities:import_preview", token=token)
    staged_import_delete(staged)
    messages.success(request, _imported(result))
    return redirect("activities:import")


def _imported(result: ImportResult) -> str:
    text = f"Imported {result.created} activit{'y' if result.created == 1 else 'ies'}"
    if result.duplicates:
        text += f"; {result.duplicates} duplicate row(s) skipped"
    if result.closed_weeks:
        text += f". {result.closed_weeks} closed producer-week(s) will be re-scored"
    return text + "."


@require_POST
@staff_required
def discard(request, token):
    staged_import_delete(_staged_or_404(request, token))
    messages.info(request, "The upload was discarded; nothing was imported.")
    return redirect("activities:import")
