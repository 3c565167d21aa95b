"""Leader configuration pages: activity types, expectations, integration keys (SPEC §5 Settings)."""

import datetime as dt

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accountability.models import AuditEvent
from accountability.tests.factories import TeamFactory
from activities.models import ActivityType, Category, Expectation, IntegrationKey
from activities.selectors import expectations_in_force
from activities.services.integrations import integration_key_create
from activities.tests.factories import ActivityTypeFactory, ExpectationFactory

pytestmark = pytest.mark.django_db

# Wednesday noon in Chicago: the open week is the one starting Monday Dec 8, 2025.
NOW = dt.datetime(2025, 12, 10, 18, 0, tzinfo=dt.UTC)
THIS_WEEK = dt.date(2025, 12, 8)
NEXT_WEEK = THIS_WEEK + dt.timedelta(days=7)
LAST_WEEK = THIS_WEEK - dt.timedelta(days=7)
LONG_AGO = THIS_WEEK - dt.timedelta(days=70)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def url(name, *args):
    return reverse(f"activities:{name}", args=args)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def errors_of(response) -> str:
    return str(response.context["form"].errors)


@pytest.fixture
def social(org):
    return ActivityTypeFactory(organization=org, name="Social post", category=Category.SOCIAL, points=2)


@pytest.fixture
def expectation(social):
    return ExpectationFactory(activity_type=social, target=3, effective_from=LONG_AGO)


@pytest.fixture
def key_and_secret(org, leader):
    return integration_key_create(organization=org, by=leader, name="HubSpot main", source_label="HubSpot")


@pytest.fixture
def key(key_and_secret):
    return key_and_secret[0]


def periods(activity_type) -> list[tuple]:
    """Every Expectation row of a type, to show that a refused change wrote nothing."""
    rows = Expectation.objects.filter(activity_type=activity_type).order_by("pk")
    return list(rows.values_list("pk", "team_id", "target", "effective_from", "effective_to"))


def target_in(org, week, team_id=None, activity_type=None):
    found = expectations_in_force(organization=org, week_start=week, team_id=team_id)
    expectation = found.get(activity_type.pk) if activity_type else next(iter(found.values()), None)
    return expectation.target if expectation else None


# --- who may open what ------------------------------------------------------------------

PAGES = ["types", "type_create", "type_edit", "expectations", "expectation_set", "keys", "key_create"]
POST_ONLY = ["expectation_end", "key_rotate", "key_toggle"]
OBJECT_URLS = ["type_edit", "expectation_end", "key_rotate", "key_toggle"]


def target_url(name, social, expectation, key):
    if name == "type_edit":
        return url(name, social.pk)
    if name == "expectation_end":
        return url(name, expectation.pk)
    if name.startswith("key_") and name != "key_create":
        return url(name, key.pk)
    return url(name)


def nothing_changed(social, expectation, key, secret, audit_count):
    assert ActivityType.objects.get(pk=social.pk).name == "Social post"
    assert periods(social) == [(expectation.pk, None, 3, LONG_AGO, None)]
    stored = IntegrationKey.objects.get(pk=key.pk)
    assert stored.secret == secret and stored.active
    assert AuditEvent.objects.count() == audit_count


@pytest.mark.parametrize("name", PAGES + POST_ONLY)
def test_anonymous_is_sent_to_login(client, name, social, expectation, key):
    target = target_url(name, social, expectation, key)
    response = client.post(target) if name in POST_ONLY else client.get(target)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login")) and "next=" in response.url


@pytest.mark.parametrize("role", ["producer", "teammate", "manager", "outsider"])
@pytest.mark.parametrize("name", PAGES + POST_ONLY)
def test_everyone_but_leaders_is_refused(request, login, role, name, social, expectation, key_and_secret):
    key, secret = key_and_secret
    audit_count = AuditEvent.objects.count()
    client = login(request.getfixturevalue(role))
    target = target_url(name, social, expectation, key)
    response = client.post(target, {"active": "0", "name": "Hacked"}) if name in POST_ONLY else client.get(target)
    assert response.status_code == 403
    nothing_changed(social, expectation, key, secret, audit_count)


