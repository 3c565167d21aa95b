"""Core API (`/api/v1/`): token login/logout, me, organization, members, teams.

Views parse and authorize (accountability.access scopes every queryset); writes go through
accountability.services, whose refusals become 400s (api.errors.service_errors).
"""

from __future__ import annotations

import re

from axes.helpers import get_cool_off
from django.contrib.auth import authenticate, user_logged_in, user_login_failed
from django.db.models import Prefetch
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from knox.models import AuthToken
from rest_framework import status, viewsets
from rest_framework.exceptions import APIException, Throttled, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accountability import services
from accountability.access import get_visible_or_404, members_visible_to, membership_of, refuse, teams_visible_to
from accountability.mfa import confirmed_device, mfa_required
from accountability.models import Membership, User

from .errors import service_errors
from .pagination import Pagination
from .permissions import IsMember, LeaderToChange
from .schema import VALIDATION_ERROR, ErrorDocumentingAutoSchema, ErrorSerializer, PublicAutoSchema
from .serializers import (
    LoginSerializer,
    MemberSerializer,
    MeSerializer,
    OrganizationSerializer,
    TeamSerializer,
    TokenSerializer,
)

MAX_ID = 2**63 - 1


class MemberAPIMixin:
    """What every resource view shares: members only, errors documented, paginated lists."""

    permission_classes = [IsMember]
    parser_classes = [JSONParser]  # an integration API: JSON bodies only
    pagination_class = Pagination
    schema = ErrorDocumentingAutoSchema()

    @property
    def membership(self):
        return membership_of(self.request.user)

    def get_object(self):
        """404 outside what the caller may see (logged, as for the pages); then the role
        checks of the permission classes (403)."""
        lookup = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        obj = get_visible_or_404(self.get_queryset(), self.request.user, lookup, self.basename)
        self.check_object_permissions(self.request, obj)
        return obj


@csrf_exempt  # it changes nothing; otherwise a POST with a cookie would get the CSRF page
def not_found(request, *args, **kwargs):
    """An unknown API path (e.g. `/activities/1.5/`, which no route matches): JSON like every
    other API answer, for any method and without credentials."""
    return JsonResponse({"detail": "Not found."}, status=404)


# --- auth ------------------------------------------------------------------------------


class LoginFailed(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "That e-mail address and password don't match an active account."
    default_code = "invalid_login"


class TokenCreateView(APIView):
    """Exchange e-mail and password (plus `otp_code` where two-factor authentication is on)
    for an API token, valid until `expires_at`. Repeated failures lock the account and the
    address for a while (429), exactly as on the web login."""

    # authenticate() with the request runs django-axes, the web login's throttling.
    authentication_classes = []  # a credentials exchange: no session, so no CSRF either
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]
    schema = PublicAutoSchema()

    @extend_schema(
        operation_id="auth_token_create",
        summary="Log in: get an API token",
        request=LoginSerializer,
        responses={
            200: TokenSerializer,
            400: VALIDATION_ERROR,
            429: OpenApiResponse(ErrorSerializer, description="Too many failed logins; try again later."),
        },
        auth=[],
    )
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = authenticate(request._request, username=data["email"], password=data["password"])
        self._refuse_if_locked_out(request)
        if user is None:  # wrong password, unknown or inactive account: one message for all
            raise LoginFailed()
        if membership_of(user) is None:
            raise LoginFailed("This account is not a member of an organization.")
        self._check_second_factor(request, user, data.get("otp_code", ""))
        instance, token = AuthToken.objects.create(user=user)
        self._logged_in(request, user)
        return Response(TokenSerializer({"token": token, "expires_at": instance.expiry}).data)

    @staticmethod
    def _refuse_if_locked_out(request) -> None:
        django_request = request._request
        if getattr(django_request, "axes_locked_out", False):
            # Answer in JSON here; left set, AxesMiddleware would swap in its HTML page.
            django_request.axes_locked_out = False
            cool_off = get_cool_off(django_request)
            raise Throttled(
                wait=cool_off.total_seconds() if cool_off else None,
                detail="Too many failed login attempts. Try again later.",
            )

    @staticmethod
    def _check_second_factor(request, user: User, code: str) -> None:
        """A password alone must not get around two-factor authentication."""
        device = confirmed_device(user)
        if device is None:
            if mfa_required(user):
                raise ValidationError(
                    {"otp_code": ["Your organization requires two-factor authentication: set it up in the browser."]}
                )
            return
        if not device.verify_token("".join(code.split())):
            # Counted as a failed login, so guessing codes runs into the same lockout.
            user_login_failed.send(__name__, credentials={"username": user.email}, request=request._request)
            raise ValidationError({"otp_code": ["Send the current code from your authenticator app."]})

    @staticmethod
    def _logged_in(request, user: User) -> None:
        # Resets the failure counters (axes), records last_login and the security log.
        user_logged_in.send(sender=User, request=request._request, user=user)
        # Axes creates a session to key its access log by, and the login receiver stamps
        # it; a token client has no use for one, so it is dropped (and no cookie is set).
        request._request.session.flush()


