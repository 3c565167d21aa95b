"""Activity types, weekly expectations, the activity log and integration keys (SPEC §2 activities/)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accountability.models import Organization, Team

MAX_QUANTITY = 1000
NOTE_MAX_LENGTH = 500  # keeps the duplicate-check index under PostgreSQL's btree row limit


class Category(models.TextChoices):
    SOCIAL = "social", "Social media"
    CRM = "crm", "CRM"
    MARKETING = "marketing", "Marketing"
    TRAINING = "training", "Training"
    RESULT = "result", "Result"


class ActivityType(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="activity_types")
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=12, choices=Category.choices)
    points = models.PositiveIntegerField(
        default=1, validators=[MaxValueValidator(10_000)], help_text="Points per unit."
    )
    requires_evidence = models.BooleanField(default=False, help_text="A link (URL) must be given as evidence.")
    tracks_value = models.BooleanField(default=False, help_text="Records a value, e.g. premium for a policy sold.")
    value_label = models.CharField(max_length=40, blank=True, help_text="What the value is, e.g. “Premium ($)”.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "organization", name="activity_type_unique_name_per_org"),
            models.CheckConstraint(condition=Q(category__in=Category.values), name="activity_type_category_valid"),
        ]

    def __str__(self):
        return self.name


class Expectation(models.Model):
    """A weekly target for one activity type, for the whole organization or one team, over
    an effective period [effective_from, effective_to) of week starts. Changing a target
    ends the period and opens a new one, so past weeks keep the target they had."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="expectations")
    activity_type = models.ForeignKey(ActivityType, on_delete=models.PROTECT, related_name="expectations")
    target = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(MAX_QUANTITY * 10)])
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="expectations")
    effective_from = models.DateField(help_text="First week (a week start) it applies to.")
    effective_to = models.DateField(null=True, blank=True, help_text="First week it no longer applies to.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["activity_type__name", "team__name", "-effective_from"]
        constraints = [
            models.CheckConstraint(condition=Q(target__gte=1), name="expectation_target_positive"),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gt=models.F("effective_from")),
                name="expectation_period_not_empty",
            ),
        ]
        indexes = [models.Index(fields=["organization", "effective_from"])]

    def __str__(self):
        scope = self.team.name if self.team_id else "everyone"
        return f"{self.target}× {self.activity_type} per week ({scope})"

    def applies_to_week(self, week_start) -> bool:
        return self.effective_from <= week_start and (self.effective_to is None or week_start < self.effective_to)


class Source(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "API"
    CSV = "csv", "CSV import"
    WEBHOOK = "webhook", "Integration"
    TRAINING = "training", "Training attendance"


class Status(models.TextChoices):
    LOGGED = "logged", "Logged"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected"


class ReviewReason(models.TextChoices):
    LATE = "late", "Logged more than 2 days after it happened"
    BURST = "burst", "Part of a burst of back-dated entries"
    SAMPLE = "sample", "Picked for the weekly random check"


class Activity(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="activities")
    producer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activities")
    activity_type = models.ForeignKey(ActivityType, on_delete=models.PROTECT, related_name="activities")
    occurred_at = models.DateTimeField()
    # The organization-local week of occurred_at, stored so that scoring aggregates by an
    # indexed column instead of converting time zones per row.
    week_start = models.DateField()
    quantity = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_QUANTITY)]
    )
    value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True)
    evidence_url = models.URLField(max_length=500, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB)
    external_id = models.CharField(max_length=200, blank=True)
    integration_key = models.ForeignKey(
        "IntegrationKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="activities"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.LOGGED)
    needs_review = models.BooleanField(default=False)
    review_reason = models.CharField(max_length=10, choices=ReviewReason.choices, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(quantity__lte=MAX_QUANTITY), name="activity_quantity_range"
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__gte=0), name="activity_value_not_negative"
            ),
            models.CheckConstraint(condition=Q(source__in=Source.values), name="activity_source_valid"),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="activity_status_valid"),
            # Idempotent imports: one activity per (organization, source, external id).
            models.UniqueConstraint(
                fields=["organization", "source", "external_id"],
                condition=~Q(external_id=""),
                name="activity_unique_external_id",
            ),
            # Exact duplicates are refused (the service says so in words first).
            models.UniqueConstraint(
                fields=["producer", "activity_type", "occurred_at", "note"], name="activity_no_exact_duplicate"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "week_start"]),
            models.Index(fields=["producer", "week_start"]),
            models.Index(fields=["organization", "needs_review", "status"]),
            models.Index(fields=["producer", "created_at"]),
        ]

    def __str__(self):
        return f"{self.quantity}× {self.activity_type} by {self.producer} on {self.occurred_at:%Y-%m-%d}"


class IntegrationKey(models.Model):
    """An inbound key for a CRM / marketing / social tool to push activities (SPEC §5 webhook).

    `key_id` is public (sent in X-Integration-Key); `secret` signs requests with HMAC-SHA256.
    The server needs the secret itself to verify signatures, so it is stored, but it is only
    ever shown once, in the response that creates (or rotates) the key.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="integration_keys")
    name = models.CharField(max_length=100)
    source_label = models.CharField(max_length=60, help_text="Which tool sends with this key, e.g. “HubSpot”.")
    key_id = models.CharField(max_length=40, unique=True)
    secret = models.CharField(max_length=128)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.source_label})"


class WeekRecompute(models.Model):
    """A (producer, week) whose closed scores must be recomputed because an activity of it
    changed after the close. Written here, consumed by `scoring` (which depends on
    activities, never the reverse); one row per producer and week."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    producer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    reason = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["producer", "week_start"], name="week_recompute_unique")]

    def __str__(self):
        return f"Recompute {self.producer} week {self.week_start}"
