"""Login, logout and passwords (Django's auth views with our forms and templates), and
accepting an invitation. Logins and failed logins are logged by accountability.signals;
throttling is django-axes (settings.AXES_*)."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from .. import services
from ..errors import InvitationError
from ..forms_auth import InvitationAcceptForm, LoginForm, PasswordChangeForm, PasswordResetForm, SetPasswordForm

security_log = logging.getLogger("accountability.security")

# Axes' backend only checks lockouts and never returns a user, so login() must be told which
# backend vouches for the freshly created account.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class LoginView(auth_views.LoginView):
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have been logged out.")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = PasswordChangeForm

    def form_valid(self, form):
        security_log.info("password changed user=%s", self.request.user.pk)
        return super().form_valid(form)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm

    @property
    def extra_email_context(self):
        # Reset links are built from SITE_URL, never from the request's Host header, so a
        # forged Host cannot send someone a link to an attacker's site.
        return {"site_url": settings.SITE_URL}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = SetPasswordForm

    def form_valid(self, form):
        security_log.info("password reset user=%s", form.user.pk)
        return super().form_valid(form)


@never_cache
@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    try:
        invitation = services.invitation_for_token(token)
    except InvitationError as error:
        return _invitation_invalid(request, error)
    context = {"invitation": invitation}
    if request.user.is_authenticated:
        # Accepting while signed in would mix two accounts in one browser session.
        return render(request, "accountability/invitation_accept.html", context)
    data = request.POST if request.method == "POST" else None
    form = InvitationAcceptForm(data, initial={"name": invitation.name})
    if form.is_bound and form.is_valid():
        user = _accept(form, token)
        if user is not None:
            login(request, user, backend=MODEL_BACKEND)
            messages.success(request, f"Welcome, {user.get_short_name()}! Your account is ready.")
            return redirect("home")
    return render(request, "accountability/invitation_accept.html", {**context, "form": form})


def _accept(form: InvitationAcceptForm, token: str):
    """Create the account, or put the service's refusal on the form and return None."""
    data = form.cleaned_data
    try:
        return services.invitation_accept(token=token, name=data["name"], password=data["password1"])
    except ValidationError as error:  # Django's password validators
        form.add_error("password1", error)
    except InvitationError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
    return None


def _invitation_invalid(request, error: InvitationError):
    # Unknown links answer 404 like anything that does not exist; spent ones are 410 Gone.
    status = 404 if error.unknown else 410
    return render(request, "accountability/invitation_invalid.html", {"message": error.message}, status=status)
