"""OpenAPI details shared by the API views: the error bodies every operation can answer.

drf-spectacular documents only the success response by default; the fuzzing suite
(schemathesis) checks every status code against the schema, so the errors are described too.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """401, 403, 404, 429: one readable message."""

    detail = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    """400: messages per request field (`non_field_errors` for the request as a whole), or
    `detail` for a body that is not valid JSON. Mapped to a free-form schema below."""


class ValidationErrorExtension(OpenApiSerializerExtension):
    target_class = ValidationErrorSerializer

    def get_name(self, auto_schema, direction):
        return "ValidationError"

    def map_serializer(self, auto_schema, direction):
        messages = {"type": "array", "items": {"type": "string"}}
        return {
            "type": "object",
            "description": "Field name → messages; `non_field_errors` for the request as a whole; "
            "`detail` (a string) for a malformed body.",
            "additionalProperties": {"oneOf": [messages, {"type": "string"}]},
            "example": {"quantity": ["Quantity must be between 1 and 1000."]},
        }


VALIDATION_ERROR = OpenApiResponse(ValidationErrorSerializer, description="Bad input; nothing was written.")
ERRORS = {
    "400": VALIDATION_ERROR,
    "401": OpenApiResponse(ErrorSerializer, description="No or invalid credentials."),
    "403": OpenApiResponse(ErrorSerializer, description="The caller's role may not do this."),
    "404": OpenApiResponse(ErrorSerializer, description="Not found, or outside what the caller may see."),
}


class ErrorDocumentingAutoSchema(AutoSchema):
    """Adds the error responses (400/401/403/404) an operation does not declare itself."""

    error_codes = tuple(ERRORS)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self.error_codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ERRORS[code], code, direction=direction)
        return responses


class PublicAutoSchema(ErrorDocumentingAutoSchema):
    """For endpoints open to anonymous callers, which declare their own errors."""

    error_codes = ()
