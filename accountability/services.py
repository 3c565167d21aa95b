"""Writes for the core: audit events, notifications, organization settings, teams,
memberships, invitations. Every write validates, runs in a transaction and is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.template.loader import render_to_string
from django.utils import timezone
from knox.models import AuthToken

from .errors import AccountabilityError, InvitationError, MembershipError
from .models import AuditEvent, Invitation, Membership, Notification, Organization, Role, Team, User
from .signals import week_structure_changed
from .tokens import token_hash, token_new

WEEK_STRUCTURE = {"timezone", "week_start"}
ORGANIZATION_SETTINGS = (
    "name",
    "timezone",
    "week_start",
    "grace_hours",
    "scoreboard_visibility",
    "scoreboard_top_n",
    "recovery_weeks",
    "ramp_weeks",
    "verification_sample_size",
    "nudge_weekday",
    "digest_weekday",
    "require_mfa_for_leaders",
)


# --- audit & notifications ----------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def snapshot(obj: Model, fields) -> dict:
    """A JSON-friendly dict of the given fields, for an audit event's before/after."""
    return {name: _jsonable(getattr(obj, f"{name}_id" if _is_fk(obj, name) else name)) for name in fields}


def _is_fk(obj: Model, name: str) -> bool:
    field = obj._meta.get_field(name)
    return field.many_to_one or field.one_to_one


