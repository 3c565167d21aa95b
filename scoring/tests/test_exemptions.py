"""Exemptions (SPEC §2 ExemptionRequest, §3 excused weeks): the services — every rule and
refusal (message, field, nothing written), decisions audited and notified, closed weeks
queued for re-computation — and the pages for the whole cast."""

import datetime as dt
import re
import threading
import time

import pytest
import time_machine
from django.db import connection, connections
from django.urls import reverse

from accountability.models import AuditEvent, Notification, Role
from accountability.tests.factories import member
from activities.models import WeekRecompute
from activities.tests.factories import ActivityTypeFactory, ExpectationFactory
from scoring.errors import ExemptionError
from scoring.models import ExemptionRequest
from scoring.services import exemptions
from scoring.services.exemptions import exemption_approve, exemption_cancel, exemption_reject, exemption_request

pytestmark = pytest.mark.django_db

# Wednesday Dec 9, 2026, 12:00 in Chicago (the cast's organization: Monday weeks, 48 h grace).
NOW = dt.datetime(2026, 12, 9, 18, 0, tzinfo=dt.UTC)
THIS = dt.date(2026, 12, 7)
LAST = dt.date(2026, 11, 30)  # closed since Wed Dec 9 00:00 Chicago = 06:00 UTC
TWO_AGO = dt.date(2026, 11, 23)
NEXT = dt.date(2026, 12, 14)
WEEK = dt.timedelta(days=7)

Status = ExemptionRequest.Status


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def calls(org):
    return ExpectationFactory(activity_type=ActivityTypeFactory(organization=org, name="Calls"), target=10)


@pytest.fixture
def posts(org, team):
    """A target for `team` only (the producer's team)."""
    return ExpectationFactory(activity_type=ActivityTypeFactory(organization=org, name="Posts"), target=3, team=team)


@pytest.fixture
def bravo_posts(org, other_team):
    return ExpectationFactory(
        activity_type=ActivityTypeFactory(organization=org, name="Bravo posts"), target=3, team=other_team
    )


@pytest.fixture
def outsider_calls(other_org):
    return ExpectationFactory(activity_type=ActivityTypeFactory(organization=other_org, name="Calls"), target=5)


def ask(producer, week_from=THIS, week_to=THIS, **kwargs):
    kwargs.setdefault("reason", "sick")
    return exemption_request(producer=producer, week_from=week_from, week_to=week_to, by=producer, **kwargs)


def counts():
    return (
        ExemptionRequest.objects.count(),
        AuditEvent.objects.count(),
        Notification.objects.count(),
        WeekRecompute.objects.count(),
    )


def statuses():
    return list(ExemptionRequest.objects.order_by("pk").values_list("status", "decided_by", "decision_note"))


# --- requesting -------------------------------------------------------------------------------


def test_producer_requests_all_expectations_audited(producer, org):
    exemption = ask(producer, THIS, NEXT, reason="pto", note="  Vacation  ")
    exemption.refresh_from_db()
    assert (exemption.organization, exemption.producer, exemption.expectation) == (org, producer, None)
    assert (exemption.week_from, exemption.week_to, exemption.reason) == (THIS, NEXT, "pto")
    assert (exemption.status, exemption.note, exemption.decided_at) == (Status.PENDING, "Vacation", None)
    event = AuditEvent.objects.get(action="exemption.request")
    assert (event.actor, event.object_id, event.before) == (producer, str(exemption.pk), None)
    assert event.after["status"] == "pending" and event.after["week_to"] == "2026-12-14"


def test_producer_requests_an_org_or_team_expectation(producer, calls, posts):
    assert ask(producer, expectation=calls).expectation == calls
    assert ask(producer, expectation=posts).expectation == posts


def test_a_closed_week_may_be_requested(producer):
    """Sick last week and could not ask: a manager may still approve it late."""
    assert ask(producer, TWO_AGO, LAST).week_from == TWO_AGO


def test_twelve_weeks_is_the_longest_span(producer):
    assert ask(producer, THIS, THIS + 11 * WEEK).week_to == dt.date(2027, 2, 22)


