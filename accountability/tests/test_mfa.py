"""Optional TOTP two-factor authentication, which an organization can require of leaders."""

import time

import pytest
import time_machine
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accountability.models import AuditEvent

pytestmark = pytest.mark.django_db


def code_for(device):
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def password_login(client, user, password):
    response = client.post(reverse("login"), {"username": user.email, "password": password})
    assert response.status_code == 302, "password step should succeed"
    return response


@pytest.fixture
def device_for():
    def _make(user):
        return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)

    return _make


def test_without_a_device_login_needs_no_code(client, producer, password):
    password_login(client, producer, password)
    assert client.get(reverse("home")).status_code == 200


def test_with_a_device_every_page_waits_for_the_code(client, producer, password, device_for):
    device = device_for(producer)
    password_login(client, producer, password)

    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_verify"))

    wrong = client.post(reverse("mfa_verify"), {"code": "000000", "next": "/"})
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.content.decode()
    assert client.get(reverse("home")).status_code == 302

    # django-otp throttles after a failure (1 s, doubling); a person retries after that.
    with time_machine.travel(time.time() + 5):
        right = client.post(reverse("mfa_verify"), {"code": code_for(device), "next": "/"})
    assert right.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_verify_ignores_a_next_url_on_another_host(client, producer, password, device_for):
    device = device_for(producer)
    password_login(client, producer, password)
    response = client.post(reverse("mfa_verify"), {"code": code_for(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_setup_confirms_the_device_with_a_valid_code_and_audits(client, producer, password):
    password_login(client, producer, password)
    page = client.get(reverse("mfa_setup"))
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=producer)
    assert device.confirmed is False

    bad = client.post(reverse("mfa_setup"), {"code": "123"})
    assert "That code is not right" in bad.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False
    assert not AuditEvent.objects.filter(action="mfa.enable").exists()

    with time_machine.travel(time.time() + 5):
        good = client.post(reverse("mfa_setup"), {"code": code_for(device), "next": "/"})
    assert good.status_code == 302
    device.refresh_from_db()
    assert device.confirmed is True
    assert AuditEvent.objects.filter(action="mfa.enable", actor=producer).count() == 1
    # The session that confirmed the device counts as verified.
    assert client.get(reverse("home")).status_code == 200


def test_organization_can_require_mfa_of_leaders_only(client, org, leader, producer, password):
    org.require_mfa_for_leaders = True
    org.save()

    password_login(client, leader, password)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_setup"))

    client.logout()
    password_login(client, producer, password)
    assert client.get(reverse("home")).status_code == 200


def test_required_mfa_cannot_be_turned_off(client, org, leader, password, device_for):
    org.require_mfa_for_leaders = True
    org.save()
    device = device_for(leader)
    password_login(client, leader, password)
    client.post(reverse("mfa_verify"), {"code": code_for(device), "next": "/"})

    with time_machine.travel(time.time() + 60):
        client.post(reverse("mfa_disable"), {"code": code_for(device)})
    assert TOTPDevice.objects.filter(user=leader, confirmed=True).exists()


def test_turning_off_needs_a_valid_code_and_is_audited(client, producer, password, device_for):
    device = device_for(producer)
    password_login(client, producer, password)
    client.post(reverse("mfa_verify"), {"code": code_for(device), "next": "/"})

    with time_machine.travel(time.time() + 60):
        client.post(reverse("mfa_disable"), {"code": "000000"})
        assert TOTPDevice.objects.filter(user=producer).exists()
    with time_machine.travel(time.time() + 70):
        response = client.post(reverse("mfa_disable"), {"code": code_for(device)})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=producer).exists()
    assert AuditEvent.objects.filter(action="mfa.disable", actor=producer).count() == 1


def test_mfa_pages_need_login_and_disable_is_post_only(client, producer):
    for name in ("mfa_status", "mfa_setup", "mfa_verify"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and reverse("login") in response["Location"]
    client.force_login(producer)
    assert client.get(reverse("mfa_disable")).status_code == 405