class TokenDeleteView(APIView):
    """Log out: delete the token this request was made with."""

    permission_classes = [IsMember]
    parser_classes = [JSONParser]
    schema = ErrorDocumentingAutoSchema()

    @extend_schema(
        operation_id="auth_logout", summary="Log out: delete the current token", request=None, responses={204: None}
    )
    def post(self, request):
        if not isinstance(request.auth, AuthToken):
            raise ValidationError(
                {"non_field_errors": ["This request was not made with an API token; log out of the browser instead."]}
            )
        request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- me & organization ---------------------------------------------------------------


class MeView(MemberAPIMixin, APIView):
    @extend_schema(operation_id="me_retrieve", summary="The caller", responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(self.membership).data)


@extend_schema_view(
    get=extend_schema(operation_id="organization_retrieve", summary="The caller's organization"),
    put=extend_schema(operation_id="organization_update", summary="Change the organization's settings (leaders)"),
    patch=extend_schema(
        operation_id="organization_partial_update", summary="Change some organization settings (leaders)"
    ),
)
class OrganizationView(MemberAPIMixin, APIView):
    permission_classes = [LeaderToChange]
    serializer_class = OrganizationSerializer

    def get(self, request):
        return Response(OrganizationSerializer(self.membership.organization).data)

    def put(self, request):
        return self._update(request, partial=False)

    def patch(self, request):
        return self._update(request, partial=True)

    def _update(self, request, *, partial: bool):
        organization = self.membership.organization
        self.check_object_permissions(request, organization)
        serializer = OrganizationSerializer(organization, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        with service_errors(serializer.fields):
            organization = services.organization_update(
                organization=organization, by=request.user, data=serializer.validated_data
            )
        return Response(OrganizationSerializer(organization).data)


# --- members & teams ------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Members: leaders see all, managers their teams, producers themselves"),
    retrieve=extend_schema(summary="One member, by user id"),
)
class MemberViewSet(MemberAPIMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = MemberSerializer
    lookup_field = "user_id"
    lookup_url_kwarg = "id"

    def get_queryset(self):
        # One query: memberships joined to users and teams (members_visible_to).
        return members_visible_to(self.request.user).order_by("user__name", "user__email", "pk")

    def get_object(self):
        user_id = self.kwargs["id"]
        # Checked here: an id beyond the integer column's range would be a database error.
        if not (re.fullmatch("[0-9]{1,19}", user_id) and int(user_id) <= MAX_ID):
            refuse(self.request.user, f"member {user_id!r}", status=404)
        try:
            return self.get_queryset().get(user_id=int(user_id))
        except Membership.DoesNotExist:
            refuse(self.request.user, f"member {user_id!r}", status=404)


@extend_schema_view(
    list=extend_schema(summary="Teams: leaders see all, managers theirs, producers their own"),
    retrieve=extend_schema(summary="One team"),
)
class TeamViewSet(MemberAPIMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = TeamSerializer

    def get_queryset(self):
        managers = Prefetch("managers", queryset=User.objects.order_by("name", "pk"))
        return teams_visible_to(self.request.user).prefetch_related(managers).order_by("name", "pk")