@pytest.mark.parametrize("name", OBJECT_URLS)
def test_outsider_leader_gets_404_for_this_organizations_objects(
    login, outsider_leader, name, social, expectation, key_and_secret
):
    key, secret = key_and_secret
    audit_count = AuditEvent.objects.count()
    client = login(outsider_leader)
    target = target_url(name, social, expectation, key)
    data = {"name": "Hacked", "category": "crm", "points": "1", "active": "0", "effective_to": NEXT_WEEK.isoformat()}
    assert client.post(target, data).status_code == 404
    if name in PAGES:
        assert client.get(target).status_code == 404
    nothing_changed(social, expectation, key, secret, audit_count)


def test_outsider_leader_sees_only_their_own_configuration(login, outsider_leader, other_org, social, expectation, key):
    ActivityTypeFactory(organization=other_org, name="Northwind calls")
    client = login(outsider_leader)
    types_page = client.get(url("types")).content.decode()
    assert "Northwind calls" in types_page and "Social post" not in types_page
    assert "Social post" not in client.get(url("expectations")).content.decode()
    assert key.key_id not in client.get(url("keys")).content.decode()
    form = client.get(url("expectation_set")).context["form"]
    assert [t.name for t in form.fields["activity_type"].queryset] == ["Northwind calls"]
    assert "Alpha" not in client.get(url("expectation_set")).content.decode()


def test_outsider_leader_cannot_target_this_organizations_type(login, outsider_leader, social):
    response = login(outsider_leader).post(
        url("expectation_set"), {"activity_type": social.pk, "target": "4", "effective_from": THIS_WEEK.isoformat()}
    )
    assert response.status_code == 200
    assert "Choose an activity type of this organization." in errors_of(response)
    assert periods(social) == []


@pytest.mark.parametrize("name", POST_ONLY)
def test_post_only_endpoints_refuse_get(login, leader, name, social, expectation, key_and_secret):
    key, secret = key_and_secret
    audit_count = AuditEvent.objects.count()
    response = login(leader).get(target_url(name, social, expectation, key))
    assert response.status_code == 405
    nothing_changed(social, expectation, key, secret, audit_count)


@pytest.mark.parametrize("name", PAGES)
def test_pages_refuse_other_methods(login, leader, name, social, expectation, key):
    response = login(leader).delete(target_url(name, social, expectation, key))
    assert response.status_code == 405
    assert ActivityType.objects.filter(pk=social.pk).exists()


@pytest.mark.parametrize("name", ["types", "type_create", "expectations", "expectation_set", "keys", "key_create"])
def test_settings_nav_marks_the_current_section(login, leader, name):
    section = {"type": "types", "expe": "expectations", "key_": "keys"}.get(name[:4], name)
    page = login(leader).get(url(name)).content.decode()
    assert f'class="nav-link active" aria-current="page" href="{url(section)}"' in page


def test_leader_menu_links_to_the_configuration_pages(login, leader):
    page = login(leader).get(reverse("settings:organization")).content.decode()
    for name in ("types", "expectations", "keys"):
        assert f'class="dropdown-item" href="{url(name)}"' in page


# --- activity types ----------------------------------------------------------------------

TYPE_DATA = {"name": "Referral asked", "category": "crm", "points": "4", "active": "on"}


def test_types_list_shows_each_type_with_its_targets_in_force(login, leader, org, team, social, expectation):
    ExpectationFactory(activity_type=social, team=team, target=5, effective_from=LAST_WEEK)
    ExpectationFactory(
        activity_type=social,
        team=None,
        target=9,
        effective_from=LONG_AGO - dt.timedelta(days=70),
        effective_to=LONG_AGO,
    )  # history: not in force
    ActivityTypeFactory(organization=org, name="Cold call", category=Category.CRM, active=False)
    page = login(leader).get(url("types")).content.decode()
    assert "Everyone: <strong>3</strong>/week" in page and "Alpha: <strong>5</strong>/week" in page
    assert "<strong>9</strong>" not in page
    assert page.index("Everyone: <strong>3") < page.index("Alpha: <strong>5")
    assert "Cold call" in page and "Inactive" in page and "No weekly target" in page


