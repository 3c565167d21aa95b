"""TV links: read-only scoreboard URLs for a wall screen (no login on the wall).

Only the sha256 of the token is stored; the raw token exists in the create response once.
Creating and revoking are audited."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accountability.errors import AccountabilityError
from accountability.models import Organization, User
from accountability.services import audit_log
from accountability.tokens import token_hash, token_new

from ..models import TvLink

SEEN_EVERY = dt.timedelta(minutes=5)  # a wall screen polls every minute: record it sparingly


def tv_link_create(*, organization: Organization, name: str, by: User) -> tuple[TvLink, str]:
    """A new link and its raw token (shown once, never stored)."""
    name = name.strip()
    if not name:
        raise AccountabilityError("Give the screen a name, e.g. “Sales floor”.", field="name")
    token = token_new()
    with transaction.atomic():
        link = TvLink.objects.create(
            organization=organization, name=name[:80], token_hash=token_hash(token), created_by=by
        )
        audit_log(organization=organization, actor=by, action="tv_link.create", obj=link, after={"name": link.name})
    return link, token


def tv_link_revoke(*, link: TvLink, by: User) -> TvLink:
    """Revoke a link; revoking a revoked link changes nothing and writes nothing."""
    if link.revoked_at is not None:
        return link
    with transaction.atomic():
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
        audit_log(
            organization=link.organization,
            actor=by,
            action="tv_link.revoke",
            obj=link,
            before={"revoked_at": None},
            after={"revoked_at": link.revoked_at},
        )
    return link


def tv_link_seen(*, link: TvLink, now: dt.datetime | None = None) -> None:
    """Remember when the screen last fetched the board (at most every few minutes)."""
    now = now or timezone.now()
    if link.last_seen_at is None or now - link.last_seen_at >= SEEN_EVERY:
        TvLink.objects.filter(pk=link.pk).update(last_seen_at=now)
        link.last_seen_at = now
