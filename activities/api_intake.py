"""Activities that arrive in bulk (SPEC §5): the CSV import and the signed webhook.

- `POST /api/v1/activities/import/` (managers and leaders): a CSV file as the multipart
  field `file` or as a `text/csv` body; `?dry_run=1` checks without writing.
- `POST /api/v1/integrations/events/`: no user; the integration key's HMAC signature
  authenticates the request (activities.services.webhook).
"""

from __future__ import annotations

import tempfile

from django.core.exceptions import RequestDataTooBig
from django.http.request import RawPostDataException
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import BaseParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accountability.access import LEADER, MANAGER, require_role
from accountability.api.permissions import IsMember
from accountability.api.schema import ErrorDocumentingAutoSchema, ErrorSerializer, PublicAutoSchema

from .errors import ActivityError
from .models import MAX_QUANTITY, NOTE_MAX_LENGTH
from .services.imports import CSV_COLUMNS, MAX_UPLOAD_BYTES, MAX_UPLOAD_LABEL, ImportResult, activities_import
from .services.webhook import (
    MAX_EVENTS,
    WebhookAuthError,
    WebhookPayloadError,
    webhook_authenticate,
    webhook_events_ingest,
    webhook_payload_parse,
)

TOO_BIG = f"The file is larger than {MAX_UPLOAD_LABEL}; split it into smaller files."
# Multipart framing around the file: a little over the file size is still acceptable.
UPLOAD_SLACK = 64 * 1024

# --- serializers (shapes and documentation; the services validate) ----------------------------


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=f"A CSV file (UTF-8, at most {MAX_UPLOAD_LABEL}).")


class ImportRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        help_text="The line of the file where the row starts: the header is line 1, so the first data row is 2."
    )
    column = serializers.CharField(help_text="The CSV column, or empty for the row as a whole.", allow_blank=True)
    message = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    rows = serializers.IntegerField(help_text="Data rows read (blank lines are skipped).")
    created = serializers.IntegerField(
        help_text="Activities created — or, in a dry run, that would be. 0 when a real import had errors."
    )
    duplicates = serializers.IntegerField(
        help_text="Rows skipped: external_id already imported or repeated in the file, or an exact duplicate "
        "(producer, type, occurred_at, note) of a stored activity or of an earlier row."
    )
    closed_weeks = serializers.IntegerField(
        help_text="(producer, week) pairs in closed weeks that are (or would be) queued for re-computation."
    )
    errors = ImportRowErrorSerializer(many=True, help_text="Every row error. Any error: nothing is imported.")


class ImportFileErrorSerializer(serializers.Serializer):
    file = serializers.ListField(child=serializers.CharField(), help_text="Why the file cannot be read.")


class WebhookEventSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=200, help_text="The sender's id: repeats are duplicates.")
    producer_email = serializers.EmailField()
    activity_type = serializers.CharField(max_length=100, help_text="An activity type's name (any case).")
    occurred_at = serializers.CharField(
        help_text="ISO 8601. Without an offset (or a bare date) it is read in the organization's time zone."
    )
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, required=False, default=1)
    value = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True, help_text="Types that track one."
    )
    note = serializers.CharField(max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True)
    evidence_url = serializers.URLField(max_length=500, required=False, allow_blank=True)


class WebhookEventResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the event in the request (0-based).")
    external_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["created", "duplicate", "error"])
    id = serializers.IntegerField(required=False, help_text="The activity (created, or the one already stored).")
    error = serializers.CharField(required=False, help_text="Why the event was refused.")
    field = serializers.CharField(required=False, help_text="The event field the error is about.")


class WebhookResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = serializers.IntegerField()
    results = WebhookEventResultSerializer(many=True)


# --- CSV import --------------------------------------------------------------------------------


