"""Configuration services: activity types, default types, effective-dated expectations and
integration keys (SPEC §2 activities/). Every change is audited; every refusal writes nothing.

Time is frozen at Thursday 2026-03-19 03:00 UTC = Wednesday 2026-03-18 22:00 in the cast's
America/Chicago: the open week starts Monday 2026-03-16.
"""

import contextlib
import datetime as dt

import pytest
import time_machine

from accountability.errors import AccountabilityError
from accountability.models import AuditEvent
from accountability.services import organization_update
from accountability.weeks import week_start_for
from activities.errors import ConfigurationError
from activities.models import Activity, ActivityType, Category, Expectation, IntegrationKey
from activities.selectors import expectations_in_force
from activities.services.config import (
    activity_type_create,
    activity_type_update,
    default_activity_types_create,
    expectation_end,
    expectation_set,
)
from activities.services.integrations import (
    integration_key_create,
    integration_key_rotate,
    integration_key_set_active,
)

from .factories import ActivityFactory, ActivityTypeFactory, ExpectationFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 19, 3, 0, tzinfo=dt.UTC)
THIS_WEEK = dt.date(2026, 3, 16)
WEEK = dt.timedelta(weeks=1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def state():
    return (
        list(ActivityType.objects.order_by("pk").values()),
        list(Expectation.objects.order_by("pk").values()),
        list(IntegrationKey.objects.order_by("pk").values()),
        AuditEvent.objects.count(),
    )


@contextlib.contextmanager
def refused(message: str, field: str | None):
    """ConfigurationError with this message (fragment) and field, and nothing written."""
    before = state()
    with pytest.raises(ConfigurationError) as caught:
        yield caught
    assert message in caught.value.message
    assert caught.value.field == field
    assert isinstance(caught.value, AccountabilityError)  # views catch the base class
    assert state() == before


def audit(action):
    return AuditEvent.objects.get(action=action)


# --- activity types ----------------------------------------------------------------------


def test_activity_type_create_saves_and_audits(org, leader):
    activity_type = activity_type_create(
        organization=org, by=leader, name="  Referral asked  ", category=Category.CRM, points=3
    )
    assert (activity_type.name, activity_type.category, activity_type.points) == ("Referral asked", "crm", 3)
    event = audit("activity_type.create")
    assert (event.actor, event.object_id, event.organization) == (leader, str(activity_type.pk), org)
    assert event.after == {"name": "Referral asked", "category": "crm", "points": 3}


def test_duplicate_type_name_is_refused_case_insensitively(org, leader):
    ActivityTypeFactory(organization=org, name="CRM entry")
    with refused("An activity type named “crm ENTRY” already exists.", "name"):
        activity_type_create(organization=org, by=leader, name="crm ENTRY", category=Category.CRM)


def test_the_same_name_in_another_organization_is_fine(org, other_org, leader):
    ActivityTypeFactory(organization=other_org, name="CRM entry")
    assert activity_type_create(organization=org, by=leader, name="CRM entry", category=Category.CRM).pk


@pytest.mark.parametrize("name", ["", "   ", None])
def test_type_without_a_name_is_refused(org, leader, name):
    with refused("needs a name", "name"):
        activity_type_create(organization=org, by=leader, name=name, category=Category.CRM)


@pytest.mark.parametrize("category", ["sports", "SOCIAL"])
def test_unknown_category_is_refused(org, leader, category):
    with refused(f"Unknown category “{category}”.", "category"):
        activity_type_create(organization=org, by=leader, name="Cold call", category=category)


@pytest.mark.parametrize("fields", [{}, {"category": ""}, {"category": None}])
def test_type_without_a_category_is_refused(org, leader, fields):
    with refused("Choose a category.", "category"):
        activity_type_create(organization=org, by=leader, name="Cold call", **fields)


def test_type_category_cannot_be_emptied_by_an_update(org, leader):
    activity_type = ActivityTypeFactory(organization=org, name="CRM entry", category=Category.CRM)
    with refused("Choose a category.", "category"):
        activity_type_update(activity_type=activity_type, by=leader, category=None)
    activity_type.refresh_from_db()
    assert activity_type.category == Category.CRM


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (-1, "Points must be 0 or more."),
        (10_001, "Points must be at most 10000."),
        (10**12, "Points must be at most 10000."),
        ("abc", "Points must be a whole number."),
        (None, "Points must be a whole number."),
        (True, "Points must be a whole number."),
    ],
)
def test_bad_points_are_refused(org, leader, points, message):
    with refused(message, "points"):
        activity_type_create(organization=org, by=leader, name="Cold call", category=Category.CRM, points=points)


