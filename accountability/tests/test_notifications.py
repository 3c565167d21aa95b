"""`/notifications/` — the caller's own notifications, and marking them read."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accountability.models import Notification
from accountability.tests.factories import UserFactory
from accountability.views.notifications import PAGE_SIZE

pytestmark = pytest.mark.django_db

LIST = reverse("notifications")
MARK_READ = reverse("notifications_read")


def notify(user, text, *, minutes_ago=0, read=False):
    created = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return Notification.objects.create(
        recipient=user,
        organization=user.membership.organization,
        kind="test",
        text=text,
        link="/",
        created_at=created,
        read_at=created if read else None,
    )


def shown_texts(response) -> list[str]:
    return [n.text for n in response.context["page"]]


def unread(*notifications) -> list[bool]:
    return [Notification.objects.get(pk=n.pk).read_at is None for n in notifications]


# --- the list ------------------------------------------------------------------------


def test_list_shows_only_the_callers_own_notifications_newest_first(login, producer, teammate, outsider):
    notify(producer, "Your check-in is tomorrow", minutes_ago=10)
    notify(producer, "You met every expectation this week", minutes_ago=1)
    notify(teammate, "Teammate's escalation")
    notify(outsider, "Northwind news")

    response = login(producer).get(LIST)

    assert shown_texts(response) == ["You met every expectation this week", "Your check-in is tomorrow"]
    html = response.content.decode()
    assert "Teammate's escalation" not in html
    assert "Northwind news" not in html


def test_unread_ones_are_highlighted_and_offer_mark_read(login, producer):
    fresh = notify(producer, "fresh")
    notify(producer, "seen", minutes_ago=5, read=True)

    html = login(producer).get(LIST).content.decode()
    buttons = re.findall(r'name="id" value="(\d+)"', html)
    assert buttons == [str(fresh.pk)]
    assert html.count("list-group-item-primary") == 1


def test_empty_list_says_so(login, producer):
    assert "Nothing yet." in login(producer).get(LIST).content.decode()


def test_list_is_paginated_newest_first(login, producer):
    for i in range(PAGE_SIZE + 5):
        notify(producer, f"note {i:02d}", minutes_ago=i)
    client = login(producer)

    first = client.get(LIST)
    second = client.get(LIST, {"page": 2})

    assert shown_texts(first) == [f"note {i:02d}" for i in range(PAGE_SIZE)]
    assert shown_texts(second) == [f"note {i:02d}" for i in range(PAGE_SIZE, PAGE_SIZE + 5)]
    assert 'href="?page=2"' in first.content.decode()
    assert 'href="?page=1"' in second.content.decode()
    # out-of-range or malformed page numbers fall back to a real page instead of erroring
    assert shown_texts(client.get(LIST, {"page": 99})) == shown_texts(second)
    assert shown_texts(client.get(LIST, {"page": "abc"})) == shown_texts(first)


def test_list_query_count_does_not_grow_with_notifications(login, producer, django_assert_max_num_queries):
    client = login(producer)
    for i in range(PAGE_SIZE * 3):
        notify(producer, f"note {i}")
    client.get(LIST)
    # per request: session, user, two-factor device check, membership, session save
    # (savepoint, update, release); the page: count, one page of rows, the bell's unread
    # count — 10
    with django_assert_max_num_queries(10) as captured:
        client.get(LIST)
    many = len(captured)

    Notification.objects.filter(recipient=producer).delete()
    notify(producer, "just one")
    with django_assert_max_num_queries(10) as captured:
        client.get(LIST)
    assert len(captured) == many


# --- marking read -------------------------------------------------------------------


def test_mark_read_marks_the_posted_own_notification_only(login, producer):
    first = notify(producer, "first")
    second = notify(producer, "second")

    response = login(producer).post(MARK_READ, {"id": [first.pk]})

    assert response.status_code == 302
    assert response.url == LIST
    assert unread(first, second) == [False, True]


def test_mark_read_ignores_ids_of_other_peoples_notifications(login, producer, teammate, outsider):
    mine = notify(producer, "mine")
    teammates = notify(teammate, "teammate's")
    outsiders = notify(outsider, "outsider's")

    response = login(producer).post(MARK_READ, {"id": [mine.pk, teammates.pk, outsiders.pk, "x", "-1"]})

    assert response.status_code == 302
    assert unread(mine, teammates, outsiders) == [False, True, True]


def test_mark_read_of_only_someone_elses_id_changes_nothing(login, producer, teammate):
    mine = notify(producer, "mine")
    theirs = notify(teammate, "theirs")

    response = login(producer).post(MARK_READ, {"id": [theirs.pk]}, follow=True)

    assert response.status_code == 200
    assert unread(mine, theirs) == [True, True]
    assert not list(response.context["messages"])  # no "marked 1" claim for someone else's row


def test_mark_all_read_marks_every_own_notification_and_no_one_elses(login, producer, teammate):
    own = [notify(producer, f"own {i}") for i in range(3)]
    theirs = notify(teammate, "theirs")

    response = login(producer).post(MARK_READ, follow=True)

    assert unread(*own, theirs) == [False, False, False, True]
    assert "Marked 3 notifications as read." in [str(m) for m in response.context["messages"]]
    assert 'data-testid="unread-count"' not in response.content.decode()


def test_mark_read_keeps_the_original_read_time(login, producer):
    old = notify(producer, "old", minutes_ago=60, read=True)
    read_at = Notification.objects.get(pk=old.pk).read_at

    login(producer).post(MARK_READ, {"id": [old.pk]})

    assert Notification.objects.get(pk=old.pk).read_at == read_at


def test_get_on_mark_read_is_not_allowed(login, producer):
    note = notify(producer, "mine")
    response = login(producer).get(MARK_READ, {"id": note.pk})
    assert response.status_code == 405
    assert unread(note) == [True]


# --- who gets in -------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, producer):
    note = notify(producer, "mine")

    listed = client.get(LIST)
    marked = client.post(MARK_READ, {"id": [note.pk]})

    assert listed.status_code == 302
    assert listed.url == f"{reverse('login')}?next={LIST}"
    assert marked.status_code == 302
    assert marked.url.startswith(reverse("login"))
    assert unread(note) == [True]


def test_user_without_membership_is_refused(login):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client = login(superuser)
    assert client.get(LIST).status_code == 403
    assert client.post(MARK_READ).status_code == 403


def test_mark_read_enforces_csrf(producer):
    note = notify(producer, "mine")
    client = Client(enforce_csrf_checks=True)
    client.force_login(producer)

    refused = client.post(MARK_READ, {"id": [note.pk]})
    assert refused.status_code == 403
    assert unread(note) == [True]

    page = client.get(LIST).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    accepted = client.post(MARK_READ, {"id": [note.pk], "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    assert unread(note) == [False]
