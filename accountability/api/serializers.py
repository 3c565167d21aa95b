"""Serializers for the core resources: token, me, organization, members, teams.
Field names are the model field names (SPEC §2); references are ids."""

from __future__ import annotations

from rest_framework import serializers

from accountability.access import managed_team_ids
from accountability.models import Membership, Organization, Team
from accountability.services import ORGANIZATION_SETTINGS

# --- auth ---------------------------------------------------------------------------------


class LoginSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254, trim_whitespace=True)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    otp_code = serializers.CharField(
        max_length=12,
        required=False,
        allow_blank=True,
        help_text="The current code from the authenticator app; required when the account uses "
        "two-factor authentication.",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`. Shown only now.")
    expires_at = serializers.DateTimeField()


# --- organization ---------------------------------------------------------------------


class OrganizationSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "timezone", "week_start"]


class OrganizationSerializer(serializers.ModelSerializer):
    """The caller's organization. Leaders may change every field but `slug`."""

    class Meta:
        model = Organization
        fields = ["id", "slug", *ORGANIZATION_SETTINGS]
        read_only_fields = ["id", "slug"]
        extra_kwargs = {"name": {"trim_whitespace": True}}


# --- me, members, teams --------------------------------------------------------------


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user.id")
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")
    role = serializers.ChoiceField(choices=Membership._meta.get_field("role").choices)
    team = serializers.IntegerField(source="team_id", allow_null=True, help_text="A producer's team.")
    team_name = serializers.CharField(source="team.name", allow_null=True, default=None)
    managed_teams = serializers.SerializerMethodField(help_text="Ids of the teams a manager manages.")
    organization = OrganizationSummarySerializer()

    def get_managed_teams(self, membership) -> list[int]:
        return managed_team_ids(membership.user) if membership.is_manager else []


class MemberSerializer(serializers.ModelSerializer):
    """A member, identified by their user id."""

    id = serializers.IntegerField(source="user_id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)
    is_active = serializers.BooleanField(source="user.is_active", read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "team", "team_name", "active_from", "active_to", "is_active"]
        read_only_fields = fields


class TeamSerializer(serializers.ModelSerializer):
    managers = serializers.SerializerMethodField(help_text="User ids of the team's managers.")
    manager_names = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "name", "managers", "manager_names"]
        read_only_fields = fields

    # Read from the prefetched managers (a .values_list() would query once per team).
    def get_managers(self, team) -> list[int]:
        return [user.pk for user in team.managers.all()]

    def get_manager_names(self, team) -> list[str]:
        return [user.name for user in team.managers.all()]
