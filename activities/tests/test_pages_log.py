"""The activity pages (SPEC §5, issue 3 item 4): the producer's quick log, history and
edit/delete while the week is open; the manager's verification queue and log on behalf.

Time is frozen at NOW = Wednesday 2026-03-18 12:00 CDT (17:00 UTC) for the cast's
America/Chicago organization. The open week is Mon 2026-03-16; the week of Mon 2026-03-09
ended Mon 2026-03-16 00:00 CDT and closed 48 grace hours later, Wed 00:00 — noon is past it.
"""

import datetime as dt
import re
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accountability.models import AuditEvent, Role
from accountability.tests.factories import member
from activities.models import Activity, Category, ReviewReason, Status, WeekRecompute
from activities.services.log import DUPLICATE_MESSAGE

from .factories import ActivityFactory, ActivityTypeFactory, ExpectationFactory

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
NOW = dt.datetime(2026, 3, 18, 17, 0, tzinfo=dt.UTC)
THIS_WEEK = dt.date(2026, 3, 16)
LAST_WEEK = dt.date(2026, 3, 9)  # closed at NOW
HX = {"HTTP_HX_REQUEST": "true"}

LOG = reverse("activities:log")
HISTORY = reverse("activities:history")
QUEUE = reverse("activities:queue")


def chicago(month, day, hour=12, minute=0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CHICAGO)


def url(name, *args):
    return reverse(f"activities:{name}", args=args)


@pytest.fixture(autouse=True)
def frozen():
    # autouse, so the cast is built in frozen time; ticking, so that two quick logs "now"
    # are two different instants (not exact duplicates of each other)
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def social(org):
    return ActivityTypeFactory(organization=org, name="Social post", category=Category.SOCIAL)


@pytest.fixture
def crm(org):
    return ActivityTypeFactory(organization=org, name="CRM entry", category=Category.CRM)


@pytest.fixture
def event(org):
    return ActivityTypeFactory(organization=org, name="Marketing event", category="marketing", requires_evidence=True)


@pytest.fixture
def policy(org):
    return ActivityTypeFactory(
        organization=org, name="New policy sold", category=Category.RESULT, tracks_value=True, value_label="Premium ($)"
    )


@pytest.fixture
def expectations(social, crm):
    """3 social posts and 5 CRM entries a week, for everyone."""
    return ExpectationFactory(activity_type=social, target=3), ExpectationFactory(activity_type=crm, target=5)


def activity(producer, activity_type, occurred_at=None, **fields) -> Activity:
    return ActivityFactory(
        producer=producer,
        activity_type=activity_type,
        occurred_at=occurred_at or chicago(3, 17),
        logged_by=producer,
        **fields,
    )


def html_of(response) -> str:
    return response.content.decode()


def progress_state(html: str, activity_type) -> str:
    """The "N to go" / "met" text of one progress bar."""
    row = re.search(rf'data-testid="progress-row" data-type="{activity_type.pk}">(.*?)</div>\s*</div>', html, re.S)
    assert row, f"no progress row for {activity_type}"
    return re.search(r'data-testid="progress-state">([^<]*)<', row.group(1)).group(1).strip()


def type_to_go(html: str, activity_type) -> str:
    """The "N to go" shown on a type's button in the quick log."""
    label = re.search(rf'<label[^>]*for="type-{activity_type.pk}".*?</label>', html, re.S)
    assert label, f"no button for {activity_type}"
    found = re.search(r'data-testid="type-to-go">(.*?)</span>', label.group(0), re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else ""


def queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured)


# --- who gets in -------------------------------------------------------------------------


@pytest.fixture
def own(producer, social):
    return activity(producer, social)


def _paths(own, producer):
    return {
        "log": LOG,
        "log_for": url("log_for", producer.pk),
        "history": HISTORY,
        "queue": QUEUE,
        "edit": url("edit", own.pk),
    }


@pytest.mark.parametrize("page", ["log", "log_for", "history", "queue", "edit"])
def test_anonymous_is_sent_to_login(client, own, producer, page):
    path = _paths(own, producer)[page]
    response = client.get(path)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={path}"


@pytest.mark.parametrize("action", ["delete", "verify", "reject"])
def test_anonymous_cannot_change_anything(client, own, action):
    response = client.post(url(action, own.pk), {"reason": "no"})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    own.refresh_from_db()
    assert own.status == Status.LOGGED


@pytest.mark.parametrize(
    ("method", "page"),
    [("put", "log"), ("delete", "log"), ("post", "history"), ("post", "queue"), ("put", "edit"), ("put", "log_for")],
)
def test_wrong_method_on_pages(login, manager, own, producer, method, page):
    response = getattr(login(manager), method)(_paths(own, producer)[page])
    assert response.status_code == 405