@pytest.mark.parametrize("points", [0, 10_000])
def test_points_bounds_are_accepted(org, leader, points):
    assert activity_type_create(organization=org, by=leader, name="Cold call", category="crm", points=points).pk


def test_unknown_fields_are_refused(org, leader):
    with refused("Unknown activity type fields: colour", None):
        activity_type_create(organization=org, by=leader, name="Cold call", category=Category.CRM, colour="red")


def test_type_update_audits_only_the_changed_fields(org, leader):
    activity_type = ActivityTypeFactory(organization=org, name="CRM entry", category=Category.CRM, points=1)
    activity_type_update(activity_type=activity_type, by=leader, name="CRM entry", points=2, active=True)

    activity_type.refresh_from_db()
    assert activity_type.points == 2
    event = audit("activity_type.update")
    assert (event.before, event.after, event.actor) == ({"points": 1}, {"points": 2}, leader)


def test_type_update_without_a_change_writes_no_audit(org, leader):
    activity_type = ActivityTypeFactory(organization=org, name="CRM entry", points=1)
    activity_type_update(activity_type=activity_type, by=leader, name="CRM entry", points=1)
    assert not AuditEvent.objects.exists()


def test_type_update_may_change_the_case_of_its_own_name(org, leader):
    activity_type = ActivityTypeFactory(organization=org, name="CRM entry")
    activity_type_update(activity_type=activity_type, by=leader, name="CRM Entry")
    assert ActivityType.objects.get().name == "CRM Entry"


def test_type_update_to_another_types_name_is_refused(org, leader):
    ActivityTypeFactory(organization=org, name="Social post")
    activity_type = ActivityTypeFactory(organization=org, name="CRM entry")
    with refused("already exists", "name"):
        activity_type_update(activity_type=activity_type, by=leader, name="SOCIAL POST")
    activity_type.refresh_from_db()
    assert activity_type.name == "CRM entry"


def test_type_deactivation_is_audited(org, leader):
    activity_type = ActivityTypeFactory(organization=org, name="CRM entry")
    activity_type_update(activity_type=activity_type, by=leader, active=False)
    assert (audit("activity_type.update").before, audit("activity_type.update").after) == (
        {"active": True},
        {"active": False},
    )


# --- default types -----------------------------------------------------------------------

DEFAULT_TYPES = {
    # name: (category, requires_evidence, tracks_value)
    "Social post": ("social", True, False),
    "CRM entry": ("crm", False, False),
    "Marketing event": ("marketing", False, False),
    "Training attended": ("training", False, False),
    "New policy sold": ("result", False, True),
}


def test_default_types_are_the_five_of_the_spec(org):
    created = default_activity_types_create(organization=org)

    assert len(created) == 5
    found = {
        t.name: (t.category, t.requires_evidence, t.tracks_value) for t in ActivityType.objects.filter(organization=org)
    }
    assert found == DEFAULT_TYPES
    assert ActivityType.objects.get(name="New policy sold").value_label == "Premium ($)"
    assert AuditEvent.objects.filter(action="activity_type.create", actor=None).count() == 5


def test_default_types_are_idempotent(org, other_org):
    default_activity_types_create(organization=org)
    before = state()
    assert default_activity_types_create(organization=org) == []
    assert state() == before
    assert len(default_activity_types_create(organization=other_org)) == 5  # per organization


def test_default_types_keep_a_type_a_leader_renamed_in_another_case(org, leader):
    default_activity_types_create(organization=org)
    social = ActivityType.objects.get(organization=org, name="Social post")
    activity_type_update(activity_type=social, by=leader, name="SOCIAL POST")

    assert default_activity_types_create(organization=org) == []
    assert ActivityType.objects.filter(organization=org).count() == 5


def test_default_types_add_only_the_missing_ones(org):
    ActivityTypeFactory(organization=org, name="CRM entry", points=7)
    created = default_activity_types_create(organization=org)
    assert sorted(t.name for t in created) == ["Marketing event", "New policy sold", "Social post", "Training attended"]
    assert ActivityType.objects.get(organization=org, name="CRM entry").points == 7


# --- expectations --------------------------------------------------------------------------


@pytest.fixture
def social(org):
    return ActivityTypeFactory(organization=org, name="Social post", category=Category.SOCIAL)


def target_in(week, org, social, team=None):
    expectation = expectations_in_force(organization=org, week_start=week, team_id=team.pk if team else None).get(
        social.pk
    )
    return expectation.target if expectation else None


