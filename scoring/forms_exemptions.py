"""Forms for exemption requests and decisions: validation and layout only —
`scoring.services.exemptions` decides, writes and words the rule refusals."""

from __future__ import annotations

import datetime as dt

from django import forms

from accountability.weeks import ONE_WEEK
from activities.models import Expectation

from .models import ExemptionRequest

WEEKS_BACK = 4  # a producer who was sick last week (or the one before) can still ask
WEEKS_AHEAD = 12


def week_choices(current: dt.date) -> list[tuple[str, str]]:
    """Week starts from a few weeks back to a quarter ahead, labelled "week of Mon Dec 7"."""
    weeks = [current + k * ONE_WEEK for k in range(-WEEKS_BACK, WEEKS_AHEAD + 1)]
    return [
        (week.isoformat(), f"week of {week:%a %b %-d}" + (" (this week)" if week == current else "")) for week in weeks
    ]


class ExemptionRequestForm(forms.Form):
    week_from = forms.TypedChoiceField(label="First week", coerce=dt.date.fromisoformat)
    week_to = forms.TypedChoiceField(label="Last week", coerce=dt.date.fromisoformat)
    expectation = forms.ModelChoiceField(
        queryset=Expectation.objects.none(), required=False, empty_label="All expectations", label="Expectation"
    )
    reason = forms.ChoiceField(choices=ExemptionRequest.Reason.choices)
    note = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional: anything your manager should know.",
    )

    def __init__(self, *args, current_week: dt.date, expectations, **kwargs):
        super().__init__(*args, **kwargs)
        choices = week_choices(current_week)
        self.fields["week_from"].choices = choices
        self.fields["week_to"].choices = choices
        self.fields["expectation"].queryset = Expectation.objects.filter(
            pk__in=[e.pk for e in expectations]
        ).select_related("activity_type")
        self.fields["expectation"].label_from_instance = lambda e: f"{e.activity_type.name} ({e.target} a week)"
        self.initial.setdefault("week_from", current_week.isoformat())
        self.initial.setdefault("week_to", current_week.isoformat())


class DecisionForm(forms.Form):
    # Whether a note is required (rejections) and its length are the service's rules.
    note = forms.CharField(required=False, label="Note")
