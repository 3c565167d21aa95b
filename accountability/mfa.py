"""Optional TOTP two-factor authentication (django-otp), which an organization can
require of its leaders (SPEC §1).

After the password step a user with a confirmed device is logged in but not *verified*;
MfaMiddleware keeps them on the code page until they are. A leader of an organization that
requires MFA and has no device yet is kept on the set-up page.
"""

from __future__ import annotations

import io

import segno
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .access import membership_of
from .errors import AccountabilityError
from .services import audit_log


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def mfa_required(user) -> bool:
    """Whether the user's organization requires them to use a second factor."""
    membership = membership_of(user)
    return bool(membership and membership.is_leader and membership.organization.require_mfa_for_leaders)


def totp_setup_start(*, user) -> TOTPDevice:
    """A fresh, unconfirmed device (replacing an earlier unconfirmed one)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def totp_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URI as an inline SVG QR code (rendered locally, nothing downloaded)."""
    buffer = io.BytesIO()
    segno.make(device.config_url, error="m").save(buffer, kind="svg", scale=5, xmldecl=False, svgns=True, border=2)
    return buffer.getvalue().decode()


def totp_setup_confirm(*, request, device: TOTPDevice, code: str) -> TOTPDevice:
    """Confirm a new device with a code from the app; it replaces any earlier device."""
    if not device.verify_token(_clean(code)):
        raise AccountabilityError("That code is not right. Check the time on your phone and try again.", field="code")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=device.user, confirmed=True).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        _audit(device.user, "mfa.enable")
    otp_login(request, device)
    return device


def totp_verify(*, request, code: str) -> TOTPDevice:
    """The second login step."""
    device = confirmed_device(request.user)
    if device is None or not device.verify_token(_clean(code)):
        raise AccountabilityError("That code is not right. Try the current code from your app.", field="code")
    otp_login(request, device)
    return device


def totp_disable(*, user, code: str) -> None:
    if mfa_required(user):
        raise AccountabilityError("Your organization requires two-factor authentication for leaders.")
    device = confirmed_device(user)
    if device is None:
        raise AccountabilityError("Two-factor authentication is not turned on.")
    if not device.verify_token(_clean(code)):
        raise AccountabilityError("That code is not right.", field="code")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        _audit(user, "mfa.disable")


def _clean(code: str) -> str:
    return "".join((code or "").split())


def _audit(user, action: str) -> None:
    membership = membership_of(user)
    if membership is not None:
        audit_log(organization=membership.organization, actor=user, action=action, obj=user)


class MfaMiddleware:
    """Keep a logged-in user on the code (or set-up) page until the second factor is done."""

    ALLOWED_PREFIXES = ("/accounts/mfa/", "/accounts/logout/", "/static/", "/healthz")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not request.path.startswith(self.ALLOWED_PREFIXES):
            target = self._pending_step(user)
            if target is not None:
                return redirect(f"{reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)

    @staticmethod
    def _pending_step(user) -> str | None:
        if user.is_verified():
            return None
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            return "mfa_verify"
        if mfa_required(user):
            return "mfa_setup"
        return None