def periods(social, team=None):
    return list(
        Expectation.objects.filter(activity_type=social, team=team)
        .order_by("effective_from")
        .values_list("target", "effective_from", "effective_to")
    )


def test_first_expectation_starts_this_week_and_is_audited(org, leader, social):
    expectation = expectation_set(organization=org, by=leader, activity_type=social, target=3)

    assert (expectation.effective_from, expectation.effective_to, expectation.created_by) == (THIS_WEEK, None, leader)
    event = audit("expectation.set")
    assert event.before == {"periods": []}
    assert event.after == {
        "id": expectation.pk,
        "activity_type": social.pk,
        "team": None,
        "target": 3,
        "effective_from": "2026-03-16",
        "effective_to": None,
    }


def test_changing_a_target_closes_the_old_period_and_past_weeks_keep_their_target(org, leader, social):
    old = ExpectationFactory(activity_type=social, target=3, effective_from=THIS_WEEK - 10 * WEEK)

    new = expectation_set(organization=org, by=leader, activity_type=social, target=5)

    old.refresh_from_db()
    assert old.effective_to == THIS_WEEK == new.effective_from
    assert periods(social) == [(3, THIS_WEEK - 10 * WEEK, THIS_WEEK), (5, THIS_WEEK, None)]
    assert target_in(THIS_WEEK - WEEK, org, social) == 3
    assert target_in(THIS_WEEK, org, social) == 5
    event = audit("expectation.set")
    assert [p["target"] for p in event.before["periods"]] == [3]
    assert event.before["periods"][0]["effective_to"] is None  # what it was before the change


def test_a_change_from_a_later_week_keeps_this_week(org, leader, social):
    ExpectationFactory(activity_type=social, target=3, effective_from=THIS_WEEK - 10 * WEEK)
    expectation_set(organization=org, by=leader, activity_type=social, target=5, effective_from=THIS_WEEK + 2 * WEEK)
    assert target_in(THIS_WEEK + WEEK, org, social) == 3
    assert target_in(THIS_WEEK + 2 * WEEK, org, social) == 5


def test_a_new_change_replaces_later_scheduled_periods(org, leader, social):
    ExpectationFactory(activity_type=social, target=3, effective_from=THIS_WEEK - 10 * WEEK)
    expectation_set(organization=org, by=leader, activity_type=social, target=5, effective_from=THIS_WEEK + 2 * WEEK)

    expectation_set(organization=org, by=leader, activity_type=social, target=4, effective_from=THIS_WEEK + WEEK)

    assert periods(social) == [(3, THIS_WEEK - 10 * WEEK, THIS_WEEK + WEEK), (4, THIS_WEEK + WEEK, None)]
    assert target_in(THIS_WEEK + 3 * WEEK, org, social) == 4


def test_setting_the_same_week_twice_replaces_it(org, leader, social):
    expectation_set(organization=org, by=leader, activity_type=social, target=3)
    expectation_set(organization=org, by=leader, activity_type=social, target=6)
    assert periods(social) == [(6, THIS_WEEK, None)]


def test_a_team_target_leaves_the_organization_wide_one_alone(org, leader, social, team):
    organization_wide = ExpectationFactory(activity_type=social, target=3, effective_from=THIS_WEEK - 10 * WEEK)
    expectation_set(organization=org, by=leader, activity_type=social, target=5, team=team)

    organization_wide.refresh_from_db()
    assert organization_wide.effective_to is None
    assert periods(social, team) == [(5, THIS_WEEK, None)]
    assert target_in(THIS_WEEK, org, social, team) == 5
    assert target_in(THIS_WEEK, org, social) == 3


def test_an_ended_period_is_not_reopened(org, leader, social):
    ExpectationFactory(
        activity_type=social, target=2, effective_from=THIS_WEEK - 10 * WEEK, effective_to=THIS_WEEK - 4 * WEEK
    )
    expectation_set(organization=org, by=leader, activity_type=social, target=4)
    assert periods(social) == [(2, THIS_WEEK - 10 * WEEK, THIS_WEEK - 4 * WEEK), (4, THIS_WEEK, None)]
    assert target_in(THIS_WEEK - 2 * WEEK, org, social) is None


@pytest.mark.parametrize(
    ("effective_from", "message"),
    [
        (THIS_WEEK - WEEK, "Past weeks keep the target they had"),
        (THIS_WEEK + dt.timedelta(days=1), "starts at the beginning of a week"),
        (THIS_WEEK + WEEK + dt.timedelta(days=6), "starts at the beginning of a week"),
    ],
)
def test_expectation_from_a_past_week_or_mid_week_is_refused(org, leader, social, effective_from, message):
    ExpectationFactory(activity_type=social, target=3, effective_from=THIS_WEEK - 10 * WEEK)
    with refused(message, "effective_from"):
        expectation_set(organization=org, by=leader, activity_type=social, target=5, effective_from=effective_from)