@pytest.mark.parametrize("action", ["delete", "verify", "reject"])
def test_actions_are_post_only(login, manager, own, action):
    assert login(manager).get(url(action, own.pk)).status_code == 405
    assert Activity.objects.filter(pk=own.pk, status=Status.LOGGED).exists()


@pytest.mark.parametrize("page", ["log_for", "queue"])
def test_producers_may_not_open_manager_pages(login, producer, own, page):
    assert login(producer).get(_paths(own, producer)[page]).status_code == 403


@pytest.mark.parametrize("who", ["teammate", "outsider", "outsider_leader"])
def test_someone_elses_activity_is_not_found(request, login, own, who):
    client = login(request.getfixturevalue(who))
    assert client.get(url("edit", own.pk)).status_code == 404
    assert client.post(url("edit", own.pk), {"activity_type": own.activity_type_id, "quantity": 9}).status_code == 404
    assert client.post(url("delete", own.pk)).status_code == 404
    own.refresh_from_db()
    assert own.quantity == 1


def test_manager_of_another_team_cannot_see_or_decide_an_activity(login, org, producer, teammate, social):
    other_manager = member(org, Role.MANAGER, manages=[teammate.membership.team], name="Other Manager")
    theirs = activity(producer, social, needs_review=True, review_reason=ReviewReason.SAMPLE)
    client = login(other_manager)

    assert client.get(url("edit", theirs.pk)).status_code == 404
    assert client.post(url("verify", theirs.pk), **HX).status_code == 404
    assert client.post(url("reject", theirs.pk), {"reason": "nope"}, **HX).status_code == 404
    assert client.get(url("log_for", producer.pk)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.LOGGED and theirs.needs_review
    assert not AuditEvent.objects.exists()


def test_malformed_ids_do_not_resolve(login, producer):
    client = login(producer)
    assert client.get("/activities/abc/edit/").status_code == 404
    assert client.get(url("edit", 999_999)).status_code == 404


# --- the quick log ----------------------------------------------------------------------


def test_quick_log_shows_each_expected_type_with_what_is_left_this_week(
    login, producer, teammate, expectations, social, crm, policy
):
    activity(producer, social, quantity=2)
    activity(producer, social, occurred_at=chicago(3, 12))  # last week: does not count
    activity(producer, crm, status=Status.REJECTED)  # rejected: does not count
    activity(teammate, crm, quantity=4)  # someone else's

    html = html_of(login(producer).get(LOG))

    assert type_to_go(html, social) == "1 to go"
    assert type_to_go(html, crm) == "5 to go"
    assert type_to_go(html, policy) == ""  # logged freely, not expected
    assert progress_state(html, social) == "1 to go"
    assert progress_state(html, crm) == "5 to go"
    assert "Mar 16 – Mar 22" in html
    # producers pick from the open week only (the previous one closed this morning)
    assert 'min="2026-03-16T00:00"' in html


def test_quick_log_offers_last_week_while_its_grace_period_runs(login, producer, social, frozen):
    frozen.move_to(chicago(3, 17, 9))  # Tuesday: last week closes Wednesday 00:00
    html = html_of(login(producer).get(LOG))
    assert 'min="2026-03-09T00:00"' in html


def test_htmx_quick_log_swaps_in_the_updated_progress_and_a_fresh_form(login, producer, expectations, social, crm):
    client = login(producer)
    response = client.post(LOG, {"activity_type": social.pk, "quantity": 2, "note": "LinkedIn"}, **HX)

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "activities/fragment_quick_log.html"
    html = html_of(response)
    assert "<html" not in html  # the panel only
    assert 'id="quick-log"' in html
    assert "Logged 2× Social post." in html
    assert progress_state(html, social) == "1 to go"
    assert type_to_go(html, social) == "1 to go"
    assert progress_state(html, crm) == "5 to go"
    assert 'name="quantity" id="id_quantity" class="form-control text-center" value="1"' in html  # reset
    assert "checked" not in html and "LinkedIn" not in html
    logged = Activity.objects.get()
    assert (logged.producer, logged.activity_type, logged.quantity, logged.note) == (producer, social, 2, "LinkedIn")
    assert (logged.source, logged.logged_by, logged.week_start) == ("web", producer, THIS_WEEK)
    assert abs(logged.occurred_at - NOW) < dt.timedelta(minutes=1)  # empty "when" means now
    assert not AuditEvent.objects.exists()  # a producer's own entry is not an audited change

    html = html_of(client.post(LOG, {"activity_type": social.pk, "quantity": 1}, **HX))
    assert progress_state(html, social) == "met"
    assert Activity.objects.count() == 2


def test_quick_log_reads_the_time_in_the_organizations_time_zone(login, producer, social):
    login(producer).post(LOG, {"activity_type": social.pk, "quantity": 1, "occurred_at": "2026-03-16T08:30"}, **HX)
    assert Activity.objects.get().occurred_at == chicago(3, 16, 8, 30)


def test_quick_log_without_htmx_redirects_with_a_message(login, producer, social):
    client = login(producer)
    response = client.post(LOG, {"activity_type": social.pk, "quantity": 3}, follow=True)
    assert response.redirect_chain == [(LOG, 302)]
    assert "Logged 3× Social post." in html_of(response)
    assert Activity.objects.get().quantity == 3


def test_quick_log_returns_to_a_local_next_page_only(login, producer, social):
    client = login(producer)
    home = client.post(LOG, {"activity_type": social.pk, "quantity": 1, "next": "/"})
    elsewhere = client.post(LOG, {"activity_type": social.pk, "quantity": 1, "next": "https://evil.example/"})
    assert home.url == "/"
    assert elsewhere.url == LOG


def test_value_field_goes_with_value_types(login, producer, policy):
    response = login(producer).post(LOG, {"activity_type": policy.pk, "quantity": 1, "value": "1,250.50"}, **HX)
    assert "Logged 1× New policy sold." in html_of(response)
    assert Activity.objects.get().value == Decimal("1250.50")


def test_evidence_is_accepted_where_required(login, producer, event):
    link = "https://example.com/event/42"
    login(producer).post(LOG, {"activity_type": event.pk, "quantity": 1, "evidence_url": link}, **HX)
    assert Activity.objects.get().evidence_url == link


def test_the_form_says_which_types_need_a_link_or_a_value(login, producer, event, policy, social):
    html = html_of(login(producer).get(LOG))
    assert "Required for Marketing event." in html
    assert "Give Premium ($) for New policy sold." in html
    assert re.search(r'for="id_value"[^>]*>\s*Premium \(\$\)', html)  # the one valued type names the field
    assert f'id="type-{event.pk}" value="{event.pk}" autocomplete="off" data-requires-evidence' in html
    assert f'id="type-{policy.pk}" value="{policy.pk}" autocomplete="off" data-tracks-value' in html


REFUSALS = [
    # (fields, field, message)
    ({"occurred_at": "2026-03-19T12:00"}, "occurred_at", "An activity cannot be in the future."),
    ({"quantity": "0"}, "quantity", "Quantity must be between 1 and 1000."),
    ({"quantity": "1001"}, "quantity", "Quantity must be between 1 and 1000."),
    ({"quantity": "abc"}, "quantity", "Quantity must be a whole number."),
    ({"quantity": ""}, "quantity", "Quantity must be between 1 and 1000."),
    ({"value": "100"}, "value", "“Social post” does not record a value."),
    ({"occurred_at": "2026-03-12T10:00"}, "occurred_at", "The week of Mar 9 is closed."),
    ({"occurred_at": "yesterday"}, "occurred_at", "Give a date and time"),
    ({"occurred_at": "1900-01-01T10:00"}, "occurred_at", "Pick a date between 2000 and 2099."),
    ({"evidence_url": "javascript:alert(1)"}, "evidence_url", "must be a web link"),
    ({"note": "x" * 501}, "note", "The note is too long"),
    ({"activity_type": ""}, "activity_type", "Pick what you did."),
    ({"activity_type": "999999"}, "activity_type", "Pick one of the activity types listed."),
    ({"activity_type": "abc"}, "activity_type", "Pick one of the activity types listed."),
]


@pytest.mark.parametrize(("fields", "field", "message"), REFUSALS)
def test_refused_quick_log_shows_the_message_on_its_field_and_writes_nothing(
    login, producer, social, fields, field, message
):
    data = {"activity_type": social.pk, "quantity": 1, **fields}
    response = login(producer).post(LOG, data, **HX)

    assert response.status_code == 200  # htmx swaps the form back in with its message
    errors = response.context["form"].errors
    assert field in errors and any(message in e for e in errors[field])
    assert message in html_of(response)
    assert not Activity.objects.exists()


def test_missing_evidence_is_refused(login, producer, event):
    response = login(producer).post(LOG, {"activity_type": event.pk, "quantity": 1}, **HX)
    assert "“Marketing event” needs a link as evidence." in html_of(response)
    assert not Activity.objects.exists()


def test_missing_value_is_refused(login, producer, policy):
    response = login(producer).post(LOG, {"activity_type": policy.pk, "quantity": 1}, **HX)
    assert "“New policy sold” needs Premium ($)." in html_of(response)
    assert not Activity.objects.exists()


def test_another_organizations_type_is_not_offered_nor_accepted(login, producer, outsider, other_org, social):
    theirs = ActivityTypeFactory(organization=other_org, name="Northwind call")
    client = login(producer)
    assert "Northwind call" not in html_of(client.get(LOG))
    response = client.post(LOG, {"activity_type": theirs.pk, "quantity": 1}, **HX)
    assert "Pick one of the activity types listed." in html_of(response)
    assert not Activity.objects.exists()


def test_inactive_types_are_not_offered(login, producer, social, crm):
    crm.active = False
    crm.save()
    html = html_of(login(producer).get(LOG))
    assert f'id="type-{social.pk}"' in html and f'id="type-{crm.pk}"' not in html


def test_exact_duplicate_is_refused_with_a_message(login, producer, social):
    client = login(producer)
    data = {
        "activity_type": social.pk,
        "quantity": 1,
        "occurred_at": "2026-03-17T10:00",
        "note": "Post about flood cover",
    }
    client.post(LOG, data, **HX)
    response = client.post(LOG, data, **HX)
    assert DUPLICATE_MESSAGE in html_of(response)
    assert Activity.objects.count() == 1


def test_refused_quick_log_without_htmx_shows_the_page_with_the_message(login, producer, social):
    response = login(producer).post(LOG, {"activity_type": social.pk, "quantity": "0"})
    assert response.status_code == 200
    assert "activities/log.html" in [t.name for t in response.templates]
    assert "Quantity must be between 1 and 1000." in html_of(response)
    assert not Activity.objects.exists()


def test_staff_have_no_quick_log_of_their_own(login, manager, social):
    client = login(manager)
    assert client.post(LOG, {"activity_type": social.pk, "quantity": 1}).status_code == 403
    assert not Activity.objects.exists()


# --- log on behalf of a team member ---------------------------------------------------------


def test_staff_log_page_lists_the_producers_they_act_on(login, manager, leader, producer, teammate, outsider):
    mine = html_of(login(manager).get(LOG))
    assert url("log_for", producer.pk) in mine and "Pat Producer" in mine
    assert "Tess Teammate" not in mine and "Oscar Outsider" not in mine

    everyone = html_of(login(leader).get(LOG))
    assert "Pat Producer" in everyone and "Tess Teammate" in everyone
    assert "Oscar Outsider" not in everyone


def test_manager_logs_for_a_team_member_audited(login, manager, producer, expectations, social):
    response = login(manager).post(url("log_for", producer.pk), {"activity_type": social.pk, "quantity": 2}, **HX)

    html = html_of(response)
    assert "Logged 2× Social post for Pat Producer." in html
    assert "Pat Producer’s week" in html and progress_state(html, social) == "1 to go"
    logged = Activity.objects.get()
    assert (logged.producer, logged.logged_by) == (producer, manager)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.object_id) == ("activity.log", manager, str(logged.pk))


