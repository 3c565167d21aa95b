"""Query-parameter filters for the activities API. They only narrow querysets that
accountability.access / activities.selectors already scoped to the caller."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from accountability.access import organization_of
from accountability.weeks import align, local_midnight

from ..models import Activity, Expectation, Status

MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """An id: a whole number (django-filter's NumberFilter would take 1.5 or 1e30)."""

    field_class = forms.IntegerField

    def __init__(self, *args, help_text: str = "", **kwargs):
        super().__init__(*args, min_value=1, max_value=MAX_ID, help_text=help_text, **kwargs)
        # NumberFilter on a foreign key would be documented as a float.
        schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": help_text}
        extend_schema_field(schema)(self)


def _local_start(day: dt.date, organization) -> dt.datetime | None:
    """Local midnight starting `day` in the organization's time zone; None when the day is
    so far in the past or future that it has no UTC instant (no bound, then)."""
    try:
        return local_midnight(day, organization.tzinfo)
    except OverflowError:
        return None


class ActivityFilter(django_filters.FilterSet):
    producer = IdFilter(field_name="producer_id", help_text="A producer's user id.")
    activity_type = IdFilter(field_name="activity_type_id", help_text="An activity type id.")
    team = IdFilter(field_name="producer__membership__team_id", help_text="The producer's team id.")
    status = django_filters.ChoiceFilter(choices=Status.choices)
    needs_review = django_filters.BooleanFilter(help_text="Waiting in the verification queue.")
    # `from` is a Python keyword: declared as date_from/date_to, renamed below.
    date_from = django_filters.DateFilter(
        method="filter_from",
        help_text="First day (YYYY-MM-DD), inclusive, of `occurred_at` in the organization's time zone.",
    )
    date_to = django_filters.DateFilter(
        method="filter_to",
        help_text="Last day (YYYY-MM-DD), inclusive, of `occurred_at` in the organization's time zone.",
    )

    class Meta:
        model = Activity
        fields = []

    def filter_from(self, queryset, name, value: dt.date):
        start = _local_start(value, organization_of(self.request.user))
        return queryset if start is None else queryset.filter(occurred_at__gte=start)

    def filter_to(self, queryset, name, value: dt.date):
        if value >= dt.date.max:
            return queryset
        end = _local_start(value + dt.timedelta(days=1), organization_of(self.request.user))
        return queryset if end is None else queryset.filter(occurred_at__lt=end)


ActivityFilter.base_filters["from"] = ActivityFilter.base_filters.pop("date_from")
ActivityFilter.base_filters["to"] = ActivityFilter.base_filters.pop("date_to")


class ExpectationFilter(django_filters.FilterSet):
    team = IdFilter(field_name="team_id", help_text="Expectations of this team (not the organization-wide ones).")
    activity_type = IdFilter(field_name="activity_type_id", help_text="An activity type id.")
    active_on = django_filters.DateFilter(
        method="filter_active_on",
        help_text="Only the expectations that apply to the week containing this day (YYYY-MM-DD).",
    )

    class Meta:
        model = Expectation
        fields = []

    def filter_active_on(self, queryset, name, value: dt.date):
        try:
            week_start = align(value, organization_of(self.request.user).week_start)
        except OverflowError:  # the first days of year 1 have no earlier week start
            week_start = value
        return queryset.filter(effective_from__lte=week_start).exclude(effective_to__lte=week_start)
