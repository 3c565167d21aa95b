"""Two-factor authentication pages: status, set-up, the second login step, turning it off."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from .. import mfa
from ..errors import AccountabilityError


class CodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


def _apply(form, call):
    """Run a service call for a valid form; put its error on the form. True on success."""
    if not form.is_valid():
        return False
    try:
        call(form.cleaned_data["code"])
    except AccountabilityError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return False
    return True


@login_required
def mfa_status(request):
    context = {
        "device": mfa.confirmed_device(request.user),
        "required": mfa.mfa_required(request.user),
        "form": CodeForm(),
    }
    return render(request, "registration/mfa_status.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def mfa_setup(request):
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None or request.method == "GET" and "restart" in request.GET:
        device = mfa.totp_setup_start(user=request.user)
    form = CodeForm(request.POST or None)
    confirm = lambda code: mfa.totp_setup_confirm(request=request, device=device, code=code)  # noqa: E731
    if request.method == "POST" and _apply(form, confirm):
        messages.success(request, "Two-factor authentication is on. You will be asked for a code at each login.")
        return redirect(_next_url(request))
    context = {"form": form, "qr_svg": mfa.totp_qr_svg(device), "secret": _base32(device), "next": _next_url(request)}
    return render(request, "registration/mfa_setup.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify(request):
    if mfa.confirmed_device(request.user) is None or request.user.is_verified():
        return redirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and _apply(form, lambda code: mfa.totp_verify(request=request, code=code)):
        return redirect(_next_url(request))
    return render(request, "registration/mfa_verify.html", {"form": form, "next": _next_url(request)})


@login_required
@require_POST
def mfa_disable(request):
    form = CodeForm(request.POST)
    if _apply(form, lambda code: mfa.totp_disable(user=request.user, code=code)):
        messages.success(request, "Two-factor authentication is off.")
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("mfa_status")


def _base32(device: TOTPDevice) -> str:
    import base64

    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