def test_manager_may_log_into_a_closed_week_which_is_then_recomputed(login, manager, producer, social):
    response = login(manager).post(
        url("log_for", producer.pk), {"activity_type": social.pk, "quantity": 1, "occurred_at": "2026-03-11T15:00"}
    )
    assert response.status_code == 302
    logged = Activity.objects.get()
    assert logged.week_start == LAST_WEEK
    assert WeekRecompute.objects.filter(producer=producer, week_start=LAST_WEEK).exists()
    assert AuditEvent.objects.filter(action="activity.log", actor=manager).exists()


def test_leader_logs_for_anyone_in_the_organization(login, leader, teammate, social):
    login(leader).post(url("log_for", teammate.pk), {"activity_type": social.pk, "quantity": 1})
    assert Activity.objects.get().producer == teammate


@pytest.mark.parametrize(
    ("who", "whom"), [("manager", "teammate"), ("manager", "outsider"), ("outsider_leader", "producer")]
)
def test_log_for_someone_out_of_reach_is_not_found(request, login, social, who, whom):
    client = login(request.getfixturevalue(who))
    target = request.getfixturevalue(whom)
    assert client.get(url("log_for", target.pk)).status_code == 404
    assert client.post(url("log_for", target.pk), {"activity_type": social.pk, "quantity": 1}).status_code == 404
    assert not Activity.objects.exists()


