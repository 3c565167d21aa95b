"""Forms for the leader's activity configuration: validation and layout only — the services
in `activities.services.config` / `.integrations` decide and write."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils import timezone

from accountability.models import Organization
from accountability.selectors import teams_of
from accountability.weeks import ONE_WEEK, current_week_start

from .models import ActivityType, Category

WEEKS_AHEAD = 8  # how far ahead a target change (or an end) can be scheduled from the page
TARGET_MAX = 10_000
POINTS_MAX = 10_000


def _helper(submit_label: str) -> FormHelper:
    helper = FormHelper()
    # The template owns <form> and its CSRF token, so action URLs stay visible there.
    helper.form_tag = False
    helper.disable_csrf = True
    helper.add_input(Submit("submit", submit_label, css_class="btn-touch"))
    return helper


def week_choices(organization: Organization) -> list[tuple[str, str]]:
    """The open week and the next WEEKS_AHEAD week starts, in words a leader reads at a glance."""
    this_week = current_week_start(organization, timezone.now())
    choices = []
    for offset in range(WEEKS_AHEAD + 1):
        week = this_week + offset * ONE_WEEK
        day = f"{week:%a %b} {week.day}"
        label = {0: f"this week (from {day})", 1: f"next week (from {day})"}.get(offset, f"the week of {day}")
        choices.append((week.isoformat(), label))
    return choices


def _week_field(label: str, help_text: str) -> forms.DateField:
    # A DateField behind a select: a hand-made POST with a past or mid-week date still
    # reaches the service, which refuses it in words rather than as "invalid choice".
    return forms.DateField(
        label=label,
        help_text=help_text,
        widget=forms.Select,
        input_formats=["%Y-%m-%d"],
        error_messages={"required": "Choose a week.", "invalid": "Choose a week from the list."},
    )


class ActivityTypeForm(forms.Form):
    name = forms.CharField(max_length=100, error_messages={"required": "An activity type needs a name."})
    category = forms.ChoiceField(choices=Category.choices)
    points = forms.IntegerField(
        min_value=0,
        max_value=POINTS_MAX,
        initial=1,
        help_text="Points per unit on the scoreboard.",
        error_messages={
            "required": "Give the points per unit (0 or more).",
            "invalid": "Points must be a whole number.",
            "min_value": "Points must be 0 or more.",
            "max_value": f"Points can be at most {POINTS_MAX}.",
        },
    )
    requires_evidence = forms.BooleanField(
        required=False, help_text="Producers must give a link (URL) as evidence, e.g. to the post."
    )
    tracks_value = forms.BooleanField(
        required=False, help_text="Each entry records a value, e.g. the premium of a policy sold."
    )
    value_label = forms.CharField(
        max_length=40, required=False, help_text="What the value is, e.g. “Premium ($)”. Only for types that track one."
    )
    active = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Inactive types cannot be logged or given targets; their history stays. Types are never deleted.",
    )

    def __init__(self, *args, activity_type: ActivityType | None = None, **kwargs):
        if activity_type is not None:
            kwargs.setdefault("initial", {name: getattr(activity_type, name) for name in self.base_fields})
        super().__init__(*args, **kwargs)
        self.helper = _helper("Save activity type" if activity_type else "Create activity type")

    def clean_name(self):
        return self.cleaned_data["name"].strip()


class ExpectationForm(forms.Form):
    activity_type = forms.ModelChoiceField(
        queryset=ActivityType.objects.none(),
        error_messages={
            "required": "Choose an activity type.",
            "invalid_choice": "Choose an activity type of this organization.",
        },
    )
    team = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Who",
        empty_label="Everyone in the organization",
        help_text="A team target applies to that team's producers; where both apply, the higher one counts.",
        error_messages={"invalid_choice": "Choose a team of this organization."},
    )
    target = forms.IntegerField(
        label="Weekly target",
        min_value=1,
        max_value=TARGET_MAX,
        help_text="Units per producer per week.",
        error_messages={
            "required": "Give a weekly target.",
            "invalid": f"The weekly target must be a whole number from 1 to {TARGET_MAX}.",
            "min_value": f"The weekly target must be a whole number from 1 to {TARGET_MAX}.",
            "max_value": f"The weekly target must be a whole number from 1 to {TARGET_MAX}.",
        },
    )
    effective_from = _week_field(
        "Starting",
        "Past weeks keep the target they had. The new target applies from the week you choose; "
        "the current one ends there.",
    )

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        types = self.fields["activity_type"]
        # Any type of the organization validates, so that an inactive one is refused by the
        # service with its reason; the select offers only the active ones.
        types.queryset = ActivityType.objects.filter(organization=organization)
        types.widget.choices = [("", "---------")] + [
            (t.pk, t.name) for t in ActivityType.objects.filter(organization=organization, active=True)
        ]
        self.fields["team"].queryset = teams_of(organization=organization)
        self.fields["effective_from"].widget.choices = week_choices(organization)
        self.helper = _helper("Save target")


class ExpectationEndForm(forms.Form):
    effective_to = _week_field("Stop from", "The target no longer applies from this week on; past weeks keep it.")

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["effective_to"].widget.choices = week_choices(organization)


class IntegrationKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="Something you will recognise later, e.g. “HubSpot – Chicago office”.",
        error_messages={"required": "Give the key a name."},
    )
    source_label = forms.CharField(
        label="Tool",
        max_length=60,
        help_text="Which tool sends activities with this key, e.g. HubSpot, Hootsuite.",
        error_messages={"required": "Say which tool will use this key (e.g. HubSpot)."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Create key")


class KeyActiveForm(forms.Form):
    active = forms.TypedChoiceField(
        choices=[("1", "Activate"), ("0", "Deactivate")],
        coerce=lambda value: value == "1",
        error_messages={"required": "Say whether to activate or deactivate the key."},
    )