@pytest.mark.parametrize("target", [0, -1, 10_001, True, False, "5", 2.0, None])
def test_bad_target_is_refused(org, leader, social, target):
    with refused("The weekly target must be a whole number from 1 to 10000.", "target"):
        expectation_set(organization=org, by=leader, activity_type=social, target=target)


@pytest.mark.parametrize("target", [1, 10_000])
def test_target_bounds_are_accepted(org, leader, social, target):
    assert expectation_set(organization=org, by=leader, activity_type=social, target=target).target == target


def test_expectation_for_an_inactive_type_is_refused(org, leader, social):
    social.active = False
    social.save()
    with refused("is inactive; activate it first", "activity_type"):
        expectation_set(organization=org, by=leader, activity_type=social, target=3)


def test_expectation_for_another_organizations_type_is_refused(org, other_org, leader):
    foreign = ActivityTypeFactory(organization=other_org)
    with refused("not in this organization", "activity_type"):
        expectation_set(organization=org, by=leader, activity_type=foreign, target=3)


def test_expectation_for_another_organizations_team_is_refused(org, leader, social, outsider_team):
    with refused("That team is not in this organization.", "team"):
        expectation_set(organization=org, by=leader, activity_type=social, target=3, team=outsider_team)


def test_expectation_end_stops_it_from_this_week_on(org, leader, social):
    expectation = ExpectationFactory(activity_type=social, target=3, effective_from=THIS_WEEK - 10 * WEEK)
    expectation_end(expectation=expectation, by=leader)

    expectation.refresh_from_db()
    assert expectation.effective_to == THIS_WEEK
    assert target_in(THIS_WEEK - WEEK, org, social) == 3
    assert target_in(THIS_WEEK, org, social) is None
    event = audit("expectation.end")
    assert (event.before["effective_to"], event.after["effective_to"]) == (None, "2026-03-16")


def test_expectation_end_of_one_that_has_not_started_deletes_it(org, leader, social):
    expectation = expectation_set(
        organization=org, by=leader, activity_type=social, target=3, effective_from=THIS_WEEK + WEEK
    )
    pk = expectation.pk
    expectation_end(expectation=expectation, by=leader)
    assert not Expectation.objects.filter(pk=pk).exists()
    assert audit("expectation.delete").before["target"] == 3


@pytest.mark.parametrize(
    ("effective_to", "message"),
    [
        (THIS_WEEK - WEEK, "Closed weeks cannot change"),
        (THIS_WEEK + dt.timedelta(days=2), "must be a week start"),
    ],
)
def test_expectation_end_in_the_past_or_mid_week_is_refused(org, leader, social, effective_to, message):
    expectation = ExpectationFactory(activity_type=social, target=3, effective_from=THIS_WEEK - 10 * WEEK)
    with refused(message, "effective_to"):
        expectation_end(expectation=expectation, by=leader, effective_to=effective_to)


def test_ending_an_expectation_that_already_ended_is_refused(org, leader, social):
    # Setting its end to this week would give the weeks since it ended a target again.
    expectation = ExpectationFactory(
        activity_type=social, target=3, effective_from=THIS_WEEK - 10 * WEEK, effective_to=THIS_WEEK - 4 * WEEK
    )
    with refused("already ends", "effective_to"):
        expectation_end(expectation=expectation, by=leader)
    assert target_in(THIS_WEEK - 2 * WEEK, org, social) is None


def test_a_replaced_period_cannot_be_stretched_over_its_successor(org, leader, social):
    old = ExpectationFactory(activity_type=social, target=3, effective_from=THIS_WEEK - 10 * WEEK)
    expectation_set(organization=org, by=leader, activity_type=social, target=5, effective_from=THIS_WEEK + WEEK)
    old.refresh_from_db()
    with refused("already ends", "effective_to"):
        expectation_end(expectation=old, by=leader, effective_to=THIS_WEEK + 3 * WEEK)
    assert target_in(THIS_WEEK + 2 * WEEK, org, social) == 5


def test_a_scheduled_end_can_be_brought_forward(org, leader, social):
    expectation = ExpectationFactory(
        activity_type=social, target=3, effective_from=THIS_WEEK - 10 * WEEK, effective_to=THIS_WEEK + 4 * WEEK
    )
    expectation_end(expectation=expectation, by=leader, effective_to=THIS_WEEK + WEEK)
    expectation.refresh_from_db()
    assert expectation.effective_to == THIS_WEEK + WEEK