def test_log_for_a_manager_or_leader_is_not_found(login, leader, manager, social):
    assert (
        login(leader).post(url("log_for", manager.pk), {"activity_type": social.pk, "quantity": 1}).status_code == 404
    )
    assert not Activity.objects.exists()


def test_log_for_refusals_show_their_message(login, manager, producer, social):
    response = login(manager).post(url("log_for", producer.pk), {"activity_type": social.pk, "quantity": 0}, **HX)
    assert "Quantity must be between 1 and 1000." in html_of(response)
    assert not Activity.objects.exists() and not AuditEvent.objects.exists()


# --- home pages -------------------------------------------------------------------------------


def test_producer_home_has_the_progress_and_the_quick_log(login, producer, expectations, social):
    activity(producer, social)
    html = html_of(login(producer).get("/"))
    assert 'id="quick-log"' in html
    assert progress_state(html, social) == "2 to go"
    assert f'hx-post="{LOG}"' in html and '<input type="hidden" name="next" value="/">' in html


def test_manager_home_counts_what_waits_for_verification(login, manager, producer, teammate, social):
    activity(producer, social, needs_review=True, review_reason=ReviewReason.LATE)
    activity(producer, social, occurred_at=chicago(3, 16), needs_review=True, review_reason=ReviewReason.SAMPLE)
    activity(producer, social, occurred_at=chicago(3, 16, 9), needs_review=True, status=Status.VERIFIED)
    activity(teammate, social, needs_review=True, review_reason=ReviewReason.SAMPLE)  # not their team
    html = html_of(login(manager).get("/"))
    assert re.search(r'data-testid="queue-count">2<', html)