def test_create_type_saves_and_audits(login, leader, org):
    response = login(leader).post(url("type_create"), {**TYPE_DATA, "requires_evidence": "on"})
    assert response.status_code == 302 and response.url == url("types")
    created = ActivityType.objects.get(organization=org, name="Referral asked")
    assert (created.category, created.points, created.requires_evidence, created.active) == ("crm", 4, True, True)
    event = AuditEvent.objects.get(action="activity_type.create")
    assert event.actor == leader and event.object_id == str(created.pk) and event.after["points"] == 4
    assert "Activity type “Referral asked” created." in messages_of(response)[0]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"name": "social POST"}, "An activity type named “social POST” already exists."),
        ({"name": "   "}, "An activity type needs a name."),
        ({"name": ""}, "An activity type needs a name."),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"points": "-1"}, "Points must be 0 or more."),
        ({"points": "ten"}, "Points must be a whole number."),
        ({"points": "10001"}, "Points can be at most 10000."),
        ({"category": "gossip"}, "Select a valid choice."),
    ],
)
def test_create_type_refusals_write_nothing(login, leader, org, social, changes, message):
    audit_count = AuditEvent.objects.count()
    response = login(leader).post(url("type_create"), {**TYPE_DATA, **changes})
    assert response.status_code == 200
    assert message in errors_of(response)
    assert list(ActivityType.objects.filter(organization=org).values_list("name", flat=True)) == ["Social post"]
    assert AuditEvent.objects.count() == audit_count


def test_a_type_name_may_repeat_in_another_organization(login, outsider_leader, other_org, social):
    response = login(outsider_leader).post(url("type_create"), {**TYPE_DATA, "name": "Social post"})
    assert response.status_code == 302
    assert ActivityType.objects.filter(organization=other_org, name="Social post").exists()


def test_edit_type_saves_changes_and_audits_before_and_after(login, leader, social):
    client = login(leader)
    form = client.get(url("type_edit", social.pk)).context["form"]
    assert form["name"].value() == "Social post" and form["points"].value() == 2
    data = {"name": "Social post", "category": "social", "points": "3", "active": "on"}
    response = client.post(url("type_edit", social.pk), data)
    assert response.status_code == 302
    assert ActivityType.objects.get(pk=social.pk).points == 3
    event = AuditEvent.objects.get(action="activity_type.update")
    assert event.before == {"points": 2} and event.after == {"points": 3}


def test_edit_type_without_changes_writes_nothing(login, leader, social):
    data = {"name": "Social post", "category": "social", "points": "2", "active": "on"}
    response = login(leader).post(url("type_edit", social.pk), data)
    assert response.status_code == 302 and messages_of(response) == ["Nothing changed."]
    assert not AuditEvent.objects.exists()


def test_edit_type_refuses_a_duplicate_name_and_keeps_the_saved_one(login, leader, org, social):
    ActivityTypeFactory(organization=org, name="CRM entry")
    data = {"name": "crm ENTRY", "category": "social", "points": "2", "active": "on"}
    response = login(leader).post(url("type_edit", social.pk), data)
    assert response.status_code == 200
    assert "An activity type named “crm ENTRY” already exists." in errors_of(response)
    assert response.context["activity_type"].name == "Social post"
    assert ActivityType.objects.get(pk=social.pk).name == "Social post"
    assert not AuditEvent.objects.exists()


def test_a_type_with_a_target_in_force_cannot_be_deactivated(login, leader, social, expectation):
    response = login(leader).post(
        url("type_edit", social.pk), {"name": "Social post", "category": "social", "points": "2"}
    )
    assert response.status_code == 200
    assert "“Social post” still has weekly targets. End them under Expectations first." in errors_of(response)
    assert ActivityType.objects.get(pk=social.pk).active is True
    assert not AuditEvent.objects.exists()