def test_rejected_requests_and_other_expectations_do_not_clash(producer, manager, calls, posts):
    exemption_reject(exemption=ask(producer, expectation=calls), by=manager, note="No")
    ask(producer, expectation=calls)  # the rejected one no longer counts
    ask(producer, expectation=posts)  # another expectation, same week
    ask(producer, NEXT, NEXT)  # all expectations, another week
    assert ExemptionRequest.objects.filter(status=Status.PENDING).count() == 3


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"week_from": THIS + dt.timedelta(days=1), "week_to": NEXT}, "week_from", "Tue Dec 8, 2026 is not the first"),
        ({"week_from": THIS, "week_to": NEXT + dt.timedelta(days=2)}, "week_to", "is not the first day of a week"),
        ({"week_from": NEXT, "week_to": THIS}, "week_to", "cannot come before the first week"),
        ({"week_from": THIS, "week_to": THIS + 12 * WEEK}, "week_to", "at most 12 weeks"),
        ({"week_from": THIS - 9 * WEEK, "week_to": THIS - 9 * WEEK}, "week_from", "back at most 8 weeks"),
        ({"week_from": THIS + 27 * WEEK, "week_to": THIS + 27 * WEEK}, "week_to", "at most 26 weeks ahead"),
        ({"reason": "hangover"}, "reason", "Choose a reason"),
        ({"note": "x" * 501}, "note", "under 500 characters"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_written(producer, kwargs, field, message):
    before = counts()
    with pytest.raises(ExemptionError) as refused:
        ask(producer, **kwargs)
    assert refused.value.field == field and message in refused.value.message
    assert counts() == before


@pytest.mark.parametrize("which", ["bravo_posts", "outsider_calls"])
def test_an_expectation_that_cannot_apply_is_refused(request, producer, which):
    before = counts()
    with pytest.raises(ExemptionError, match="does not apply to you") as refused:
        ask(producer, expectation=request.getfixturevalue(which))
    assert refused.value.field == "expectation" and counts() == before


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({}, {"expectation": "calls"}),  # all, then one
        ({"expectation": "calls"}, {}),  # one, then all
        ({"expectation": "calls"}, {"expectation": "calls"}),
    ],
)
@pytest.mark.parametrize("approved", [False, True])
def test_an_overlapping_pending_or_approved_request_is_refused(request, producer, manager, first, second, approved):
    def resolve(kwargs):
        return {k: request.getfixturevalue(v) for k, v in kwargs.items()}

    existing = ask(producer, LAST, NEXT, **resolve(first))
    if approved:
        exemption_approve(exemption=existing, by=manager)
    before = counts()
    with pytest.raises(ExemptionError) as refused:
        ask(producer, NEXT, NEXT + WEEK, **resolve(second))
    status = "approved" if approved else "pending"
    assert refused.value.message == (
        f"You already have a {status} exemption for week of Nov 30–week of Dec 14 that overlaps these weeks."
    )
    assert refused.value.field == "week_from" and counts() == before


@pytest.mark.parametrize("who", ["manager", "leader"])
def test_only_producers_request_and_only_for_themselves(request, producer, who):
    someone = request.getfixturevalue(who)
    before = counts()
    with pytest.raises(ExemptionError, match="Only producers can request exemptions"):
        ask(someone)
    with pytest.raises(ExemptionError, match="for themselves"):
        exemption_request(producer=producer, week_from=THIS, week_to=THIS, reason="sick", by=someone)
    assert counts() == before


