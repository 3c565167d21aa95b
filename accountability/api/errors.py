"""Turning domain errors into API errors: a refusal by a service is a 400 naming the field."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager

from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from accountability.errors import AccountabilityError


@contextmanager
def service_errors(fields: Iterable[str] = ()):
    """Re-raise an AccountabilityError (ActivityError, ConfigurationError, …) as a 400:
    `{"<field>": [message]}` when the field is part of the request, else
    `{"non_field_errors": [message]}`. The service wrote nothing (it runs in a transaction)."""
    try:
        yield
    except AccountabilityError as error:
        key = error.field if error.field in set(fields) else api_settings.NON_FIELD_ERRORS_KEY
        raise ValidationError({key: [error.message]}) from None