# --- history ---------------------------------------------------------------------------------


def test_history_lists_only_the_producers_own_activities(login, producer, teammate, social):
    mine = activity(producer, social, note="my post")
    activity(teammate, social, note="their private note")
    html = html_of(login(producer).get(HISTORY))
    assert "my post" in html and "their private note" not in html
    assert url("edit", mine.pk) in html


def test_history_shows_status_and_rejection_reason_but_not_why_something_is_checked(login, producer, social):
    activity(producer, social, status=Status.REJECTED, rejection_reason="No such post on LinkedIn")
    activity(producer, social, occurred_at=chicago(3, 16), status=Status.VERIFIED)
    activity(producer, social, occurred_at=chicago(3, 16, 9), needs_review=True, review_reason=ReviewReason.SAMPLE)
    html = html_of(login(producer).get(HISTORY))
    assert "No such post on LinkedIn" in html
    assert ">Rejected<" in html and ">Verified<" in html and "Awaiting check" in html
    assert "random check" not in html


def test_history_filters_by_type_status_and_local_dates(login, producer, social, crm):
    activity(producer, social, occurred_at=chicago(3, 16, 0, 30), note="monday early")
    activity(producer, social, occurred_at=chicago(3, 15, 23, 30), note="sunday late")
    activity(producer, crm, occurred_at=chicago(3, 17), note="crm tuesday")
    activity(producer, crm, occurred_at=chicago(3, 17, 9), note="crm rejected", status=Status.REJECTED)
    client = login(producer)

    def notes(**params):
        return set(re.findall(r'data-testid="note">([^<]*)<', html_of(client.get(HISTORY, params))))

    assert notes(activity_type=social.pk) == {"monday early", "sunday late"}
    assert notes(status="rejected") == {"crm rejected"}
    assert notes(date_from="2026-03-16", date_to="2026-03-16") == {"monday early"}  # Chicago days, not UTC
    assert notes(date_to="2026-03-15") == {"sunday late"}
    assert notes(activity_type=crm.pk, status="logged") == {"crm tuesday"}


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "garbage"},
        {"date_from": "2026-03-20", "date_to": "2026-03-01"},
        {"activity_type": "999999"},
        {"activity_type": "abc"},
        {"status": "bogus"},
        {"page": "abc"},
        {"page": "99999"},
        {"date_to": "9999-12-31"},
        {"producer": "abc"},
    ],
)
def test_history_survives_bad_filters(login, producer, social, params):
    activity(producer, social, note="still listed")
    response = login(producer).get(HISTORY, params)
    assert response.status_code == 200
    assert "still listed" in html_of(response)


def test_history_says_why_a_filter_was_ignored(login, producer, social):
    html = html_of(login(producer).get(HISTORY, {"date_from": "2026-03-20", "date_to": "2026-03-01"}))
    assert "The end date is before the start date." in html


def test_history_pages_by_25(login, producer, social):
    for i in range(30):
        activity(producer, social, occurred_at=chicago(3, 16) + dt.timedelta(minutes=i))
    client = login(producer)
    first, second = (html_of(client.get(HISTORY, {"page": n})) for n in (1, 2))
    assert first.count('data-testid="activity-row"') == 25
    assert second.count('data-testid="activity-row"') == 5
    assert "Page 2 of 2" in second