# --- deciding -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "leader"])
def test_approval_is_audited_and_notifies_the_producer(request, producer, calls, who):
    decider = request.getfixturevalue(who)
    exemption = ask(producer, THIS, NEXT, expectation=calls)
    result = exemption_approve(exemption=exemption, by=decider, note="Get well")
    exemption.refresh_from_db()
    assert (exemption.status, exemption.decided_by, exemption.decision_note) == (Status.APPROVED, decider, "Get well")
    assert exemption.decided_at == NOW and result.status == Status.APPROVED
    event = AuditEvent.objects.get(action="exemption.approve")
    assert event.actor == decider and event.object_id == str(exemption.pk)
    assert (event.before["status"], event.after["status"]) == ("pending", "approved")
    assert event.after["decided_by"] == decider.pk and event.after["decision_note"] == "Get well"
    notification = Notification.objects.get()
    assert (notification.recipient, notification.kind) == (producer, "exemption_approved")
    assert notification.text == (
        f"{decider.name} approved your exemption (Calls, week of Dec 7 to week of Dec 14): Get well"
    )
    assert notification.link == reverse("scoring:exemptions")
    assert not WeekRecompute.objects.exists()  # open and future weeks are scored with it anyway


def test_approval_queues_only_the_covered_closed_weeks(producer, manager, org):
    WeekRecompute.objects.create(organization=org, producer=producer, week_start=LAST, reason="activity edited")
    exemption = ask(producer, TWO_AGO, NEXT)
    exemption_approve(exemption=exemption, by=manager)
    rows = WeekRecompute.objects.order_by("week_start")
    assert [(r.producer, r.week_start) for r in rows] == [(producer, TWO_AGO), (producer, LAST)]
    assert {r.reason for r in rows} == {f"exemption {exemption.pk} approved"}


def test_a_week_in_its_grace_period_is_not_queued(producer, manager):
    """Last week closes at Wed 00:00 Chicago (06:00 UTC); a minute before, it is still open."""
    with time_machine.travel(dt.datetime(2026, 12, 9, 5, 59, tzinfo=dt.UTC), tick=False):
        exemption_approve(exemption=ask(producer, LAST, LAST), by=manager)
    assert not WeekRecompute.objects.exists()


def test_rejection_needs_a_note_is_audited_and_notifies(producer, manager, org):
    exemption = ask(producer, TWO_AGO, LAST)
    before = counts()
    with pytest.raises(ExemptionError, match="Say why you reject it") as refused:
        exemption_reject(exemption=exemption, by=manager, note="   ")
    assert refused.value.field == "note" and counts() == before
    exemption_reject(exemption=exemption, by=manager, note="You were at the conference")
    exemption.refresh_from_db()
    assert (exemption.status, exemption.decided_by) == (Status.REJECTED, manager)
    event = AuditEvent.objects.get(action="exemption.reject")
    assert (event.before["status"], event.after["status"]) == ("pending", "rejected")
    notification = Notification.objects.get(recipient=producer)
    assert notification.kind == "exemption_rejected"
    assert notification.text.endswith(
        "rejected your exemption (all expectations, week of Nov 23 to week of Nov 30): You were at the conference"
    )
    assert not WeekRecompute.objects.exists()  # nothing changes in the closed weeks


@pytest.mark.parametrize("decide", [exemption_approve, exemption_reject])
@pytest.mark.parametrize(
    ("owner", "who", "message"),
    [
        ("producer", "producer", "You cannot approve your own"),
        ("teammate", "manager", "Only the producer's manager or a leader"),  # not their team
        ("producer", "teammate", "Only the producer's manager or a leader"),
        ("producer", "outsider_leader", "Only the producer's manager or a leader"),
    ],
)
def test_only_the_producers_manager_or_a_leader_decides(request, decide, owner, who, message):
    exemption = ask(request.getfixturevalue(owner))
    decider = request.getfixturevalue(who)
    before, before_statuses = counts(), statuses()
    with pytest.raises(ExemptionError) as refused:
        decide(exemption=exemption, by=decider, note="because")
    verb = "approve" if decide is exemption_approve else "reject"
    assert refused.value.message.startswith(message.replace("approve", verb))
    assert counts() == before and statuses() == before_statuses


def test_a_leader_decides_for_any_team(teammate, leader):
    exemption = exemption_approve(exemption=ask(teammate), by=leader)
    assert exemption.status == Status.APPROVED