class CSVBodyParser(BaseParser):
    """A `text/csv` request body, spooled to a temporary file (never held whole in memory)."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        spooled = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 — the view closes it
        size = 0
        while chunk := stream.read(64 * 1024):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                spooled.close()
                raise ValidationError({"file": [TOO_BIG]})
            spooled.write(chunk)
        spooled.seek(0)
        return {"file": spooled}


def _dry_run(value: str | None) -> bool:
    flag = (value or "0").strip().lower()
    if flag in ("1", "true", "yes", "on"):
        return True
    if flag in ("0", "false", "no", "off"):
        return False
    raise ParseError("dry_run must be 1 (check only) or 0 (import).")


IMPORT_400 = PolymorphicProxySerializer(
    component_name="ActivityImportRefused",
    serializers=[ImportResultSerializer, ImportFileErrorSerializer, ErrorSerializer],
    resource_type_field_name=None,
)


class ActivityImportView(APIView):
    permission_classes = [IsMember]
    parser_classes = [MultiPartParser, CSVBodyParser]
    schema = ErrorDocumentingAutoSchema()

    @extend_schema(
        operation_id="activities_import",
        summary="Import activities from a CSV file (managers and leaders)",
        description=(
            f"Columns (header row required): {', '.join(CSV_COLUMNS)}. quantity defaults to 1; occurred_at is "
            "ISO 8601 — without an offset, or a bare date, it is read in the organization's time zone. Activity "
            "types are matched by name, case-insensitively. Managers import for the producers of their teams. "
            "With `dry_run=1` nothing is written and the answer says what would happen. A real import is all or "
            "nothing (any row error → 400, nothing written) and idempotent by external_id. "
            f"At most {MAX_UPLOAD_LABEL}."
        ),
        parameters=[
            OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="1: check and report only; nothing is written.")
        ],
        request={"multipart/form-data": ImportUploadSerializer, "text/csv": OpenApiTypes.BINARY},
        responses={
            200: ImportResultSerializer,
            400: OpenApiResponse(
                IMPORT_400,
                description="Row errors of a real import (nothing written; the body of a dry run), the file "
                "cannot be read (`file`), or a malformed request (`detail`).",
            ),
            401: OpenApiResponse(ErrorSerializer, description="No or invalid credentials."),
            403: OpenApiResponse(ErrorSerializer, description="Producers cannot import."),
        },
    )
    def post(self, request):
        membership = require_role(request.user, MANAGER, LEADER)
        dry_run = _dry_run(request.query_params.get("dry_run"))
        if _content_length(request) > MAX_UPLOAD_BYTES + UPLOAD_SLACK:  # refused before reading it
            raise ValidationError({"file": [TOO_BIG]})
        upload = request.data.get("file") if hasattr(request.data, "get") else None
        if upload is None or isinstance(upload, str):
            raise ValidationError({"file": ["Send the CSV as the multipart field “file” or as a text/csv body."]})
        try:
            result = activities_import(
                organization=membership.organization,
                by=request.user,
                file=getattr(upload, "file", upload),
                dry_run=dry_run,
                filename=getattr(upload, "name", "") or "api.csv",
            )
        except ActivityError as error:
            raise ValidationError({"file": [error.message]}) from None
        finally:
            upload.close()
        code = status.HTTP_400_BAD_REQUEST if not (dry_run or result.ok) else status.HTTP_200_OK
        return Response(_result_data(result), status=code)


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _result_data(result: ImportResult) -> dict:
    """The ImportResultSerializer shape, built directly: 50,000 row errors are too many to
    pass through serializer fields one by one."""
    summary = result.summary()
    del summary["error_rows"]
    errors = [{"row": error.row, "column": error.column, "message": error.message} for error in result.errors]
    return {**summary, "errors": errors}


# --- webhook -----------------------------------------------------------------------------------

WEBHOOK_EXAMPLE = {
    "external_id": "hubspot-call-88812",
    "producer_email": "producer@summit.example",
    "activity_type": "CRM entry",
    "occurred_at": "2026-03-02T09:30:00-06:00",
    "quantity": 1,
    "note": "Renewal call",
}

WEBHOOK_BODY = PolymorphicProxySerializer(
    component_name="WebhookEvents",
    serializers=[WebhookEventSerializer, WebhookEventSerializer(many=True)],
    resource_type_field_name=None,
    many=False,  # one event, or a list of them
)


class IntegrationEventsView(APIView):
    """No user: the request is authenticated by the integration key's signature, so neither
    session (nor its CSRF check) nor token authentication applies."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]  # documents the media type; the raw body is read for the signature
    schema = PublicAutoSchema()

    @extend_schema(
        operation_id="integrations_events_create",
        summary="Push activities from a CRM / marketing / social tool (signed)",
        description=(
            "Sign each request with the integration key's secret: `X-Signature: sha256=<hex HMAC-SHA256 of "
            '"<X-Timestamp>.<raw body>">`. Requests more than 5 minutes off the server clock are refused. '
            f"The body is one event or a list of up to {MAX_EVENTS}. Each event is created, a duplicate (its "
            "external_id was accepted before, or it exactly repeats a stored activity) or refused with a reason — "
            "independently of the others. Events in closed weeks are accepted (the tool is the system of record); "
            "their weeks are re-computed."
        ),
        auth=[],
        parameters=[
            OpenApiParameter("X-Integration-Key", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Timestamp", str, OpenApiParameter.HEADER, required=True, description="Unix seconds"),
            OpenApiParameter("X-Signature", str, OpenApiParameter.HEADER, required=True, description="sha256=<hex>"),
        ],
        request={"application/json": WEBHOOK_BODY},
        examples=[OpenApiExample("One event", value=WEBHOOK_EXAMPLE, request_only=True)],
        responses={
            200: WebhookResultSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Not JSON, not events, or more than 500 events."),
            401: OpenApiResponse(
                ErrorSerializer,
                description="Missing headers, unknown or inactive key, bad "
                "signature or a timestamp more than 5 minutes off.",
            ),
        },
    )
    def post(self, request):
        try:
            body = request.body
        except (RequestDataTooBig, RawPostDataException):
            return Response({"detail": "The body is too large: send at most 500 events per request."}, status=400)
        headers = request.headers
        try:
            key = webhook_authenticate(
                key_id=headers.get("X-Integration-Key", ""),
                timestamp=headers.get("X-Timestamp", ""),
                signature=headers.get("X-Signature", ""),
                body=body,
            )
        except WebhookAuthError as error:
            return Response({"detail": error.message}, status=401, headers={"WWW-Authenticate": "Signature"})
        try:
            events = webhook_payload_parse(body)
        except WebhookPayloadError as error:
            return Response({"detail": error.message}, status=400)
        results = webhook_events_ingest(key=key, events=events)
        counts = {s: sum(r.status == s for r in results) for s in ("created", "duplicate", "error")}
        data = {
            "created": counts["created"],
            "duplicates": counts["duplicate"],
            "errors": counts["error"],
            "results": [r.as_dict() for r in results],
        }
        return Response(data)