def test_history_offers_changes_only_while_the_week_is_open(login, producer, social):
    open_one = activity(producer, social)
    closed_one = activity(producer, social, occurred_at=chicago(3, 12))
    html = html_of(login(producer).get(HISTORY))
    assert url("edit", open_one.pk) in html and url("delete", open_one.pk) in html
    assert url("edit", closed_one.pk) not in html and url("delete", closed_one.pk) not in html
    assert "Week closed" in html


def test_manager_history_covers_their_teams_with_a_producer_filter(
    login, org, team, manager, producer, teammate, social
):
    colleague = member(org, Role.PRODUCER, team=team, name="Cody Colleague")
    activity(producer, social, note="pat now")
    activity(colleague, social, note="cody now")
    activity(teammate, social, note="tess now")
    closed = activity(producer, social, occurred_at=chicago(3, 12), note="pat before")
    client = login(manager)

    html = html_of(client.get(HISTORY))
    assert set(re.findall(r'data-testid="note">([^<]*)<', html)) == {"pat now", "cody now", "pat before"}
    assert "tess now" not in html and "Tess Teammate" not in html
    assert url("edit", closed.pk) in html  # managers may correct closed weeks
    filtered = html_of(client.get(HISTORY, {"producer": colleague.pk}))
    assert "cody now" in filtered and "pat now" not in filtered
    # a producer outside their teams is not a valid choice: reported, not applied
    outside = client.get(HISTORY, {"producer": teammate.pk})
    assert "producer" in outside.context["filter_form"].errors
    assert "tess now" not in html_of(outside)


def _fill(producer, activity_type, count):
    for i in range(count):
        ActivityFactory(
            producer=producer,
            activity_type=activity_type,
            occurred_at=chicago(3, 16) + dt.timedelta(minutes=i),
            logged_by=producer,
            reviewed_by=producer,
            needs_review=True,
            review_reason=ReviewReason.SAMPLE,
        )


def test_history_query_count_does_not_grow_with_activities(
    login, producer, social, manager, leader, django_assert_max_num_queries
):
    client = login(producer)
    _fill(producer, social, 5)
    client.get(HISTORY)  # warm up: the first request of a session creates it
    few = queries(client, HISTORY)

    _fill(producer, social, 45)
    # per request: session, user, two-factor device, membership, session save (savepoint,
    # update, release); the page: the row count, one page of rows (with their types,
    # producers, reviewers and loggers joined), the types for the filter, the bell — 11
    with django_assert_max_num_queries(11):
        response = client.get(HISTORY)
    assert html_of(response).count('data-testid="activity-row"') == 25
    assert queries(client, HISTORY) == few


def test_staff_history_query_count_does_not_grow_with_activities(login, manager, producer, social):
    client = login(manager)
    _fill(producer, social, 5)
    client.get(HISTORY)
    few = queries(client, HISTORY)
    _fill(producer, social, 45)
    assert queries(client, HISTORY) == few


# --- edit and delete ----------------------------------------------------------------------


def _edit_data(a, **changes):
    data = {
        "activity_type": a.activity_type_id,
        "quantity": a.quantity,
        "note": a.note,
        "evidence_url": a.evidence_url,
        "value": "" if a.value is None else a.value,
        "occurred_at": a.occurred_at.astimezone(CHICAGO).strftime("%Y-%m-%dT%H:%M"),
    }
    return {**data, **changes}


def test_producer_edits_their_own_activity_while_the_week_is_open(login, producer, social, crm):
    mine = activity(producer, social, occurred_at=chicago(3, 17, 10, 15) + dt.timedelta(seconds=42))
    client = login(producer)
    page = html_of(client.get(url("edit", mine.pk)))
    assert 'value="2026-03-17T10:15"' in page  # local time

    response = client.post(url("edit", mine.pk), _edit_data(mine, quantity=4, activity_type=crm.pk))
    assert response.status_code == 302 and response.url == HISTORY
    mine.refresh_from_db()
    assert (mine.quantity, mine.activity_type) == (4, crm)
    assert mine.occurred_at == chicago(3, 17, 10, 15) + dt.timedelta(seconds=42)  # unchanged minute kept exact


