"""API permissions, on top of accountability.access (which scopes every queryset).

Order matters for SPEC §1: on detail routes the object is looked up first, in a queryset
scoped to what the caller may see (404 outside it), and only then is the role checked
(403 for a visible object the role may not change). So the role checks of detail routes
live in `has_object_permission`.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accountability.access import can_act_on_producer, membership_of, security_log


def _refused(request, what: str) -> bool:
    security_log.warning("api access refused user=%s what=%s", getattr(request.user, "pk", None), what)
    return False


class IsMember(BasePermission):
    """Any active member of an organization. Anonymous → 401; no membership → 403."""

    message = "Only members of an organization can use the API."

    def has_permission(self, request, view):
        if membership_of(request.user) is not None:
            return True
        return request.user.is_authenticated and _refused(request, "no membership")


class LeaderToChange(IsMember):
    """Every member reads; only leaders create or change."""

    message = "Only leaders can change this."

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS or getattr(view, "detail", False):
            return True  # detail routes: decided per object, after the 404 check
        return self._leader(request, view)

    def has_object_permission(self, request, view, obj):
        return request.method in SAFE_METHODS or self._leader(request, view)

    def _leader(self, request, view) -> bool:
        what = f"{request.method} {getattr(view, 'basename', type(view).__name__)}"
        return membership_of(request.user).is_leader or _refused(request, what)


class LeaderOnly(LeaderToChange):
    """Leaders only, reading included (integration keys hold secrets)."""

    message = "Only leaders can manage integration keys."

    def has_permission(self, request, view):
        if not IsMember.has_permission(self, request, view):
            return False
        return getattr(view, "detail", False) or self._leader(request, view)

    def has_object_permission(self, request, view, obj):
        return self._leader(request, view)


class ActsOnProducer(IsMember):
    """Verify/reject: the producer's manager or a leader — never the producer themselves."""

    message = "Only the producer's manager or a leader can verify or reject activities."

    def has_object_permission(self, request, view, obj):
        if obj.producer_id != request.user.pk and can_act_on_producer(request.user, obj.producer):
            return True
        return _refused(request, f"review activity {obj.pk}")
