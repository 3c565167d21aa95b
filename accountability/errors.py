"""Domain errors: raised by services with a message a user can read; views turn them into
form errors or 400 responses."""


class AccountabilityError(Exception):
    """A rule of the product refused the operation. `field` names the form field, if any."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvitationError(AccountabilityError):
    """`unknown`: the link matches no invitation at all (404), rather than a spent one (410)."""

    def __init__(self, message: str, *, field: str | None = None, unknown: bool = False):
        super().__init__(message, field=field)
        self.unknown = unknown


class MembershipError(AccountabilityError):
    pass