def test_deactivating_a_type_keeps_it_and_then_refuses_new_targets(login, leader, social, expectation):
    expectation.effective_to = THIS_WEEK  # its target ended: now it may be switched off
    expectation.save()
    client = login(leader)
    response = client.post(url("type_edit", social.pk), {"name": "Social post", "category": "social", "points": "2"})
    assert response.status_code == 302
    assert ActivityType.objects.get(pk=social.pk).active is False
    assert AuditEvent.objects.get(action="activity_type.update").after == {"active": False}
    assert "Inactive" in client.get(url("types")).content.decode()
    set_page = client.get(url("expectation_set")).content.decode()
    assert f'<option value="{social.pk}"' not in set_page  # not offered …
    before, audit_count = periods(social), AuditEvent.objects.count()
    response = client.post(
        url("expectation_set"), {"activity_type": social.pk, "target": "4", "effective_from": NEXT_WEEK.isoformat()}
    )
    assert "“Social post” is inactive; activate it first." in errors_of(response)  # … and refused if posted
    assert periods(social) == before and AuditEvent.objects.count() == audit_count


def test_type_edit_page_shows_the_targets_and_a_malformed_id_is_404(login, leader, team, social, expectation):
    ExpectationFactory(activity_type=social, team=team, target=6, effective_from=THIS_WEEK)
    client = login(leader)
    page = client.get(url("type_edit", social.pk)).content.decode()
    assert "Everyone: <strong>3</strong>/week" in page and "Alpha: <strong>6</strong>/week" in page
    assert client.get(f"/activities/settings/types/{social.pk + 999}/").status_code == 404


# --- expectations ------------------------------------------------------------------------


def set_data(the_type, **changes):
    data = {"activity_type": the_type.pk, "team": "", "target": "5", "effective_from": NEXT_WEEK.isoformat()}
    data.update(changes)
    return data


def test_set_form_offers_the_open_week_and_the_next_eight_and_explains_effective_dating(login, leader, social):
    response = login(leader).get(url("expectation_set"))
    choices = response.context["form"].fields["effective_from"].widget.choices
    assert choices[0] == ("2025-12-08", "this week (from Mon Dec 8)")
    assert choices[1] == ("2025-12-15", "next week (from Mon Dec 15)")
    assert choices[2] == ("2025-12-22", "the week of Mon Dec 22")
    assert len(choices) == 9 and choices[-1][0] == "2026-02-02"
    page = response.content.decode()
    assert "Past weeks keep the target they had. The new target applies from the week you choose; " in page
    assert "the current one ends there." in page
    assert '<option value="" selected>Everyone in the organization</option>' in page


def test_changing_a_target_from_next_week_closes_the_old_period(login, leader, org, social, expectation):
    response = login(leader).post(url("expectation_set"), set_data(social, target="5"))
    assert response.status_code == 302 and response.url == url("expectations")
    assert periods(social) == [
        (expectation.pk, None, 3, LONG_AGO, NEXT_WEEK),
        (expectation.pk + 1, None, 5, NEXT_WEEK, None),
    ]
    assert target_in(org, LAST_WEEK) == 3  # a past week keeps its target
    assert target_in(org, THIS_WEEK) == 3
    assert target_in(org, NEXT_WEEK) == 5 and target_in(org, NEXT_WEEK + dt.timedelta(days=70)) == 5
    event = AuditEvent.objects.get(action="expectation.set")
    assert event.actor == leader and event.after["target"] == 5 and event.before["periods"][0]["target"] == 3
    assert "Social post: 5 per week for everyone from the week of Dec 15." in messages_of(response)[0]


def test_changing_a_target_from_this_week_leaves_past_weeks_alone(login, leader, org, social, expectation):
    login(leader).post(url("expectation_set"), set_data(social, target="7", effective_from=THIS_WEEK.isoformat()))
    assert target_in(org, LAST_WEEK) == 3 and target_in(org, LONG_AGO) == 3
    assert target_in(org, THIS_WEEK) == 7
    assert Expectation.objects.get(pk=expectation.pk).effective_to == THIS_WEEK


