"""Domain errors: raised by services with a message a user can read; views turn them into
form errors or 400 responses."""


class AccountabilityError(Exception):
    """A rule of the product refused the operation. `field` names the form field, if any."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvitationError(AccountabilityError):
    pass


class MembershipError(AccountabilityError):
    pass
