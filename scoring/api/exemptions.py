"""Exemptions API (`/api/v1/exemptions/`): list and read (producers their own, managers their
teams', leaders all), request (producers, for themselves), cancel a pending request
(DELETE, its producer), approve / reject (the producer's manager or a leader).

Querysets come from scoring.selectors_exemptions (404 outside what the caller may see); role
checks come after the lookup (403); every write is a service call whose refusal becomes a
400 naming the field (accountability.api.errors.service_errors).
"""

from __future__ import annotations

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from accountability.access import can_act_on_producer, membership_of
from accountability.api.errors import service_errors
from accountability.api.permissions import IsMember, _refused
from accountability.api.views import MemberAPIMixin
from activities.api.filters import IdFilter
from activities.api.serializers import VisibleIdField
from activities.models import Expectation
from activities.selectors import expectations_visible_to

from ..models import ExemptionRequest
from ..selectors_exemptions import exemptions_visible_to
from ..services.exemptions import (
    NOTE_MAX_LENGTH,
    exemption_approve,
    exemption_cancel,
    exemption_reject,
    exemption_request,
)

# --- serializers ------------------------------------------------------------------------


class ExemptionSerializer(serializers.ModelSerializer):
    producer_name = serializers.CharField(source="producer.name", read_only=True)
    expectation_name = serializers.SerializerMethodField(help_text="The activity type, or “All expectations”.")
    decided_by_name = serializers.CharField(source="decided_by.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ExemptionRequest
        fields = [
            "id",
            "producer",
            "producer_name",
            "week_from",
            "week_to",
            "expectation",
            "expectation_name",
            "reason",
            "note",
            "status",
            "decided_by",
            "decided_by_name",
            "decided_at",
            "decision_note",
            "created_at",
        ]
        read_only_fields = fields

    def get_expectation_name(self, exemption) -> str:
        return exemption.expectation.activity_type.name if exemption.expectation_id else "All expectations"


class ExemptionCreateSerializer(serializers.Serializer):
    """What a producer asks; the rules (week starts, span, scope, overlap) are the service's."""

    week_from = serializers.DateField(help_text="The first week's start date (YYYY-MM-DD).")
    week_to = serializers.DateField(help_text="The last week's start date, inclusive.")
    expectation = VisibleIdField(
        scope=expectations_visible_to,
        queryset=Expectation.objects.none(),
        required=False,
        allow_null=True,
        default=None,
        help_text="An expectation id; empty or null for every expectation of those weeks.",
    )
    reason = serializers.ChoiceField(choices=ExemptionRequest.Reason.choices)
    note = serializers.CharField(max_length=NOTE_MAX_LENGTH, allow_blank=True, default="")


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH,
        allow_blank=True,
        default="",
        help_text="The producer reads it; required to reject.",
    )


class ExemptionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ExemptionRequest.Status.choices)
    producer = IdFilter(field_name="producer_id", help_text="A producer's user id.")

    class Meta:
        model = ExemptionRequest
        fields = []


# --- permissions ------------------------------------------------------------------------


class ExemptionPermission(IsMember):
    """Producers request and cancel their own; the producer's manager or a leader decides —
    never the producer. Detail routes are checked per object, after the 404 lookup."""

    message = "Only the producer's manager or a leader can decide an exemption; producers request their own."

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if view.action == "create" and not membership_of(request.user).is_producer:
            return _refused(request, "create exemption (not a producer)")
        return True

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        if view.action == "destroy":
            return obj.producer_id == request.user.pk or _refused(request, f"cancel exemption {obj.pk}")
        if obj.producer_id != request.user.pk and can_act_on_producer(request.user, obj.producer):
            return True
        return _refused(request, f"decide exemption {obj.pk}")


# --- views --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Exemption requests: producers their own, managers their teams', leaders all"),
    retrieve=extend_schema(summary="One exemption request"),
    create=extend_schema(
        summary="Request an exemption (producers, for themselves)",
        request=ExemptionCreateSerializer,
        responses={201: ExemptionSerializer},
    ),
    destroy=extend_schema(summary="Cancel a pending request (its producer)"),
    approve=extend_schema(
        summary="Approve (the producer's manager or a leader)",
        description="Those expectations are excused for those weeks; closed weeks are re-computed.",
        request=DecisionSerializer,
        responses=ExemptionSerializer,
    ),
    reject=extend_schema(
        summary="Reject with a note (the producer's manager or a leader)",
        request=DecisionSerializer,
        responses=ExemptionSerializer,
    ),
)
class ExemptionViewSet(
    MemberAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    serializer_class = ExemptionSerializer
    permission_classes = [ExemptionPermission]
    filter_backends = [DjangoFilterBackend]
    filterset_class = ExemptionFilter

    def get_queryset(self):
        # One query: requests joined to producer, team, expectation, type and decider.
        return exemptions_visible_to(self.request.user).order_by("-created_at", "-id")

    def _respond(self, exemption, code=status.HTTP_200_OK):
        return Response(ExemptionSerializer(exemption, context=self.get_serializer_context()).data, status=code)

    def _parse(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer

    def create(self, request):
        serializer = self._parse(ExemptionCreateSerializer)
        with service_errors(serializer.fields):
            exemption = exemption_request(producer=request.user, by=request.user, **serializer.validated_data)
        return self._respond(exemptions_visible_to(request.user).get(pk=exemption.pk), status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        with service_errors():
            exemption_cancel(exemption=instance, by=self.request.user)

    def _decide(self, service):
        exemption = self.get_object()
        serializer = self._parse(DecisionSerializer)
        with service_errors(serializer.fields):
            exemption = service(exemption=exemption, by=self.request.user, **serializer.validated_data)
        return self._respond(exemption)

    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(exemption_approve)

    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(exemption_reject)