def test_a_team_target_is_its_own_scope(login, leader, org, team, other_team, social, expectation):
    login(leader).post(url("expectation_set"), set_data(social, team=team.pk, target="6"))
    assert Expectation.objects.get(pk=expectation.pk).effective_to is None  # everyone's target untouched
    assert target_in(org, NEXT_WEEK, team_id=team.pk) == 6
    assert target_in(org, NEXT_WEEK, team_id=other_team.pk) == 3
    assert target_in(org, THIS_WEEK, team_id=team.pk) == 3


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"target": "0"}, "The weekly target must be a whole number from 1 to 10000."),
        ({"target": "-2"}, "The weekly target must be a whole number from 1 to 10000."),
        ({"target": "three"}, "The weekly target must be a whole number from 1 to 10000."),
        ({"target": "2.5"}, "The weekly target must be a whole number from 1 to 10000."),
        ({"target": "10001"}, "The weekly target must be a whole number from 1 to 10000."),
        ({"target": ""}, "Give a weekly target."),
        ({"effective_from": LAST_WEEK.isoformat()}, "Past weeks keep the target they had; a change can start"),
        ({"effective_from": "2025-12-17"}, "A target starts at the beginning of a week."),
        ({"effective_from": "next tuesday"}, "Choose a week from the list."),
        ({"effective_from": ""}, "Choose a week."),
        ({"activity_type": ""}, "Choose an activity type."),
        ({"activity_type": "999999"}, "Choose an activity type of this organization."),
        ({"team": "nope"}, "Choose a team of this organization."),
    ],
)
def test_set_refusals_show_the_reason_and_write_nothing(login, leader, social, expectation, changes, message):
    response = login(leader).post(url("expectation_set"), set_data(social, **changes))
    assert response.status_code == 200
    assert message in errors_of(response)
    assert periods(social) == [(expectation.pk, None, 3, LONG_AGO, None)]
    assert not AuditEvent.objects.exists()


def test_set_refuses_a_team_of_another_organization(login, leader, social, expectation, outsider_team):
    response = login(leader).post(url("expectation_set"), set_data(social, team=outsider_team.pk))
    assert "Choose a team of this organization." in errors_of(response)
    assert periods(social) == [(expectation.pk, None, 3, LONG_AGO, None)]
    assert not AuditEvent.objects.exists()


def test_set_form_is_prefilled_from_a_change_link(login, leader, team, social, expectation):
    ExpectationFactory(activity_type=social, team=team, target=6, effective_from=LAST_WEEK)
    client = login(leader)
    form = client.get(url("expectation_set"), {"activity_type": social.pk, "team": team.pk}).context["form"]
    assert (form["activity_type"].value(), form["team"].value(), form["target"].value()) == (
        str(social.pk),
        str(team.pk),
        6,
    )
    form = client.get(url("expectation_set"), {"activity_type": social.pk}).context["form"]
    assert form["target"].value() == 3
    assert client.get(url("expectation_set"), {"activity_type": "x';--", "team": "[]"}).status_code == 200


def test_expectations_list_shows_current_scheduled_and_past_periods_per_scope(
    login, leader, org, team, social, expectation
):
    ExpectationFactory(activity_type=social, team=team, target=2, effective_from=LONG_AGO, effective_to=LAST_WEEK)
    ExpectationFactory(activity_type=social, team=team, target=4, effective_from=LAST_WEEK, effective_to=NEXT_WEEK)
    ExpectationFactory(activity_type=social, team=team, target=8, effective_from=NEXT_WEEK)
    ActivityTypeFactory(organization=org, name="Untargeted")
    response = login(leader).get(url("expectations"))
    board = dict(response.context["board"])
    everyone, alpha = board[social]
    assert (everyone.team, everyone.current.target, everyone.scheduled, everyone.history) == (None, 3, [], [])
    assert (alpha.team, alpha.current.target) == (team, 4)
    assert [e.target for e in alpha.scheduled] == [8] and [e.target for e in alpha.history] == [2]
    page = response.content.decode()
    assert "8 per week from the week of Dec 15, 2025" in page
    assert "2 per week, weeks of Sep 29, 2025 – Nov 24, 2025" in page
    assert "last week Dec 8, 2025" in page
    assert [scopes for t, scopes in board.items() if t.name == "Untargeted"] == [[]]
    assert "No target yet." in page


def test_ending_a_target_from_next_week_keeps_this_week(login, leader, org, social, expectation):
    response = login(leader).post(url("expectation_end", expectation.pk), {"effective_to": NEXT_WEEK.isoformat()})
    assert response.status_code == 302 and response.url == url("expectations")
    assert Expectation.objects.get(pk=expectation.pk).effective_to == NEXT_WEEK
    assert target_in(org, THIS_WEEK) == 3 and target_in(org, LAST_WEEK) == 3
    assert target_in(org, NEXT_WEEK) is None
    event = AuditEvent.objects.get(action="expectation.end")
    assert event.after["effective_to"] == NEXT_WEEK.isoformat() and event.before["effective_to"] is None
    assert messages_of(response) == [
        "Social post: 3 per week for everyone — no longer applies from the week of Dec 15."
    ]


