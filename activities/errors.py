from accountability.errors import AccountabilityError


class ActivityError(AccountabilityError):
    """An activity was refused (future date, closed week, duplicate, missing evidence, …)."""


class ConfigurationError(AccountabilityError):
    """An activity type or expectation change was refused."""
