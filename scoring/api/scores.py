"""Scores, leaderboard and flags API (`/api/v1/`, SPEC §5).

- `scores` and `flags` are private rows: leaders see the whole organization, managers the
  producers of their teams, producers themselves (accountability.access).
- `leaderboard` is the public board of the organization, exactly as the scoreboard page
  shows it (scoring.selectors_board): names as the visibility setting allows, points,
  completion, streak and badges — never flags or anything excused.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accountability.access import (
    get_visible_or_404,
    organization_of,
    private_rows_visible_to,
    scoped_to_organization,
)
from accountability.api.views import MemberAPIMixin
from accountability.models import Team
from accountability.weeks import align
from activities.api.filters import IdFilter

from ..models import Flag, WeeklyScore
from ..selectors_board import Period, scoreboard_build

# --- serializers -----------------------------------------------------------------------------


class WeeklyScoreSerializer(serializers.ModelSerializer):
    producer_name = serializers.CharField(source="producer.name", read_only=True)
    completion = serializers.DecimalField(max_digits=4, decimal_places=1, coerce_to_string=False, read_only=True)

    class Meta:
        model = WeeklyScore
        fields = [
            "id",
            "producer",
            "producer_name",
            "team",
            "week_start",
            "points",
            "completion",
            "expectations_met",
            "expectations_total",
            "excused",
            "met_all",
            "streak",
            "rank_org",
            "rank_team",
            "is_final",
            "computed_at",
        ]
        read_only_fields = fields


class FlagSerializer(serializers.ModelSerializer):
    producer_name = serializers.CharField(source="producer.name", read_only=True)

    class Meta:
        model = Flag
        fields = [
            "id",
            "producer",
            "producer_name",
            "week_start",
            "kind",
            "expectation",
            "actual",
            "target",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class BadgeShownSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    icon = serializers.CharField()
    count = serializers.IntegerField(help_text="How many times the producer earned it.")
    last_week = serializers.DateField(help_text="The week it was last earned.")


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    name = serializers.CharField(help_text="“Producer #k” for others on an anonymous board.")
    producer = serializers.IntegerField(
        source="producer_id", allow_null=True, help_text="The producer's id; null when the name is hidden."
    )
    is_me = serializers.BooleanField()
    points = serializers.IntegerField()
    completion = serializers.FloatField()
    streak = serializers.IntegerField()
    badges = BadgeShownSerializer(many=True)


class LeaderboardSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=[p.value for p in Period])
    week_from = serializers.DateField(source="first_week", allow_null=True)
    week_to = serializers.DateField(source="last_week", allow_null=True)
    team = serializers.IntegerField(source="team.pk", allow_null=True, default=None)
    visibility = serializers.CharField(help_text="named, anonymous or off (then `results` is empty).")
    top_n = serializers.IntegerField(allow_null=True)
    provisional = serializers.BooleanField(help_text="True for the open week: scores may lag a few minutes.")
    results = LeaderboardRowSerializer(source="rows", many=True)
    me = LeaderboardRowSerializer(allow_null=True, help_text="Your row when it falls outside the top-N cut.")


class LeaderboardQuerySerializer(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=[p.value for p in Period],
        default=Period.WEEK.value,
        error_messages={"invalid_choice": "Unknown period “{input}”: use week, last_week or month."},
    )
    team = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)


# --- filters ---------------------------------------------------------------------------------


class WeekFilter(django_filters.DateFilter):
    """A week by any of its days (YYYY-MM-DD): the week of the organization containing it."""

    def filter(self, queryset, value: dt.date | None):
        if value is None:
            return queryset
        organization = organization_of(self.parent.request.user)
        try:
            week_start = align(value, organization.week_start)
        except OverflowError:  # the first days of year 1 have no earlier week start
            return queryset.none()
        return queryset.filter(week_start=week_start)


WEEK_HELP = "A week, by its start date or any day in it (YYYY-MM-DD)."


class ScoreFilter(django_filters.FilterSet):
    week = WeekFilter(help_text=WEEK_HELP)
    team = IdFilter(field_name="team_id", help_text="The producer's team when the score was computed.")
    producer = IdFilter(field_name="producer_id", help_text="A producer's user id.")

    class Meta:
        model = WeeklyScore
        fields = []


class FlagFilter(django_filters.FilterSet):
    week = WeekFilter(help_text=WEEK_HELP)
    producer = IdFilter(field_name="producer_id", help_text="A producer's user id.")
    status = django_filters.ChoiceFilter(choices=Flag.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Flag.Kind.choices)

    class Meta:
        model = Flag
        fields = []


# --- views -----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Weekly scores: producers see their own, managers their teams', leaders all"),
    retrieve=extend_schema(summary="One weekly score"),
)
class ScoreViewSet(MemberAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = WeeklyScoreSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ScoreFilter

    def get_queryset(self):
        # One query per page: scores joined to their producer.
        scores = scoped_to_organization(WeeklyScore.objects.select_related("producer"), self.request.user)
        return private_rows_visible_to(scores, self.request.user).order_by("-week_start", "rank_org", "producer_id")


@extend_schema_view(
    list=extend_schema(summary="Flags (missed tasks): producers see their own, managers their teams', leaders all"),
    retrieve=extend_schema(summary="One flag"),
)
class FlagViewSet(MemberAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = FlagSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = FlagFilter

    def get_queryset(self):
        flags = scoped_to_organization(Flag.objects.select_related("producer"), self.request.user)
        return private_rows_visible_to(flags, self.request.user).order_by("-week_start", "producer_id", "id")


class LeaderboardView(MemberAPIMixin, APIView):
    @extend_schema(
        summary="The scoreboard of the organization (every member), as the scoreboard page shows it",
        description="`week`: the open week (provisional); `last_week`: the latest closed week; `month`: the "
        "weeks starting in the current calendar month (points summed). Names follow the organization's "
        "visibility setting; a top-N cut adds your own row as `me` when you are below it.",
        parameters=[
            OpenApiParameter("period", enum=[p.value for p in Period], default=Period.WEEK.value),
            OpenApiParameter("team", int, description="One team of the organization (its id)."),
        ],
        responses=LeaderboardSerializer,
    )
    def get(self, request):
        query = LeaderboardQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise ValidationError(query.errors)
        team = None
        if "team" in query.validated_data:
            teams = scoped_to_organization(Team.objects.all(), request.user)
            team = get_visible_or_404(teams, request.user, query.validated_data["team"], "team")
        board = scoreboard_build(
            organization=self.membership.organization,
            period=Period(query.validated_data["period"]),
            viewer=request.user,
            team=team,
        )
        return Response(LeaderboardSerializer(board).data)
