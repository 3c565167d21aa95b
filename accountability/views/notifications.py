from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .. import services
from ..access import member_required


@member_required
def notification_list(request):
    page = Paginator(request.user.notifications.all(), 25).get_page(request.GET.get("page"))
    return render(request, "accountability/notifications.html", {"page": page})


@require_POST
@member_required
def notification_mark_read(request):
    ids = request.POST.getlist("id") or None
    if ids is not None:
        ids = [i for i in ids if i.isdigit()]
    services.notifications_mark_read(user=request.user, notification_ids=ids)
    return redirect("notifications")