@pytest.mark.parametrize("first", [exemption_approve, exemption_reject])
@pytest.mark.parametrize("second", [exemption_approve, exemption_reject])
def test_only_pending_requests_are_decided(producer, manager, leader, first, second):
    exemption = ask(producer, LAST, LAST)
    first(exemption=exemption, by=manager, note="first")
    before, before_statuses = counts(), statuses()
    with pytest.raises(ExemptionError, match="This request was already"):
        second(exemption=exemption, by=leader, note="second")  # a stale copy: the row is re-read
    assert counts() == before and statuses() == before_statuses


# --- cancelling -----------------------------------------------------------------------------------


def test_producer_cancels_a_pending_request_audited(producer):
    exemption = ask(producer)
    pk = exemption.pk
    exemption_cancel(exemption=exemption, by=producer)
    assert not ExemptionRequest.objects.filter(pk=pk).exists()
    event = AuditEvent.objects.get(action="exemption.cancel")
    assert event.object_id == str(pk) and event.before["status"] == "pending" and event.actor == producer


def test_only_the_producer_cancels_and_only_while_pending(producer, manager):
    exemption = ask(producer)
    before = counts()
    with pytest.raises(ExemptionError, match="Only the producer who asked"):
        exemption_cancel(exemption=exemption, by=manager)
    assert counts() == before
    exemption_approve(exemption=exemption, by=manager)
    before = counts()
    with pytest.raises(ExemptionError, match="already approved"):
        exemption_cancel(exemption=exemption, by=producer)
    assert counts() == before


# --- pages ------------------------------------------------------------------------------------------

LIST = reverse("scoring:exemptions")
NEW = reverse("scoring:exemption_request")
HX = {"HTTP_HX_REQUEST": "true"}


def url(name, exemption):
    return reverse(f"scoring:{name}", args=[exemption.pk])


def pks(response, testid):
    return {int(pk) for pk in re.findall(rf'data-testid="{testid}" data-pk="(\d+)"', response.content.decode())}


@pytest.mark.parametrize("name", ["exemption_approve", "exemption_reject", "exemption_cancel"])
def test_anonymous_is_sent_to_login(client, producer, name):
    exemption = ask(producer)
    for target, method in [(LIST, client.get), (NEW, client.get), (url(name, exemption), client.post)]:
        response = method(target)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert ExemptionRequest.objects.get().status == Status.PENDING


def test_producer_lists_only_their_own_requests(login, producer, teammate, manager):
    mine, decided = ask(producer, THIS, THIS), ask(producer, LAST, LAST, reason="pto", note="Beach")
    exemption_reject(exemption=decided, by=manager, note="Busy week")
    ask(teammate)
    response = login(producer).get(LIST)
    assert response.status_code == 200
    assert pks(response, "exemption-row") == {mine.pk, decided.pk}
    html = response.content.decode()
    assert "Rejected by Max Manager" in html and "Busy week" in html and "“Beach”" in html
    assert html.count('data-testid="cancel"') == 1  # only the pending one


def test_staff_see_the_queue_and_history_of_the_producers_they_act_on(login, producer, teammate, manager, leader):
    pending, other_team = ask(producer, NEXT, NEXT), ask(teammate)
    decided = exemption_approve(exemption=ask(producer, THIS, THIS), by=manager)
    response = login(manager).get(LIST)
    assert pks(response, "queue-item") == {pending.pk} and pks(response, "history-row") == {decided.pk}
    response = login(leader).get(LIST)
    assert pks(response, "queue-item") == {pending.pk, other_team.pk} and pks(response, "history-row") == {decided.pk}


def test_outsiders_see_nothing(login, producer, outsider_leader, outsider):
    ask(producer)
    for who in (outsider_leader, outsider):
        response = login(who).get(LIST)
        assert response.status_code == 200
        assert not pks(response, "queue-item") and not pks(response, "exemption-row")


def test_queue_page_query_count_does_not_grow_with_requests(login, org, team, manager, django_assert_max_num_queries):
    def fill(n):
        for k in range(n):
            exemption = ask(member(org, Role.PRODUCER, team=team), THIS, THIS)
            if k % 2:
                exemption_approve(exemption=exemption, by=manager)

    fill(2)
    client = login(manager)
    # session, user, MFA device, membership, managed teams, the queue (one joined query), the
    # history count and page (one joined query), the unread-notification badge, the session
    # save (3) — whatever the number of requests.
    with django_assert_max_num_queries(12) as small:
        client.get(LIST)
    fill(8)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(LIST)
    assert len(pks(response, "queue-item")) == 5 and len(pks(response, "history-row")) == 5


