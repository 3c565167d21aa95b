"""Integration keys: a public key id and a secret for HMAC-signed webhook requests."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from accountability.models import Organization, User
from accountability.services import audit_log

from ..errors import ConfigurationError
from ..models import IntegrationKey


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def integration_key_create(
    *, organization: Organization, by: User, name: str, source_label: str
) -> tuple[IntegrationKey, str]:
    """Create a key; returns it with its secret, which is shown to the leader only now."""
    name, source_label = (name or "").strip(), (source_label or "").strip()
    if not name:
        raise ConfigurationError("Give the key a name.", field="name")
    if not source_label:
        raise ConfigurationError("Say which tool will use this key (e.g. HubSpot).", field="source_label")
    secret = _new_secret()
    with transaction.atomic():
        key = IntegrationKey.objects.create(
            organization=organization,
            name=name[:100],
            source_label=source_label[:60],
            key_id=f"ik_{secrets.token_hex(8)}",
            secret=secret,
            created_by=by,
        )
        audit_log(
            organization=organization,
            actor=by,
            action="integration_key.create",
            obj=key,
            after={"name": key.name, "source_label": key.source_label, "key_id": key.key_id},
        )
    return key, secret


def integration_key_rotate(*, key: IntegrationKey, by: User) -> tuple[IntegrationKey, str]:
    """A new secret for the same key id; the old secret stops working at once."""
    secret = _new_secret()
    with transaction.atomic():
        key.secret, key.rotated_at = secret, timezone.now()
        key.save(update_fields=["secret", "rotated_at"])
        audit_log(organization=key.organization, actor=by, action="integration_key.rotate", obj=key)
    return key, secret


def integration_key_set_active(*, key: IntegrationKey, by: User, active: bool) -> IntegrationKey:
    if key.active == active:
        raise ConfigurationError(f"The key is already {'active' if active else 'inactive'}.")
    with transaction.atomic():
        key.active = active
        key.save(update_fields=["active"])
        audit_log(
            organization=key.organization,
            actor=by,
            action="integration_key.activate" if active else "integration_key.deactivate",
            obj=key,
            before={"active": not active},
            after={"active": active},
        )
    return key
