"""Forms for the leader's settings pages: validation and layout only — services write."""

from __future__ import annotations

import zoneinfo

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout, Submit
from django import forms

from . import selectors
from .models import Membership, Organization, Role, Team
from .services import ORGANIZATION_SETTINGS

WEEK_CUT_WARNING = " ⚠ Changing this changes how future weeks are cut; closed weeks keep their dates and scores."


def _timezone_choices():
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


def _helper(submit_label: str, *layout) -> FormHelper:
    helper = FormHelper()
    # The template owns <form> and its CSRF token, so action URLs stay visible there.
    helper.form_tag = False
    helper.disable_csrf = True
    helper.layout = Layout(*layout) if layout else None
    helper.add_input(Submit("submit", submit_label, css_class="btn-touch"))
    return helper


class OrganizationForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        choices=_timezone_choices,
        error_messages={"invalid_choice": "“%(value)s” is not a known time zone — pick one from the list."},
        help_text="The agency's local time: weeks, deadlines and e-mails follow it." + WEEK_CUT_WARNING,
    )

    class Meta:
        model = Organization
        fields = ORGANIZATION_SETTINGS
        labels = {
            "grace_hours": "Grace period (hours)",
            "scoreboard_top_n": "Scoreboard: show only the top N",
            "recovery_weeks": "Recovery weeks",
            "ramp_weeks": "Ramp-up weeks for new producers",
            "verification_sample_size": "Random verification sample",
            "nudge_weekday": "Nudge day",
            "digest_weekday": "Weekly digest day",
            "require_mfa_for_leaders": "Require two-factor authentication for leaders",
        }
        help_texts = {
            "name": "Shown to everyone in the organization and in e-mails.",
            "week_start": "The day each accountability week begins." + WEEK_CUT_WARNING,
            "grace_hours": "After a week ends, producers may still log that week's activities for this many "
            "hours (0–336); then the week closes and its scores become final.",
            "scoreboard_visibility": "Who sees whose name on the public scoreboard. Flags, escalations and "
            "holds are never shown there.",
            "scoreboard_top_n": "Leave empty to list everyone.",
            "recovery_weeks": "How many met weeks in a row end an escalation episode (1–52).",
            "ramp_weeks": "A new producer's first full weeks that are excused while they settle in (0–52). "
            "A partial first week is always excused.",
            "verification_sample_size": "How many of each producer's activities per week are picked at random "
            "for their manager to verify (0–50).",
            "nudge_weekday": "The day producers who are behind get a “you are N short” reminder.",
            "digest_weekday": "The day everyone gets their weekly summary e-mail.",
            "require_mfa_for_leaders": "Leaders must sign in with an authenticator app code as well as their password.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            "Save settings",
            Fieldset("Organization", "name", "timezone", "week_start"),
            Fieldset("Weeks and scoring", "grace_hours", "ramp_weeks", "recovery_weeks", "verification_sample_size"),
            Fieldset("Scoreboard", "scoreboard_visibility", "scoreboard_top_n"),
            Fieldset("Reminders", "nudge_weekday", "digest_weekday"),
            Fieldset("Security", "require_mfa_for_leaders"),
        )

    def settings_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in ORGANIZATION_SETTINGS}


class TeamForm(forms.Form):
    name = forms.CharField(max_length=120, error_messages={"required": "A team needs a name."})
    managers = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Active managers of this organization. A team may have several.",
        error_messages={"invalid_choice": "Choose managers of this organization only."},
    )

    def __init__(self, *args, organization: Organization, team: Team | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization, self.team = organization, team
        self.fields["managers"].queryset = selectors.managers_assignable(organization=organization)
        self.helper = _helper("Save team" if team else "Create team")

    def clean_name(self):
        # The database constraint is case-sensitive; people are not: "alpha" duplicates "Alpha".
        name = self.cleaned_data["name"].strip()
        clash = selectors.teams_of(organization=self.organization).filter(name__iexact=name)
        if self.team is not None:
            clash = clash.exclude(pk=self.team.pk)
        if clash.exists():
            raise forms.ValidationError(f"A team named “{name}” already exists.")
        return name


class _RoleTeamForm(forms.Form):
    """Role and team together: a producer needs exactly one team; a manager may be given a
    team to manage; a leader has none."""

    role = forms.ChoiceField(choices=Role.choices)
    team = forms.ModelChoiceField(
        queryset=None,
        required=False,
        help_text="Producers: the team they belong to (required). Managers: a team they will manage (optional).",
        error_messages={"invalid_choice": "Choose a team of this organization."},
    )

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = selectors.teams_of(organization=organization)

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role")
        if role == Role.PRODUCER and not cleaned.get("team") and "team" not in self.errors:
            self.add_error("team", "A producer must belong to a team.")
        if role == Role.LEADER:
            cleaned["team"] = None
        return cleaned


class InvitationForm(_RoleTeamForm):
    email = forms.EmailField(label="E-mail")
    name = forms.CharField(max_length=150, required=False, help_text="Optional; they can change it when they accept.")
    field_order = ["email", "name", "role", "team"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Send invitation")

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class MemberForm(_RoleTeamForm):
    def __init__(self, *args, member: Membership, **kwargs):
        kwargs.setdefault("initial", {"role": member.role, "team": member.team_id})
        super().__init__(*args, organization=member.organization, **kwargs)
        self.fields["team"].help_text = (
            "Producers: the team they belong to (required). Managers: a team to add to the ones they manage — "
            "change managed teams on the Teams page."
        )
        self.helper = _helper("Save")


class MemberFilterForm(forms.Form):
    """The users page's filters; invalid values simply mean “no filter”."""

    role = forms.ChoiceField(choices=[("", "All roles"), *Role.choices], required=False)
    status = forms.ChoiceField(
        choices=[("", "Any status"), ("active", "Active"), ("deactivated", "Deactivated")], required=False
    )

    def filters(self) -> dict:
        self.is_valid()  # fills cleaned_data with the fields that are valid
        return {name: self.cleaned_data.get(name, "") for name in ("role", "status")}