def audit_log(
    *,
    organization: Organization,
    actor: User | None,
    action: str,
    obj: Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Append an audit event. Call inside the transaction that makes the change."""
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        before=_jsonable(before),
        after=_jsonable(after),
    )


def notification_send(*, recipient: User, kind: str, text: str, link: str = "", email: bool = True) -> Notification:
    """An in-app notification; the same text goes out by e-mail from a worker once the
    transaction commits (a rolled-back change never e-mails anyone)."""
    from .tasks import notification_email  # tasks import services: keep the cycle lazy

    membership = recipient.membership
    notification = Notification.objects.create(
        recipient=recipient, organization=membership.organization, kind=kind, text=text[:500], link=link
    )
    if email and recipient.is_active:
        notification_email.delay_on_commit(notification.pk)
    return notification


def notification_email_send(*, notification_id: int) -> bool:
    """E-mail one notification. Returns False when there is nothing to send (deleted,
    recipient deactivated meanwhile)."""
    notification = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if notification is None or not notification.recipient.is_active:
        return False
    context = {"notification": notification, "site_url": settings.SITE_URL}
    subject = render_to_string("emails/notification-subject.txt", context).strip()
    body = render_to_string("emails/notification-body.txt", context)
    send_mail(subject, body, None, [notification.recipient.email])
    return True


def notifications_mark_read(*, user: User, notification_ids=None) -> int:
    queryset = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        queryset = queryset.filter(pk__in=notification_ids)
    return queryset.update(read_at=timezone.now())


# --- organization ------------------------------------------------------------------


def organization_update(*, organization: Organization, by: User, data: dict) -> Organization:
    """Change organization settings (leaders). Unknown keys are refused."""
    unknown = set(data) - set(ORGANIZATION_SETTINGS)
    if unknown:
        raise AccountabilityError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        before = snapshot(organization, data.keys())
        for key, value in data.items():
            setattr(organization, key, value)
        try:
            organization.full_clean()
        except ValidationError as error:  # forms validate first; this guards API and scripts
            field, messages = next(iter(error.message_dict.items()))
            raise AccountabilityError(" ".join(messages), field=field) from None
        changed = {k: v for k, v in snapshot(organization, data.keys()).items() if before[k] != v}
        if changed:
            organization.save(update_fields=list(changed))
            audit_log(
                organization=organization,
                actor=by,
                action="organization.update",
                obj=organization,
                before={k: before[k] for k in changed},
                after=changed,
            )
            if WEEK_STRUCTURE & changed.keys():
                # Stored week starts of other apps follow the new structure in this same
                # transaction (apps depending on the core listen; the core imports none).
                week_structure_changed.send(sender=Organization, organization=organization)
    return organization


# --- teams --------------------------------------------------------------------------


def _check_managers(organization: Organization, managers) -> list[User]:
    managers = list(managers)
    wrong = [
        u for u in managers
        if getattr(u.membership_or_none, "organization_id", None) != organization.pk
        or u.membership.role != Role.MANAGER
    ]
    if wrong:
        raise AccountabilityError(
            f"Only managers of this organization can manage a team: {', '.join(str(u) for u in wrong)}.",
            field="managers",
        )
    return managers


def team_create(*, organization: Organization, by: User, name: str, managers=()) -> Team:
    name = name.strip()
    if not name:
        raise AccountabilityError("A team needs a name.", field="name")
    managers = _check_managers(organization, managers)
    try:
        with transaction.atomic():
            team = Team.objects.create(organization=organization, name=name)
            team.managers.set(managers)
            audit_log(
                organization=organization,
                actor=by,
                action="team.create",
                obj=team,
                after={"name": name, "managers": sorted(u.pk for u in managers)},
            )
    except IntegrityError:
        raise AccountabilityError(f"A team named “{name}” already exists.", field="name") from None
    return team


def team_update(*, team: Team, by: User, name: str, managers) -> Team:
    name = name.strip()
    if not name:
        raise AccountabilityError("A team needs a name.", field="name")
    managers = _check_managers(team.organization, managers)
    before = {"name": team.name, "managers": sorted(team.managers.values_list("pk", flat=True))}
    after = {"name": name, "managers": sorted(u.pk for u in managers)}
    if before == after:
        return team
    try:
        with transaction.atomic():
            team.name = name
            team.save(update_fields=["name"])
            team.managers.set(managers)
            audit_log(
                organization=team.organization, actor=by, action="team.update", obj=team, before=before, after=after
            )
    except IntegrityError:
        raise AccountabilityError(f"A team named “{name}” already exists.", field="name") from None
    return team


def team_delete(*, team: Team, by: User) -> None:
    if team.producers.exists():
        raise AccountabilityError("Move this team's producers to another team before deleting it.")
    with transaction.atomic():
        audit_log(organization=team.organization, actor=by, action="team.delete", obj=team, before={"name": team.name})
        team.delete()


# --- memberships ----------------------------------------------------------------------


def _validate_role_team(organization: Organization, role: str, team: Team | None) -> None:
    if role not in Role.values:
        raise MembershipError(f"Unknown role “{role}”.", field="role")
    if role == Role.PRODUCER and team is None:
        raise MembershipError("A producer must belong to a team.", field="team")
    if team is not None and team.organization_id != organization.pk:
        raise MembershipError("That team is not in this organization.", field="team")


def membership_create(
    *, organization: Organization, user: User, role: str, team: Team | None = None, active_from=None, by: User | None
) -> Membership:
    _validate_role_team(organization, role, team)
    with transaction.atomic():
        membership = Membership.objects.create(
            user=user,
            organization=organization,
            role=role,
            team=team if role == Role.PRODUCER else None,
            active_from=active_from or timezone.localdate(timezone=organization.tzinfo),
        )
        if role == Role.MANAGER and team is not None:
            team.managers.add(user)
        audit_log(
            organization=organization,
            actor=by,
            action="membership.create",
            obj=membership,
            after={"user": user.email, "role": role, "team": team.pk if team else None},
        )
    return membership


def membership_change(*, membership: Membership, by: User, role: str, team: Team | None) -> Membership:
    """Change a member's role and team (leaders). A manager's managed teams are kept only
    while they stay a manager."""
    organization = membership.organization
    _validate_role_team(organization, role, team)
    if membership.user_id == by.pk and role != Role.LEADER:
        raise MembershipError("You cannot remove your own leader role; ask another leader.", field="role")
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        before = {"role": membership.role, "team": membership.team_id}
        membership.role = role
        membership.team = team if role == Role.PRODUCER else None
        after = {"role": membership.role, "team": membership.team_id}
        if before == after and not (role == Role.MANAGER and team is not None):
            return membership
        membership.save(update_fields=["role", "team"])
        if role != Role.MANAGER:
            for managed in Team.objects.filter(managers=membership.user):
                managed.managers.remove(membership.user)
        elif team is not None:
            team.managers.add(membership.user)
        audit_log(
            organization=organization, actor=by, action="membership.change", obj=membership, before=before, after=after
        )
    return membership


def _end_sessions(user: User) -> int:
    """Delete every database session of the user (deactivation ends sessions at once)."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


def user_deactivate(*, membership: Membership, by: User) -> Membership:
    """Deactivate a member: they can no longer log in, their sessions end, and they drop out
    of scoring from today (their history stays)."""
    if membership.user_id == by.pk:
        raise MembershipError("You cannot deactivate yourself.")
    if membership.active_to is not None and not membership.user.is_active:
        raise MembershipError(f"{membership.user} is already deactivated.")
    today = timezone.localdate(timezone=membership.organization.tzinfo)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=membership.user_id)
        user.is_active = False
        user.save(update_fields=["is_active"])
        # active_to is the last active day: deactivated today → active until yesterday,
        # never before the first day (a same-day deactivation keeps a one-day membership).
        membership.active_to = max(today - dt.timedelta(days=1), membership.active_from)
        membership.save(update_fields=["active_to"])
        for managed in Team.objects.filter(managers=user):
            managed.managers.remove(user)
        AuthToken.objects.filter(user=user).delete()  # API tokens end with the sessions
        audit_log(
            organization=membership.organization,
            actor=by,
            action="membership.deactivate",
            obj=membership,
            before={"is_active": True, "active_to": None},
            after={"is_active": False, "active_to": membership.active_to},
        )
        transaction.on_commit(lambda: _end_sessions(user))
    return membership