def test_request_form_offers_weeks_and_applicable_expectations(login, producer, calls, posts, bravo_posts):
    response = login(producer).get(NEW)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<option value="2026-12-07" selected>week of Mon Dec 7 (this week)</option>' in html
    assert '<option value="2026-11-30">week of Mon Nov 30</option>' in html
    assert "All expectations" in html and "Calls (10 a week)" in html and "Posts (3 a week)" in html
    assert "Bravo posts" not in html


@pytest.mark.parametrize("who", ["manager", "leader"])
def test_staff_may_not_request(login, request, who):
    client = login(request.getfixturevalue(who))
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, {"week_from": THIS, "week_to": THIS, "reason": "sick"}).status_code == 403
    assert not ExemptionRequest.objects.exists()


def test_producer_requests_through_the_form(login, producer, calls):
    data = {
        "week_from": "2026-11-30",
        "week_to": "2026-12-14",
        "expectation": calls.pk,
        "reason": "sick",
        "note": "Flu",
    }
    response = login(producer).post(NEW, data)
    assert response.status_code == 302 and response.url == LIST
    exemption = ExemptionRequest.objects.get()
    assert (exemption.producer, exemption.week_from, exemption.week_to) == (producer, LAST, NEXT)
    assert (exemption.expectation, exemption.reason, exemption.note) == (calls, "sick", "Flu")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"week_from": "2026-12-14", "week_to": "2026-12-07"}, "The last week cannot come before the first week."),
        ({"week_from": "2026-12-08"}, "Select a valid choice."),
        ({"reason": "hangover"}, "Select a valid choice."),
        ({"week_from": "2026-11-30", "week_to": "2026-11-30"}, "You already have a pending exemption"),
    ],
)
def test_bad_form_input_is_400_with_the_message_and_nothing_written(login, producer, bravo_posts, data, message):
    ask(producer, LAST, LAST)
    before = counts()
    response = login(producer).post(NEW, {"week_from": "2026-12-07", "week_to": "2026-12-07", "reason": "sick", **data})
    assert response.status_code == 400 and message in response.content.decode()
    assert counts() == before


def test_expectation_of_another_team_is_not_a_choice(login, producer, bravo_posts):
    data = {"week_from": "2026-12-07", "week_to": "2026-12-07", "reason": "sick", "expectation": bravo_posts.pk}
    response = login(producer).post(NEW, data)
    assert response.status_code == 400 and not ExemptionRequest.objects.exists()


@pytest.mark.parametrize("who", ["manager", "leader"])
def test_staff_approve_from_the_queue(login, request, producer, who):
    exemption = ask(producer, LAST, LAST)
    decider = request.getfixturevalue(who)
    response = login(decider).post(url("exemption_approve", exemption), {"note": "ok"})
    assert response.status_code == 302 and response.url == LIST
    exemption.refresh_from_db()
    assert (exemption.status, exemption.decided_by, exemption.decision_note) == ("approved", decider, "ok")
    assert WeekRecompute.objects.get().week_start == LAST
    assert Notification.objects.get().recipient == producer


def test_htmx_reject_swaps_the_card_and_a_missing_note_is_shown(login, producer, manager):
    exemption = ask(producer)
    client = login(manager)
    response = client.post(url("exemption_reject", exemption), {"note": ""}, **HX)
    assert response.status_code == 200 and 'data-testid="decision-error"' in response.content.decode()
    assert "Say why you reject it" in response.content.decode()
    assert ExemptionRequest.objects.get().status == "pending" and not Notification.objects.exists()
    response = client.post(url("exemption_reject", exemption), {"note": "Not a sick day"}, **HX)
    html = response.content.decode()
    assert 'data-testid="decision"' in html and "Rejected the request of Pat Producer." in html
    assert ExemptionRequest.objects.get().status == "rejected"