def test_edit_refusals_show_their_message_and_change_nothing(login, producer, social):
    mine = activity(producer, social)
    client = login(producer)
    for changes, message in [
        ({"quantity": 0}, "Quantity must be between 1 and 1000."),
        ({"occurred_at": "2026-03-11T10:00"}, "The week of Mar 9 is closed."),
        ({"value": "5"}, "does not record a value"),
    ]:
        response = client.post(url("edit", mine.pk), _edit_data(mine, **changes))
        assert response.status_code == 200 and message in html_of(response)
    mine.refresh_from_db()
    assert (mine.quantity, mine.occurred_at, mine.value) == (1, chicago(3, 17), None)


def test_edit_into_an_exact_duplicate_is_refused(login, producer, social):
    first = activity(producer, social, note="same")
    second = activity(producer, social, occurred_at=chicago(3, 16), note="other")
    response = login(producer).post(
        url("edit", second.pk), _edit_data(second, occurred_at="2026-03-17T12:00", note="same")
    )
    assert DUPLICATE_MESSAGE in html_of(response)
    second.refresh_from_db()
    assert second.note == "other" and first.note == "same"


def test_producer_cannot_change_an_activity_once_its_week_closes(login, producer, social, frozen):
    frozen.move_to(chicago(3, 10, 9))  # Tuesday of last week, which is open then
    client = login(producer)
    mine = activity(producer, social, occurred_at=chicago(3, 10, 8))
    assert client.get(url("edit", mine.pk)).status_code == 200

    frozen.move_to(NOW)  # the week of Mar 9 closed on Wednesday Mar 18, 00:00
    client = login(producer)  # a new session: the old one outlived its absolute limit
    response = client.get(url("edit", mine.pk), follow=True)
    assert response.redirect_chain == [(HISTORY, 302)]
    assert "The week of Mar 9 is closed. Ask your manager to add or change it." in html_of(response)
    response = client.post(url("edit", mine.pk), _edit_data(mine, quantity=7))
    assert response.status_code == 302
    deleted = client.post(url("delete", mine.pk), follow=True)
    assert "The week of Mar 9 is closed." in html_of(deleted)
    mine.refresh_from_db()
    assert mine.quantity == 1


def test_producer_deletes_their_own_activity_while_the_week_is_open(login, producer, social):
    mine = activity(producer, social)
    response = login(producer).post(url("delete", mine.pk), follow=True)
    assert "Deleted 1× Social post." in html_of(response)
    assert not Activity.objects.exists()
    assert not AuditEvent.objects.exists()


def test_manager_edit_in_a_closed_week_is_audited_and_queues_a_recompute(login, manager, producer, social):
    old = activity(producer, social, occurred_at=chicago(3, 12))
    client = login(manager)
    assert client.get(url("edit", old.pk)).status_code == 200

    response = client.post(url("edit", old.pk), _edit_data(old, quantity=3))
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.quantity == 3
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.before["quantity"], event.after["quantity"]) == (
        "activity.update",
        manager,
        1,
        3,
    )
    assert WeekRecompute.objects.filter(producer=producer, week_start=LAST_WEEK).exists()


def test_manager_delete_in_a_closed_week_is_audited_and_queues_a_recompute(login, manager, producer, social):
    old = activity(producer, social, occurred_at=chicago(3, 12))
    login(manager).post(url("delete", old.pk))
    assert not Activity.objects.exists()
    assert AuditEvent.objects.get().action == "activity.delete"
    assert WeekRecompute.objects.filter(producer=producer, week_start=LAST_WEEK).exists()


# --- the verification queue ------------------------------------------------------------------


@pytest.fixture
def to_check(producer, teammate, social):
    """One waiting activity for the manager's team and one for another team."""
    return (
        activity(
            producer,
            social,
            needs_review=True,
            review_reason=ReviewReason.LATE,
            note="late post",
            evidence_url="https://example.com/p/1",
        ),
        activity(teammate, social, needs_review=True, review_reason=ReviewReason.SAMPLE, note="tess sample"),
    )


def test_manager_queue_lists_their_teams_waiting_activities(login, manager, producer, social, to_check):
    activity(producer, social, occurred_at=chicago(3, 16), note="not picked")
    activity(producer, social, occurred_at=chicago(3, 16, 9), needs_review=True, status=Status.VERIFIED, note="done")
    html = html_of(login(manager).get(QUEUE))
    assert html.count('data-testid="queue-item"') == 1
    assert "late post" in html and "Pat Producer" in html and "Alpha" in html
    assert "https://example.com/p/1" in html and ">logged late<" in html
    assert "tess sample" not in html and "not picked" not in html and "done" not in html


