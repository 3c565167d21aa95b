"""Activities API (`/api/v1/`): activity types, expectations, integration keys, activities.

Querysets come from activities.selectors / accountability.access (404 outside what the
caller may see); the role checks come after the lookup (403, api.permissions); every write
is a service call whose refusal becomes a 400 naming the field (api.errors.service_errors).
"""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accountability.access import scoped_to_organization
from accountability.api.errors import service_errors
from accountability.api.permissions import ActsOnProducer, LeaderOnly, LeaderToChange
from accountability.api.views import MemberAPIMixin
from accountability.errors import AccountabilityError

from ..models import IntegrationKey, Source
from ..selectors import activities_visible_to, activity_types_visible_to, expectations_visible_to
from ..services import config, integrations
from ..services.log import (
    ActivityData,
    activity_delete,
    activity_log,
    activity_reject,
    activity_update,
    activity_verify,
)
from . import serializers as s
from .filters import ActivityFilter, ExpectationFilter


class ResourceViewSet(MemberAPIMixin, viewsets.GenericViewSet):
    """Requests and responses have their own serializers here (COMPONENT_SPLIT_REQUEST)."""

    def respond(self, instance, serializer_class, code=status.HTTP_200_OK):
        return Response(serializer_class(instance, context=self.get_serializer_context()).data, status=code)

    def parse(self, serializer_class, instance=None, *, partial=False):
        serializer = serializer_class(
            instance, data=self.request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return serializer


# --- activity types ----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Activity types of the organization (every member)"),
    retrieve=extend_schema(summary="One activity type"),
    create=extend_schema(summary="Create an activity type (leaders)"),
    update=extend_schema(summary="Change an activity type (leaders); deactivate with active=false"),
    partial_update=extend_schema(summary="Change some fields of an activity type (leaders)"),
)
class ActivityTypeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ResourceViewSet,
):
    serializer_class = s.ActivityTypeSerializer
    permission_classes = [LeaderToChange]

    def get_queryset(self):
        return activity_types_visible_to(self.request.user).order_by("name", "pk")

    def perform_create(self, serializer):
        with service_errors(serializer.fields):
            serializer.instance = config.activity_type_create(
                organization=self.membership.organization, by=self.request.user, **serializer.validated_data
            )

    def perform_update(self, serializer):
        with service_errors(serializer.fields):
            config.activity_type_update(
                activity_type=serializer.instance, by=self.request.user, **serializer.validated_data
            )