# --- integration keys -----------------------------------------------------------------


def test_integration_key_create_returns_the_secret_once_and_audits_without_it(org, leader):
    key, secret = integration_key_create(organization=org, by=leader, name=" HubSpot sync ", source_label="HubSpot")

    assert (key.name, key.source_label, key.active, key.created_by) == ("HubSpot sync", "HubSpot", True, leader)
    assert len(secret) >= 32 and key.secret == secret
    assert key.key_id.startswith("ik_")
    event = audit("integration_key.create")
    assert event.after == {"name": "HubSpot sync", "source_label": "HubSpot", "key_id": key.key_id}
    assert secret not in str(event.before) + str(event.after) + event.object_repr


def test_integration_key_ids_and_secrets_are_unique(org, leader):
    made = [integration_key_create(organization=org, by=leader, name=f"Key {i}", source_label="CRM") for i in range(5)]
    assert len({key.key_id for key, _ in made}) == 5
    assert len({secret for _, secret in made}) == 5


@pytest.mark.parametrize(
    ("name", "source_label", "field"),
    [("", "HubSpot", "name"), ("  ", "HubSpot", "name"), ("Sync", " ", "source_label")],
)
def test_integration_key_needs_a_name_and_a_source(org, leader, name, source_label, field):
    with refused("", field):
        integration_key_create(organization=org, by=leader, name=name, source_label=source_label)


def test_rotating_changes_the_secret_but_not_the_key_id(org, leader):
    key, old_secret = integration_key_create(organization=org, by=leader, name="Sync", source_label="CRM")
    key_id = key.key_id

    key, new_secret = integration_key_rotate(key=key, by=leader)

    key.refresh_from_db()
    assert new_secret != old_secret and key.secret == new_secret
    assert (key.key_id, key.rotated_at) == (key_id, NOW)
    event = audit("integration_key.rotate")
    assert event.actor == leader and new_secret not in str(event.after) and old_secret not in str(event.before)


def test_deactivate_and_activate_are_audited(org, leader):
    key, _ = integration_key_create(organization=org, by=leader, name="Sync", source_label="CRM")

    integration_key_set_active(key=key, by=leader, active=False)
    key.refresh_from_db()
    assert not key.active
    event = audit("integration_key.deactivate")
    assert (event.before, event.after) == ({"active": True}, {"active": False})

    with refused("already inactive", None):
        integration_key_set_active(key=key, by=leader, active=False)

    integration_key_set_active(key=key, by=leader, active=True)
    key.refresh_from_db()
    assert key.active
    assert audit("integration_key.activate").after == {"active": True}


# --- the organization's week structure changes -------------------------------------------


def test_changing_week_start_realigns_stored_weeks_and_expectation_dates(org, leader, producer):
    crm = ActivityTypeFactory(organization=org, name="CRM call")
    monday = dt.date(2026, 1, 5)
    expectation = ExpectationFactory(
        activity_type=crm, effective_from=monday, effective_to=monday + dt.timedelta(days=21)
    )
    # Sunday 2026-03-15 18:00 Chicago: in the Monday week of Mar 9, the Sunday week of Mar 15.
    sunday_evening = dt.datetime(2026, 3, 16, 0, 0, tzinfo=dt.UTC)
    activity = ActivityFactory(producer=producer, activity_type=crm, occurred_at=sunday_evening)
    assert activity.week_start == dt.date(2026, 3, 9)

    organization_update(organization=org, by=leader, data={"week_start": 6})

    activity.refresh_from_db()
    expectation.refresh_from_db()
    org.refresh_from_db()
    assert activity.week_start == dt.date(2026, 3, 15) == week_start_for(sunday_evening, org)
    assert (expectation.effective_from, expectation.effective_to) == (dt.date(2026, 1, 4), dt.date(2026, 1, 25))
    assert Activity.objects.filter(organization=org).count() == 1


def test_changing_the_time_zone_moves_activities_across_the_week_boundary(org, leader, producer):
    # Monday 2026-03-16 03:00 UTC is still Sunday evening in Chicago (previous week).
    moment = dt.datetime(2026, 3, 16, 3, 0, tzinfo=dt.UTC)
    activity = ActivityFactory(
        producer=producer, activity_type=ActivityTypeFactory(organization=org), occurred_at=moment
    )
    assert activity.week_start == dt.date(2026, 3, 9)

    organization_update(organization=org, by=leader, data={"timezone": "Europe/Berlin"})

    activity.refresh_from_db()
    assert activity.week_start == dt.date(2026, 3, 16)