def test_cancelling_a_scheduled_target_removes_it(login, leader, org, social, expectation):
    client = login(leader)
    client.post(url("expectation_set"), set_data(social, target="5"))
    scheduled = Expectation.objects.get(effective_from=NEXT_WEEK)
    response = client.post(url("expectation_end", scheduled.pk), {"effective_to": NEXT_WEEK.isoformat()})
    assert "Social post: 5 per week for everyone — removed; it never applies." in messages_of(response)
    assert not Expectation.objects.filter(pk=scheduled.pk).exists()
    assert AuditEvent.objects.filter(action="expectation.delete", object_id=str(scheduled.pk)).exists()


@pytest.mark.parametrize(
    "effective_to, message",
    [
        (LAST_WEEK.isoformat(), "Closed weeks cannot change; end it from this week on."),
        ("2025-12-16", "The end must be a week start."),
        ("soon", "Choose a week from the list."),
        ("", "Choose a week."),
    ],
)
def test_end_refusals_show_the_reason_and_write_nothing(login, leader, social, expectation, effective_to, message):
    response = login(leader).post(url("expectation_end", expectation.pk), {"effective_to": effective_to})
    assert response.status_code == 302
    assert messages_of(response) == [message]
    assert periods(social) == [(expectation.pk, None, 3, LONG_AGO, None)]
    assert not AuditEvent.objects.exists()


def test_an_ended_target_cannot_be_stretched_over_later_weeks(login, leader, social):
    past = ExpectationFactory(activity_type=social, target=2, effective_from=LONG_AGO, effective_to=LAST_WEEK)
    response = login(leader).post(url("expectation_end", past.pk), {"effective_to": NEXT_WEEK.isoformat()})
    assert messages_of(response) == ["It already ends from the week of Dec 1."]
    assert Expectation.objects.get(pk=past.pk).effective_to == LAST_WEEK
    assert not AuditEvent.objects.exists()


# --- integration keys ---------------------------------------------------------------------


def test_keys_list_shows_name_tool_id_state_and_use(login, leader, key):
    IntegrationKey.objects.filter(pk=key.pk).update(last_used_at=NOW)
    page = login(leader).get(url("keys")).content.decode()
    # last used at 18:00 UTC, shown in the agency's time zone (Chicago)
    for text in ("HubSpot main", "HubSpot", key.key_id, "Active", "Dec 10, 2025 12:00", "Lena Leader"):
        assert text in page


def test_creating_a_key_shows_its_secret_exactly_once(login, leader, org):
    client = login(leader)
    response = client.post(url("key_create"), {"name": "Hootsuite", "source_label": "Hootsuite"})
    assert response.status_code == 200
    created = IntegrationKey.objects.get(organization=org, name="Hootsuite")
    page = response.content.decode()
    assert page.count(created.secret) == 1
    assert "it is shown only this once" in page and "X-Signature: sha256=" in page
    assert "/api/v1/integrations/events/" in page and 'id="copy-secret"' in page
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="integration_key.create")
    assert created.secret not in str(event.after) and event.after["key_id"] == created.key_id
    # Nothing that outlives the response holds the secret: not the session, not a message.
    assert created.secret not in str(dict(client.session.items()))
    assert not messages_of(response)
    for later in (url("keys"), url("key_create"), url("types"), url("expectations"), reverse("home")):
        assert created.secret not in client.get(later, follow=True).content.decode()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "", "source_label": "HubSpot"}, "Give the key a name."),
        ({"name": "   ", "source_label": "HubSpot"}, "Give the key a name."),
        ({"name": "Main", "source_label": ""}, "Say which tool will use this key (e.g. HubSpot)."),
        ({"name": "Main", "source_label": "  "}, "Say which tool will use this key (e.g. HubSpot)."),
        ({"name": "x" * 101, "source_label": "HubSpot"}, "at most 100 characters"),
    ],
)
def test_key_create_refusals_write_nothing(login, leader, data, message):
    response = login(leader).post(url("key_create"), data)
    assert response.status_code == 200 and message in errors_of(response)
    assert not IntegrationKey.objects.exists() and not AuditEvent.objects.exists()