# --- expectations ------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Weekly targets (every member), with their effective periods"),
    retrieve=extend_schema(summary="One expectation"),
    create=extend_schema(
        summary="Set a weekly target from a week on (leaders)",
        description="Ends the period in force for the same type and team at `effective_from` and opens a new one: "
        "past weeks keep the target they had.",
        request=s.ExpectationCreateSerializer,
        responses={201: s.ExpectationSerializer},
    ),
    partial_update=extend_schema(
        summary="End an expectation from a week on (leaders)",
        request=s.ExpectationEndSerializer,
        responses={200: s.ExpectationSerializer, 204: OpenApiResponse(description="Removed: it never applied.")},
    ),
)
class ExpectationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ResourceViewSet):
    serializer_class = s.ExpectationSerializer
    permission_classes = [LeaderToChange]
    filter_backends = [DjangoFilterBackend]
    filterset_class = ExpectationFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        # One query: expectations joined to their activity type and team.
        return expectations_visible_to(self.request.user).order_by("activity_type__name", "team__name", "-pk")

    def create(self, request):
        serializer = self.parse(s.ExpectationCreateSerializer)
        with service_errors(serializer.fields):
            expectation = config.expectation_set(
                organization=self.membership.organization, by=request.user, **serializer.validated_data
            )
        return self.respond(expectation, s.ExpectationSerializer, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        expectation = self.get_object()
        serializer = self.parse(s.ExpectationEndSerializer)
        with service_errors(serializer.fields):
            config.expectation_end(expectation=expectation, by=request.user, **serializer.validated_data)
        if expectation.pk is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return self.respond(expectation, s.ExpectationSerializer)


# --- integration keys -----------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Integration keys (leaders); secrets are never listed"),
    retrieve=extend_schema(summary="One integration key (leaders)"),
    create=extend_schema(
        summary="Create an integration key (leaders)",
        request=s.IntegrationKeyCreateSerializer,
        responses={201: s.IntegrationKeySecretSerializer},
    ),
    partial_update=extend_schema(
        summary="Activate or deactivate a key (leaders)",
        request=s.IntegrationKeyUpdateSerializer,
        responses=s.IntegrationKeySerializer,
    ),
    rotate=extend_schema(
        summary="A new secret for the key (leaders); the old one stops working at once",
        request=None,
        responses=s.IntegrationKeySecretSerializer,
    ),
)
class IntegrationKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ResourceViewSet):
    serializer_class = s.IntegrationKeySerializer
    permission_classes = [LeaderOnly]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return scoped_to_organization(IntegrationKey.objects.all(), self.request.user).order_by("name", "pk")

    def create(self, request):
        serializer = self.parse(s.IntegrationKeyCreateSerializer)
        with service_errors(serializer.fields):
            key, secret = integrations.integration_key_create(
                organization=self.membership.organization, by=request.user, **serializer.validated_data
            )
        key.secret = secret
        return self.respond(key, s.IntegrationKeySecretSerializer, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        key = self.get_object()
        active = self.parse(s.IntegrationKeyUpdateSerializer, partial=True).validated_data.get("active", key.active)
        if key.active != active:  # PATCH is idempotent: the same state again is not an error
            with service_errors(["active"]):
                integrations.integration_key_set_active(key=key, by=request.user, active=active)
        return self.respond(key, s.IntegrationKeySerializer)

    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        key, secret = integrations.integration_key_rotate(key=self.get_object(), by=request.user)
        key.secret = secret
        return self.respond(key, s.IntegrationKeySecretSerializer)


# --- activities -----------------------------------------------------------------------------

DATA_FIELDS = ("activity_type", "occurred_at", "quantity", "value", "note", "evidence_url")


def activity_data(validated: dict, instance=None) -> ActivityData:
    """The request's fields over the activity's current ones (a PATCH sends only some)."""
    current = {name: getattr(instance, name) for name in DATA_FIELDS} if instance is not None else {}
    return ActivityData(**{**current, **{name: validated[name] for name in DATA_FIELDS if name in validated}})


@extend_schema_view(
    list=extend_schema(
        summary="Activities: producers see their own, managers their teams', leaders all",
        description="`from` / `to` are days of `occurred_at` in the organization's time zone, both inclusive.",
    ),
    retrieve=extend_schema(summary="One activity"),
    create=extend_schema(
        summary="Log an activity (source `api`)",
        request=s.ActivityCreateSerializer,
        responses={201: s.ActivitySerializer},
    ),
    update=extend_schema(summary="Change an activity", request=s.ActivityUpdateSerializer),
    partial_update=extend_schema(summary="Change some fields of an activity", request=s.ActivityUpdateSerializer),
    destroy=extend_schema(summary="Delete an activity (producers: only while its week is open)"),
    verify=extend_schema(summary="Verify (the producer's manager or a leader)", request=None),
    reject=extend_schema(
        summary="Reject with a reason (the producer's manager or a leader)", request=s.RejectSerializer
    ),
)
class ActivityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ResourceViewSet):
    serializer_class = s.ActivitySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ActivityFilter

    def get_queryset(self):
        # One query: activities joined to type, producer, reviewer and logger (selector).
        return activities_visible_to(self.request.user)

    def get_permissions(self):
        if self.action in ("verify", "reject"):
            return [ActsOnProducer()]
        return super().get_permissions()

    def create(self, request):
        serializer = self.parse(s.ActivityCreateSerializer)
        producer = serializer.validated_data.get("producer") or request.user
        with service_errors(serializer.fields):
            activity = activity_log(
                producer=producer, data=activity_data(serializer.validated_data), by=request.user, source=Source.API
            )
        return self.respond(activity, s.ActivitySerializer, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        activity = self.get_object()
        serializer = self.parse(s.ActivityUpdateSerializer, partial=partial)
        with service_errors(serializer.fields):
            activity = activity_update(
                activity=activity, data=activity_data(serializer.validated_data, activity), by=request.user
            )
        return self.respond(activity, s.ActivitySerializer)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def perform_destroy(self, instance):
        try:
            activity_delete(activity=instance, by=self.request.user)
        except AccountabilityError as error:  # nothing to correct in a DELETE: the role may not
            raise PermissionDenied(error.message) from None

    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        with service_errors():
            activity = activity_verify(activity=self.get_object(), by=request.user)
        return self.respond(activity, s.ActivitySerializer)

    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        activity = self.get_object()
        serializer = self.parse(s.RejectSerializer)
        with service_errors(serializer.fields):
            activity = activity_reject(activity=activity, by=request.user, **serializer.validated_data)
        return self.respond(activity, s.ActivitySerializer)
