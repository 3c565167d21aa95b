"""Session lifetime: the idle timeout is the sliding session cookie (SESSION_COOKIE_AGE with
SESSION_SAVE_EVERY_REQUEST); this middleware adds the absolute limit since login."""

import logging
import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login

security_log = logging.getLogger("accountability.security")
LOGIN_AT_KEY = "_login_at"


class SessionLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            started = request.session.get(LOGIN_AT_KEY)
            if started is None:
                request.session[LOGIN_AT_KEY] = time.time()
            elif time.time() - started > settings.SESSION_ABSOLUTE_SECONDS:
                security_log.info("session expired (absolute) user=%s", request.user.pk)
                logout(request)
                return redirect_to_login(request.get_full_path())
        return self.get_response(request)
