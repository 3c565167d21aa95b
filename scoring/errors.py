"""Domain errors of scoring: raised by its services with a message a user can read; views
turn them into form errors, the API into 400s naming the field."""

from accountability.errors import AccountabilityError


class ExemptionError(AccountabilityError):
    """An exemption request or decision was refused (weeks, scope, overlap, role, state)."""
