"""Forms for logging, editing, reviewing and listing activities: validation and layout only —
`activities.services.log` decides and writes (and words the rule refusals)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms
from django.utils import timezone

from accountability.weeks import local_midnight

from .models import MAX_QUANTITY, ActivityType, Status
from .services.log import ActivityData

QUANTITY_RANGE = f"Quantity must be between 1 and {MAX_QUANTITY}."
LOCAL_INPUT = "%Y-%m-%dT%H:%M"
# Dates outside this range are typos; refusing them also keeps week arithmetic (which adds
# days and converts time zones) away from the ends of the calendar.
EARLIEST_DAY, LATEST_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
DAY_RANGE = f"Pick a date between {EARLIEST_DAY:%Y} and {LATEST_DAY:%Y}."


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock time in the organization's time zone (not the server's): what the
    producer typed is read — and shown back — in their agency's local time."""

    tz: zoneinfo.ZoneInfo = zoneinfo.ZoneInfo("UTC")

    def to_python(self, value):
        with timezone.override(self.tz):
            return super().to_python(value)

    def prepare_value(self, value):
        with timezone.override(self.tz):
            return super().prepare_value(value)


class ActivityForm(forms.Form):
    """Quick log, log on behalf and edit. Value, note and evidence stay text here: the
    service parses them and says what is wrong in the same words as the API."""

    activity_type = forms.ModelChoiceField(
        queryset=ActivityType.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
        label="What did you do?",
        error_messages={
            "required": "Pick what you did.",
            "invalid_choice": "Pick one of the activity types listed.",
        },
    )
    quantity = forms.IntegerField(
        initial=1,
        min_value=1,
        max_value=MAX_QUANTITY,
        label="How many?",
        error_messages={
            "required": QUANTITY_RANGE,
            "invalid": "Quantity must be a whole number.",
            "min_value": QUANTITY_RANGE,
            "max_value": QUANTITY_RANGE,
        },
    )
    value = forms.CharField(
        required=False, label="Value", widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
    )
    evidence_url = forms.CharField(
        required=False,
        label="Evidence link",
        widget=forms.URLInput(attrs={"placeholder": "https://…", "autocomplete": "off"}),
    )
    note = forms.CharField(required=False, label="Note", widget=forms.TextInput(attrs={"autocomplete": "off"}))
    occurred_at = LocalDateTimeField(
        required=False,
        label="When",
        input_formats=[LOCAL_INPUT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
        error_messages={"invalid": "Give a date and time, e.g. 2026-03-02 14:30."},
    )

    def __init__(self, *args, organization, activity_types, earliest: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["activity_type"].queryset = activity_types
        when = self.fields["occurred_at"]
        when.tz = organization.tzinfo
        today = timezone.localdate(timezone=organization.tzinfo)
        when.widget.attrs["max"] = f"{today:%Y-%m-%d}T23:59"
        if earliest is not None:  # producers: the open week(s) only — the service enforces it
            when.widget.attrs["min"] = f"{earliest:%Y-%m-%d}T00:00"
        when.help_text = (
            f"Leave empty for right now. Times are in {organization.timezone}."
            if earliest is None
            else f"Leave empty for right now, or pick an earlier day from {earliest:%a %b %-d} on "
            f"({organization.timezone} time)."
        )

    def clean_occurred_at(self):
        value = self.cleaned_data["occurred_at"]
        if value is not None and not EARLIEST_DAY <= value.date() <= LATEST_DAY:
            raise forms.ValidationError(DAY_RANGE)
        return value

    def activity_data(self, *, occurred_at_default: dt.datetime) -> ActivityData:
        data = self.cleaned_data
        return ActivityData(
            activity_type=data["activity_type"],
            occurred_at=data["occurred_at"] or occurred_at_default,
            quantity=data["quantity"],
            value=data["value"],
            note=data["note"],
            evidence_url=data["evidence_url"],
        )


class RejectForm(forms.Form):
    # Required-ness and length are the service's rule (and message); this only reads it.
    reason = forms.CharField(required=False, label="Reason")


class HistoryFilterForm(forms.Form):
    """The history page's filters; an invalid value is reported and that filter ignored."""

    activity_type = forms.ModelChoiceField(
        queryset=ActivityType.objects.none(),
        required=False,
        empty_label="All types",
        label="Type",
        error_messages={"invalid_choice": "Pick one of the listed types."},
    )
    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    producer = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Producer")

    def __init__(self, *args, activity_types, producers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["activity_type"].queryset = activity_types
        if producers is None:
            del self.fields["producer"]
        else:
            self.fields["producer"].choices = [("", "Everyone"), *((m.user_id, m.user.name) for m in producers)]

    def _clean_day(self, name):
        value = self.cleaned_data[name]
        if value is not None and not EARLIEST_DAY <= value <= LATEST_DAY:
            raise forms.ValidationError(DAY_RANGE)
        return value

    def clean_date_from(self):
        return self._clean_day("date_from")

    def clean_date_to(self):
        return self._clean_day("date_to")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
            del cleaned["date_from"]  # neither bound is trusted: list without the range
        return cleaned

    def filters(self) -> dict:
        self.is_valid()  # fills cleaned_data with the fields that are valid
        names = ("activity_type", "status", "date_from", "date_to", "producer")
        return {name: self.cleaned_data.get(name) for name in names if name in self.fields}

    @staticmethod
    def apply(queryset, filters: dict, tz: zoneinfo.ZoneInfo):
        """Dates are the organization's local days: `date_to` includes its whole day."""
        if filters.get("activity_type"):
            queryset = queryset.filter(activity_type=filters["activity_type"])
        if filters.get("status"):
            queryset = queryset.filter(status=filters["status"])
        if filters.get("producer"):
            queryset = queryset.filter(producer_id=filters["producer"])
        if filters.get("date_from"):
            queryset = queryset.filter(occurred_at__gte=local_midnight(filters["date_from"], tz))
        if filters.get("date_to"):
            queryset = queryset.filter(occurred_at__lt=local_midnight(filters["date_to"] + dt.timedelta(days=1), tz))
        return queryset
