"""Core models shared by every app: users, organizations, teams, memberships, audit, notifications."""

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known IANA time zone (e.g. America/Chicago).")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an e-mail address. Their organization and role live on Membership."""

    email = models.EmailField("e-mail", unique=True)
    name = models.CharField(max_length=150)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use /admin/.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["name", "email"]

    def __str__(self):
        return self.name or self.email

    def clean(self):
        super().clean()
        self.email = self.email.strip().lower()

    def get_full_name(self):
        return self.name

    def get_short_name(self):
        return self.name.split(" ")[0] if self.name else self.email

    @property
    def membership_or_none(self):
        try:
            return self.membership
        except Membership.DoesNotExist:
            return None


class Organization(models.Model):
    class ScoreboardVisibility(models.TextChoices):
        NAMED = "named", "Named — everyone sees every name"
        ANONYMOUS = "anonymous", "Anonymous — others shown as “Producer #k”, yourself named"
        OFF = "off", "Off — no scoreboard"

    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    week_start = models.PositiveSmallIntegerField(choices=Weekday.choices, default=Weekday.MONDAY)
    grace_hours = models.PositiveSmallIntegerField(
        default=48,
        validators=[MaxValueValidator(24 * 14)],
        help_text="Hours after a week ends during which late logging is still allowed.",
    )
    scoreboard_visibility = models.CharField(
        max_length=12, choices=ScoreboardVisibility.choices, default=ScoreboardVisibility.NAMED
    )
    scoreboard_top_n = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Show only the top N (empty: everyone)."
    )
    recovery_weeks = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(52)],
        help_text="Consecutive met weeks that end an escalation episode.",
    )
    ramp_weeks = models.PositiveSmallIntegerField(
        default=2,
        validators=[MaxValueValidator(52)],
        help_text="A new producer's first full weeks that are excused.",
    )
    verification_sample_size = models.PositiveSmallIntegerField(
        default=2,
        validators=[MaxValueValidator(50)],
        help_text="Activities per producer and week picked at random for manager verification.",
    )
    nudge_weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, default=Weekday.THURSDAY)
    digest_weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, default=Weekday.MONDAY)
    require_mfa_for_leaders = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(week_start__lte=6), name="org_week_start_weekday"),
            models.CheckConstraint(condition=Q(nudge_weekday__lte=6), name="org_nudge_weekday"),
            models.CheckConstraint(condition=Q(digest_weekday__lte=6), name="org_digest_weekday"),
            models.CheckConstraint(
                condition=Q(scoreboard_visibility__in=["named", "anonymous", "off"]), name="org_scoreboard_visibility"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Team(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=120)
    managers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="managed_teams", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="team_unique_name_per_org")]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    PRODUCER = "producer", "Producer"
    MANAGER = "manager", "Manager"
    LEADER = "leader", "Leader"


class Membership(models.Model):
    """A user's one organization and one role. Producers belong to exactly one team;
    managers' teams are the ones whose `managers` include them."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="producers")
    active_from = models.DateField(default=timezone.localdate)
    active_to = models.DateField(null=True, blank=True, help_text="Last active day (inclusive).")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
            # SPEC §1: a producer has exactly one team; other roles are not team members.
            models.CheckConstraint(
                condition=(Q(role="producer") & Q(team__isnull=False)) | (~Q(role="producer") & Q(team__isnull=True)),
                name="membership_producer_has_one_team",
            ),
        ]
        indexes = [models.Index(fields=["organization", "role"])]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()}, {self.organization})"

    @property
    def is_producer(self):
        return self.role == Role.PRODUCER

    @property
    def is_manager(self):
        return self.role == Role.MANAGER

    @property
    def is_leader(self):
        return self.role == Role.LEADER

    def is_active_on(self, day) -> bool:
        return self.active_from <= day and (self.active_to is None or day <= self.active_to)


class Invitation(models.Model):
    """A single-use, expiring invitation link. Only a hash of the token is stored."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation for {self.email}"

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and timezone.now() < self.expires_at

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        return "pending" if timezone.now() < self.expires_at else "expired"


class AuditEvent(models.Model):
    """Append-only record of a change. Written by `accountability.services.audit_log` only."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self):
        return f"{self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=50)
    text = models.CharField(max_length=500)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return self.text

    @property
    def is_read(self):
        return self.read_at is not None
