"""Security logging of logins and failed logins (django-axes keeps its own attempt log too)."""

import logging

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import Signal, receiver

from .middleware import LOGIN_AT_KEY

security_log = logging.getLogger("accountability.security")

# Sent inside the transaction of an organization's time zone or week-start change, so that
# apps storing week-start dates (activities, scoring) re-align them. Argument: organization.
week_structure_changed = Signal()


def _address(request):
    return request.META.get("REMOTE_ADDR") if request is not None else None


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    import time

    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT_KEY] = time.time()
    security_log.info("login user=%s address=%s", user.pk, _address(request))


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    security_log.warning("login failed username=%r address=%s", credentials.get("username"), _address(request))