def user_reactivate(*, membership: Membership, by: User) -> Membership:
    if membership.user.is_active and membership.active_to is None:
        raise MembershipError(f"{membership.user} is already active.")
    today = timezone.localdate(timezone=membership.organization.tzinfo)
    with transaction.atomic():
        user = membership.user
        user.is_active = True
        user.save(update_fields=["is_active"])
        before = {"active_from": membership.active_from, "active_to": membership.active_to}
        # A returning member starts a new active period; the gap stays out of scoring.
        membership.active_from, membership.active_to = today, None
        membership.save(update_fields=["active_from", "active_to"])
        audit_log(
            organization=membership.organization,
            actor=by,
            action="membership.reactivate",
            obj=membership,
            before=before,
            after={"active_from": today, "active_to": None},
        )
    return membership


# --- invitations -------------------------------------------------------------------


def invitation_create(
    *, organization: Organization, by: User, email: str, role: str, team: Team | None = None, name: str = ""
) -> tuple[Invitation, str]:
    """Invite someone by e-mail. Returns the invitation and the raw token (only ever sent
    in the e-mail; the database keeps its hash)."""
    email = email.strip().lower()
    _validate_role_team(organization, role, team)
    if User.objects.filter(email__iexact=email).exists():
        raise InvitationError("Someone with this e-mail address already has an account.", field="email")
    token = token_new()
    now = timezone.now()
    with transaction.atomic():
        # A new invitation replaces any earlier open one for the same address.
        Invitation.objects.filter(
            organization=organization, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            name=name.strip(),
            role=role,
            team=team,
            token_hash=token_hash(token),
            invited_by=by,
            created_at=now,
            expires_at=now + dt.timedelta(days=settings.INVITATION_TTL_DAYS),
        )
        audit_log(
            organization=organization,
            actor=by,
            action="invitation.create",
            obj=invitation,
            after={"email": email, "role": role, "team": team.pk if team else None},
        )
        # robust: a mail outage is logged, never turned into an error page — the leader is
        # shown the link to pass on by hand.
        transaction.on_commit(lambda: _invitation_email(invitation, token), robust=True)
    return invitation, token


def invitation_url(token: str) -> str:
    from django.urls import reverse

    return settings.SITE_URL + reverse("invitation_accept", args=[token])


def _invitation_email(invitation: Invitation, token: str) -> None:
    context = {"invitation": invitation, "url": invitation_url(token)}
    subject = render_to_string("emails/invitation-subject.txt", context).strip()
    body = render_to_string("emails/invitation-body.txt", context)
    html = render_to_string("emails/invitation-body.html", context)
    send_mail(subject, body, None, [invitation.email], html_message=html)


def invitation_for_token(token: str) -> Invitation:
    """The usable invitation for a raw token; a clear error for unknown, used, revoked or expired links."""
    invitation = Invitation.objects.select_related("organization", "team").filter(token_hash=token_hash(token)).first()
    if invitation is None:
        raise InvitationError("This invitation link is not valid.", unknown=True)
    state = invitation.state
    if state != "pending":
        messages = {
            "accepted": "This invitation has already been used. Log in instead.",
            "revoked": "This invitation was withdrawn. Ask your leader for a new one.",
            "expired": "This invitation has expired. Ask your leader for a new one.",
        }
        raise InvitationError(messages[state])
    return invitation


def invitation_accept(*, token: str, name: str, password: str) -> User:
    """Create the account from an invitation; the link is single-use."""
    with transaction.atomic():
        invitation = invitation_for_token(token)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_usable:  # lost a race with a second click
            raise InvitationError("This invitation has already been used. Log in instead.")
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise InvitationError("Someone with this e-mail address already has an account.")
        name = (name or invitation.name).strip()
        if not name:
            raise InvitationError("Please give your name.", field="name")
        user = User(email=invitation.email, name=name)
        password_validation.validate_password(password, user)
        user.set_password(password)
        user.save()
        membership_create(
            organization=invitation.organization, user=user, role=invitation.role, team=invitation.team, by=None
        )
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        audit_log(organization=invitation.organization, actor=user, action="invitation.accept", obj=invitation)
    return user


def invitation_revoke(*, invitation: Invitation, by: User) -> Invitation:
    if invitation.state != "pending":
        raise InvitationError("Only a pending invitation can be withdrawn.")
    with transaction.atomic():
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_log(
            organization=invitation.organization,
            actor=by,
            action="invitation.revoke",
            obj=invitation,
            before={"state": "pending"},
            after={"state": "revoked"},
        )
    return invitation