def test_deciding_twice_says_so(login, producer, manager):
    exemption = exemption_approve(exemption=ask(producer), by=manager)
    response = login(manager).post(url("exemption_reject", exemption), {"note": "no"}, follow=True)
    assert "This request was already approved." in response.content.decode()
    assert ExemptionRequest.objects.get().status == "approved"


@pytest.mark.parametrize("name", ["exemption_approve", "exemption_reject"])
@pytest.mark.parametrize(
    ("owner", "who", "status"),
    [
        ("teammate", "manager", 404),  # not their team: not even visible
        ("producer", "outsider_leader", 404),
        ("producer", "producer", 403),  # never the producer
        ("teammate", "producer", 403),  # the role may not, whatever the id
    ],
)
def test_decisions_outside_role_or_visibility(login, request, name, owner, who, status):
    exemption = ask(request.getfixturevalue(owner))
    before, before_statuses = counts(), statuses()
    response = login(request.getfixturevalue(who)).post(url(name, exemption), {"note": "x"})
    assert response.status_code == status
    assert counts() == before and statuses() == before_statuses


@pytest.mark.parametrize("name", ["exemption_approve", "exemption_reject", "exemption_cancel"])
def test_decisions_are_post_only(login, producer, manager, name):
    exemption = ask(producer)
    assert login(manager).get(url(name, exemption)).status_code == 405
    assert ExemptionRequest.objects.get().status == "pending"


def test_producer_cancels_from_their_list(login, producer):
    exemption = ask(producer)
    response = login(producer).post(url("exemption_cancel", exemption), follow=True)
    assert "Your request was cancelled." in response.content.decode()
    assert not ExemptionRequest.objects.exists()


@pytest.mark.parametrize(("who", "status"), [("manager", 403), ("leader", 403), ("teammate", 404), ("outsider", 404)])
def test_others_cannot_cancel(login, request, producer, who, status):
    ask(producer)
    before = counts()
    exemption = ExemptionRequest.objects.get()
    assert login(request.getfixturevalue(who)).post(url("exemption_cancel", exemption)).status_code == status
    assert counts() == before


def test_cancelling_a_decided_request_says_so(login, producer, manager):
    exemption = exemption_approve(exemption=ask(producer), by=manager)
    response = login(producer).post(url("exemption_cancel", exemption), follow=True)
    assert "This request was already approved." in response.content.decode()
    assert ExemptionRequest.objects.filter(pk=exemption.pk).exists()


def test_producer_home_lists_my_latest_requests(login, producer, teammate, calls):
    mine = ask(producer, expectation=calls)
    ask(teammate)
    response = login(producer).get(reverse("home"))
    html = response.content.decode()
    assert "My exemption requests" in html and pks(response, "my-exemption") == {mine.pk}
    assert "Calls · week of Dec 7" in html


@pytest.mark.parametrize("who", ["producer", "manager", "leader"])
def test_everyone_has_the_exemptions_link(login, request, who):
    html = login(request.getfixturevalue(who)).get(reverse("home")).content.decode()
    assert f'href="{LIST}">Exemptions</a>' in html


# --- concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_requests_at_once_give_one_row(producer, monkeypatch):
    """The overlap check and the insert run under a lock on the producer's membership: a
    pause between them (as under load) lets the other request in only after the commit."""
    check = exemptions._check_overlap

    def slow_check(**kwargs):
        check(**kwargs)
        time.sleep(0.3)

    monkeypatch.setattr(exemptions, "_check_overlap", slow_check)
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serializes writers")
    barrier, outcomes = threading.Barrier(2), []

    def attempt():
        try:
            barrier.wait()
            ask(producer, THIS, NEXT)
            outcomes.append("created")
        except ExemptionError as error:
            outcomes.append(error.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refusal = "You already have a pending exemption for week of Dec 7–week of Dec 14 that overlaps these weeks."
    assert sorted(outcomes) == sorted(["created", refusal])
    assert ExemptionRequest.objects.count() == 1