def test_rotating_a_key_shows_the_new_secret_once_and_the_old_one_never(login, leader, key_and_secret):
    key, old_secret = key_and_secret
    client = login(leader)
    response = client.post(url("key_rotate", key.pk))
    assert response.status_code == 200
    stored = IntegrationKey.objects.get(pk=key.pk)
    assert stored.secret != old_secret and stored.rotated_at == NOW and stored.key_id == key.key_id
    page = response.content.decode()
    assert page.count(stored.secret) == 1 and old_secret not in page and "the old one no longer works" in page
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(action="integration_key.rotate", object_id=str(key.pk)).count() == 1
    assert stored.secret not in client.get(url("keys")).content.decode()


def test_deactivating_and_activating_a_key(login, leader, key):
    client = login(leader)
    response = client.post(url("key_toggle", key.pk), {"active": "0"})
    assert response.status_code == 302 and not IntegrationKey.objects.get(pk=key.pk).active
    assert "deactivated: requests signed with it are refused" in messages_of(response)[0]
    assert AuditEvent.objects.get(action="integration_key.deactivate").after == {"active": False}
    assert "Inactive" in client.get(url("keys")).content.decode()
    response = client.post(url("key_toggle", key.pk), {"active": "1"})
    assert IntegrationKey.objects.get(pk=key.pk).active
    assert AuditEvent.objects.filter(action="integration_key.activate").count() == 1


@pytest.mark.parametrize(
    "data, message",
    [
        ({"active": "1"}, "The key is already active."),
        ({"active": "maybe"}, "Say whether to activate or deactivate the key."),
        ({}, "Say whether to activate or deactivate the key."),
    ],
)
def test_key_toggle_refusals_write_nothing(login, leader, key, data, message):
    audit_count = AuditEvent.objects.count()
    response = login(leader).post(url("key_toggle", key.pk), data)
    assert response.status_code == 302 and messages_of(response) == [message]
    assert IntegrationKey.objects.get(pk=key.pk).active and AuditEvent.objects.count() == audit_count


# --- query budgets ------------------------------------------------------------------------


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def _config_of_size(org, team, leader, size):
    for n in range(size):
        activity_type = ActivityTypeFactory(organization=org, name=f"Type {size}-{n}")
        ExpectationFactory(activity_type=activity_type, target=2, effective_from=LONG_AGO, effective_to=THIS_WEEK)
        ExpectationFactory(activity_type=activity_type, target=3, effective_from=THIS_WEEK)
        ExpectationFactory(activity_type=activity_type, team=team, target=4, effective_from=NEXT_WEEK)
        integration_key_create(organization=org, by=leader, name=f"Key {size}-{n}", source_label="CRM")


# Per request: session, user, two-factor device check, membership, session save
# (savepoint, update, release); the page's reads — types: activity types + targets in
# force; expectations: every period (with type and team) + activity types; keys: keys
# joined to their creator — then the bell's unread count: at most 10.
@pytest.mark.parametrize("name", ["types", "expectations", "keys"])
def test_list_pages_have_a_query_budget_independent_of_size(
    login, leader, org, team, django_assert_max_num_queries, name
):
    client = login(leader)
    client.get(url(name))  # warm up: the first request of a session creates it
    _config_of_size(org, team, leader, 3)
    small = _queries(client, url(name))
    _config_of_size(org, TeamFactory(organization=org), leader, 27)
    with django_assert_max_num_queries(10):
        assert client.get(url(name)).status_code == 200
    assert _queries(client, url(name)) == small


@pytest.mark.parametrize("name", OBJECT_URLS)
def test_an_out_of_range_id_is_404_not_500(login, leader, name):
    path = reverse(f"activities:{name}", args=[1]).replace("/1/", "/99999999999999999999/")
    client = login(leader)
    response = client.get(path) if name == "type_edit" else client.post(path, {"active": "0"})
    assert response.status_code == 404
