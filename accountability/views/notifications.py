"""The bell's page: the caller's own notifications, newest first, and marking them read."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .. import services
from ..access import member_required

PAGE_SIZE = 25


@member_required
def notification_list(request):
    # Only ever the caller's own: recipient=request.user is the whole visibility rule.
    page = Paginator(request.user.notifications.all(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accountability/notifications.html", {"page": page})


@require_POST
@member_required
def notification_mark_read(request):
    """Mark the posted ids read (or all, without ids). Ids that are not the caller's unread
    notifications are ignored: the service only touches the caller's rows."""
    ids = request.POST.getlist("id")
    ids = [i for i in ids if i.isdigit()] if ids else None
    marked = services.notifications_mark_read(user=request.user, notification_ids=ids)
    if marked:
        messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} as read.")
    return redirect("notifications")
