"""Serializers for activity types, expectations, integration keys and activities.

Field names are the model field names (SPEC §2); references are ids, checked against the
caller's visible rows (an id outside them is "does not exist", whether or not it exists
elsewhere). The rules themselves live in activities.services; these only shape and parse.
"""

from __future__ import annotations

from rest_framework import serializers

from accountability.access import members_visible_to, organization_of, teams_visible_to
from accountability.models import Role, Team, User

from ..models import (
    MAX_QUANTITY,
    NOTE_MAX_LENGTH,
    Activity,
    ActivityType,
    Expectation,
    IntegrationKey,
    ReviewReason,
)
from ..selectors import activity_types_visible_to


def _user(field):
    return getattr(field.context.get("request"), "user", None)


class VisibleIdField(serializers.PrimaryKeyRelatedField):
    """An id of a row the caller may see. `queryset` (unscoped, empty) only names the model
    for the schema; the rows come from `scope(user)`."""

    default_error_messages = {
        "does_not_exist": "Unknown id {pk_value}.",
        "incorrect_type": "An id must be a whole number.",
    }

    def __init__(self, *, scope, **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.scope(_user(self))


def visible_producers(user):
    return User.objects.filter(membership__in=members_visible_to(user).filter(role=Role.PRODUCER))


class LocalDateTimeField(serializers.DateTimeField):
    """Shown in the organization's time zone; a time without an offset is read in it too."""

    def default_timezone(self):
        organization = organization_of(_user(self))
        return organization.tzinfo if organization else super().default_timezone()


# --- activity types --------------------------------------------------------------------


class ActivityTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActivityType
        fields = [
            "id",
            "name",
            "category",
            "points",
            "requires_evidence",
            "tracks_value",
            "value_label",
            "active",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        validators = []  # the service refuses a duplicate name (case-insensitive) in words


# --- expectations ------------------------------------------------------------------------


class ExpectationSerializer(serializers.ModelSerializer):
    activity_type_name = serializers.CharField(source="activity_type.name", read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Expectation
        fields = [
            "id",
            "activity_type",
            "activity_type_name",
            "team",
            "team_name",
            "target",
            "effective_from",
            "effective_to",
            "created_at",
        ]
        read_only_fields = fields


class ExpectationCreateSerializer(serializers.Serializer):
    activity_type = VisibleIdField(scope=activity_types_visible_to, queryset=ActivityType.objects.none())
    team = VisibleIdField(
        scope=teams_visible_to,
        queryset=Team.objects.none(),
        allow_null=True,
        default=None,
        help_text="A team id; empty (null) for the whole organization.",
    )
    target = serializers.IntegerField(min_value=1, max_value=10_000, help_text="Units per week.")
    effective_from = serializers.DateField(
        allow_null=True,
        default=None,
        help_text="The first week (a week start) it applies to; default: the current week. The target in force "
        "ends there, so past weeks keep theirs.",
    )


class ExpectationEndSerializer(serializers.Serializer):
    effective_to = serializers.DateField(
        allow_null=True,
        default=None,
        help_text="The first week (a week start) it no longer applies to; default: the current week. "
        "Ending it at or before its first week removes it (204).",
    )


# --- integration keys -----------------------------------------------------------------


class IntegrationKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = IntegrationKey
        fields = ["id", "name", "source_label", "key_id", "active", "created_at", "rotated_at", "last_used_at"]
        read_only_fields = fields


class IntegrationKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    source_label = serializers.CharField(max_length=60, help_text="Which tool sends with this key, e.g. HubSpot.")


class IntegrationKeySecretSerializer(IntegrationKeySerializer):
    """The key with its secret: only in the responses that create or rotate it."""

    secret = serializers.CharField(read_only=True, help_text="Signs webhook requests. Shown only in this response.")

    class Meta(IntegrationKeySerializer.Meta):
        fields = [*IntegrationKeySerializer.Meta.fields, "secret"]
        read_only_fields = fields


class IntegrationKeyUpdateSerializer(serializers.Serializer):
    active = serializers.BooleanField()


# --- activities ---------------------------------------------------------------------------


class ActivitySerializer(serializers.ModelSerializer):
    producer_name = serializers.CharField(source="producer.name", read_only=True)
    activity_type_name = serializers.CharField(source="activity_type.name", read_only=True)
    occurred_at = LocalDateTimeField(read_only=True)
    evidence_url = serializers.CharField(read_only=True, help_text="An http(s) link, or empty.")
    # Declared: a read-only model field loses allow_blank, and "" would break the enum.
    review_reason = serializers.ChoiceField(
        choices=ReviewReason.choices, allow_blank=True, read_only=True, help_text="Why it needs review; empty if not."
    )

    class Meta:
        model = Activity
        fields = [
            "id",
            "producer",
            "producer_name",
            "activity_type",
            "activity_type_name",
            "occurred_at",
            "week_start",
            "quantity",
            "value",
            "note",
            "evidence_url",
            "source",
            "external_id",
            "status",
            "needs_review",
            "review_reason",
            "reviewed_by",
            "reviewed_at",
            "rejection_reason",
            "logged_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ActivityUpdateSerializer(serializers.Serializer):
    """What describes an activity; the rules (future, closed week, evidence, value,
    duplicates) are checked by activities.services.log."""

    activity_type = VisibleIdField(scope=activity_types_visible_to, queryset=ActivityType.objects.none())
    occurred_at = LocalDateTimeField(
        help_text="When it happened. Without an offset it is read in the organization's time zone."
    )
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, default=1)
    value = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        allow_null=True,
        default=None,
        help_text="Only for types that track a value (e.g. premium), and required for them.",
    )
    note = serializers.CharField(max_length=NOTE_MAX_LENGTH, allow_blank=True, default="")
    evidence_url = serializers.CharField(
        max_length=500, allow_blank=True, default="", help_text="An http(s) link; required by some types."
    )


class ActivityCreateSerializer(ActivityUpdateSerializer):
    producer = VisibleIdField(
        scope=visible_producers,
        queryset=User.objects.none(),
        required=False,
        help_text="The producer's user id; default: the caller. Managers log for their team, leaders for anyone.",
    )


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=500, allow_blank=True, default="", help_text="Why; the producer sees it. Required."
    )