def test_leader_queue_covers_the_organization_only(login, leader, outsider, social, to_check, other_org):
    theirs = ActivityTypeFactory(organization=other_org)
    activity(outsider, theirs, needs_review=True, review_reason=ReviewReason.SAMPLE, note="northwind")
    html = html_of(login(leader).get(QUEUE))
    assert "late post" in html and "tess sample" in html and "northwind" not in html
    assert re.search(r'data-testid="queue-count"[^>]*>2<', html)


def test_manager_verifies_in_place(login, manager, to_check):
    waiting, _ = to_check
    response = login(manager).post(url("verify", waiting.pk), **HX)

    html = html_of(response)
    assert response.status_code == 200 and "<html" not in html
    assert f'id="queue-item-{waiting.pk}"' in html and 'data-testid="decision"' in html and "Verified" in html
    assert re.search(r'id="queue-count"[^>]*hx-swap-oob="true"[^>]*>0<', html)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.needs_review, waiting.reviewed_by) == (Status.VERIFIED, False, manager)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.object_id) == ("activity.verify", manager, str(waiting.pk))


def test_rejecting_needs_a_reason_and_changes_nothing_without_one(login, manager, to_check):
    waiting, _ = to_check
    response = login(manager).post(url("reject", waiting.pk), {"reason": "  "}, **HX)
    assert "Say why the activity is rejected" in html_of(response)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.needs_review) == (Status.LOGGED, True)
    assert not AuditEvent.objects.exists()


def test_rejected_activity_stops_counting_in_the_producers_progress(
    login, client, manager, producer, expectations, social, to_check
):
    waiting, _ = to_check
    activity(producer, social, occurred_at=chicago(3, 16), quantity=2)
    assert progress_state(html_of(login(producer).get(LOG)), social) == "met"

    response = login(manager).post(url("reject", waiting.pk), {"reason": "Post not found"}, **HX)
    assert "Rejected: Post not found" in html_of(response)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.rejection_reason, waiting.reviewed_by) == (
        Status.REJECTED,
        "Post not found",
        manager,
    )
    event = AuditEvent.objects.get()
    assert (event.action, event.after) == ("activity.reject", {"status": "rejected", "reason": "Post not found"})

    producer_view = login(producer)
    assert progress_state(html_of(producer_view.get(LOG)), social) == "1 to go"
    assert "Post not found" in html_of(producer_view.get(HISTORY))


def test_decisions_without_htmx_redirect_with_a_message(login, manager, to_check):
    waiting, _ = to_check
    response = login(manager).post(url("reject", waiting.pk), {"reason": ""}, follow=True)
    assert response.redirect_chain == [(QUEUE, 302)]
    assert "Say why the activity is rejected" in html_of(response)
    response = login(manager).post(url("verify", waiting.pk), follow=True)
    assert "Verified Social post by Pat Producer." in html_of(response)


def test_producer_cannot_verify_or_reject_their_own(login, producer, to_check):
    waiting, _ = to_check
    client = login(producer)
    assert client.post(url("verify", waiting.pk), **HX).status_code == 403
    assert client.post(url("reject", waiting.pk), {"reason": "mine"}, **HX).status_code == 403
    waiting.refresh_from_db()
    assert (waiting.status, waiting.needs_review) == (Status.LOGGED, True)
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("who", ["outsider_leader", "outsider"])
def test_another_organization_cannot_decide(request, login, who, to_check):
    waiting, _ = to_check
    client = login(request.getfixturevalue(who))
    expected = 403 if who == "outsider" else 404  # producers are refused before any lookup
    assert client.post(url("verify", waiting.pk)).status_code == expected
    waiting.refresh_from_db()
    assert waiting.status == Status.LOGGED


def test_verifying_a_closed_weeks_rejection_queues_a_recompute(login, manager, producer, social):
    old = activity(producer, social, occurred_at=chicago(3, 12), needs_review=True, review_reason=ReviewReason.SAMPLE)
    login(manager).post(url("reject", old.pk), {"reason": "Duplicate of Tuesday"}, **HX)
    assert WeekRecompute.objects.filter(producer=producer, week_start=LAST_WEEK).exists()


def test_queue_query_count_does_not_grow_with_activities(
    login, manager, producer, social, django_assert_max_num_queries
):
    client = login(manager)
    _fill(producer, social, 5)
    client.get(QUEUE)
    few = queries(client, QUEUE)

    _fill(producer, social, 45)
    # per request: session, user, two-factor device, membership, session save (savepoint,
    # update, release); the page: managed teams, the row count, one page of rows (with
    # producers, their teams and the types joined), the bell — 11
    with django_assert_max_num_queries(11):
        response = client.get(QUEUE)
    assert html_of(response).count('data-testid="queue-item"') == 25
    assert queries(client, QUEUE) == few
