"""Weekly scores, flags (missed tasks), badges and exemptions (SPEC §2 scoring/, §3).

The escalation ladder, escalations and commission holds arrive with their own issue and
read what is here: a missed week is a final WeeklyScore with met_all = false and
excused = false; flags say which expectation was missed.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accountability.models import Organization
from activities.models import Expectation


class WeeklyScore(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="weekly_scores")
    producer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="weekly_scores")
    team = models.ForeignKey(
        "accountability.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The producer's team when the score was computed (for team ranks and history).",
    )
    week_start = models.DateField()
    points = models.PositiveIntegerField(default=0)
    completion = models.DecimalField(
        max_digits=4, decimal_places=1, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    expectations_met = models.PositiveSmallIntegerField(default=0)
    expectations_total = models.PositiveSmallIntegerField(default=0)
    excused = models.BooleanField(default=False)
    met_all = models.BooleanField(default=False)
    streak = models.PositiveSmallIntegerField(default=0)
    rank_org = models.PositiveIntegerField(null=True, blank=True)
    rank_team = models.PositiveIntegerField(null=True, blank=True)
    is_final = models.BooleanField(default=False)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week_start", "rank_org"]
        constraints = [
            models.UniqueConstraint(fields=["producer", "week_start"], name="weekly_score_unique_producer_week"),
            models.CheckConstraint(
                condition=Q(completion__gte=0) & Q(completion__lte=100), name="weekly_score_completion_range"
            ),
            models.CheckConstraint(
                condition=Q(expectations_met__lte=F("expectations_total")), name="weekly_score_met_within_total"
            ),
        ]
        indexes = [models.Index(fields=["organization", "week_start"])]

    def __str__(self):
        return f"{self.producer} week {self.week_start}: {self.points} pts, {self.completion}%"


class Flag(models.Model):
    """A missed task: an expectation not met in a closed week, or an overdue action item."""

    class Kind(models.TextChoices):
        MISSED_EXPECTATION = "missed_expectation", "Missed expectation"
        OVERDUE_ACTION_ITEM = "overdue_action_item", "Overdue action item"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        EXCUSED = "excused", "Excused"
        RESOLVED = "resolved", "Resolved"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="flags")
    producer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="flags")
    week_start = models.DateField()
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.MISSED_EXPECTATION)
    expectation = models.ForeignKey(Expectation, on_delete=models.CASCADE, null=True, blank=True, related_name="flags")
    actual = models.PositiveIntegerField(default=0)
    target = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-week_start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["producer", "week_start", "expectation"],
                condition=Q(kind="missed_expectation"),
                name="flag_unique_missed_expectation",
            ),
            models.CheckConstraint(
                condition=~Q(kind="missed_expectation") | Q(expectation__isnull=False),
                name="flag_missed_expectation_has_expectation",
            ),
        ]
        indexes = [models.Index(fields=["organization", "week_start"])]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.producer} week {self.week_start} ({self.actual}/{self.target})"


class Badge(models.Model):
    """A badge definition. The built-in ones are created by a data migration."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=200)
    icon = models.CharField(max_length=40, default="award", help_text="A Bootstrap Icons name.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class BadgeAward(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="badge_awards")
    producer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="badge_awards")
    badge = models.ForeignKey(Badge, on_delete=models.CASCADE, related_name="awards")
    week_start = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week_start", "badge__name"]
        constraints = [
            models.UniqueConstraint(fields=["producer", "badge", "week_start"], name="badge_award_unique"),
        ]

    def __str__(self):
        return f"{self.badge} for {self.producer} ({self.week_start})"


class ExemptionRequest(models.Model):
    class Reason(models.TextChoices):
        PTO = "pto", "Paid time off"
        SICK = "sick", "Sick"
        LEAVE = "leave", "Leave"
        SYSTEM_OUTAGE = "system_outage", "System outage"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="exemptions")
    producer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exemptions")
    week_from = models.DateField()
    week_to = models.DateField()
    expectation = models.ForeignKey(
        Expectation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="exemptions",
        help_text="Empty: every expectation of those weeks.",
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(week_to__gte=F("week_from")), name="exemption_weeks_in_order"),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(decided_at__isnull=False), name="exemption_decision_recorded"
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self):
        return f"{self.get_reason_display()} for {self.producer}, {self.week_from}–{self.week_to}"


class WeekClose(models.Model):
    """One closed organization-week: the close job's record that the week is final."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="week_closes")
    week_start = models.DateField()
    closed_at = models.DateTimeField(default=timezone.now)
    producers = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-week_start"]
        constraints = [models.UniqueConstraint(fields=["organization", "week_start"], name="week_close_unique")]

    def __str__(self):
        return f"{self.organization} week {self.week_start} closed"


class TvLink(models.Model):
    """A revocable, read-only link to the scoreboard's TV mode for a wall screen (no login).
    Only a hash of the token is stored; the URL is shown to the leader once."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tv_links")
    name = models.CharField(max_length=80, help_text="Where the screen hangs, e.g. “Sales floor”.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name
