"""The close jobs (SPEC §4): due weeks oldest first, idempotency, faults, concurrency,
recomputation, provisional scores, the Celery tasks and the management command."""

import datetime as dt
import io
import threading

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from activities.models import WeekRecompute
from activities.services.log import recompute_request
from activities.tests.factories import ActivityTypeFactory, ExpectationFactory
from scoring import tasks
from scoring.locks import organization_lock
from scoring.models import BadgeAward, Flag, WeekClose, WeeklyScore
from scoring.selectors import last_closed_week, latest_scores, week_scores
from scoring.services import close as close_module
from scoring.services.close import close_due_weeks, week_close
from scoring.services.provisional import refresh_provisional_scores
from scoring.services.recompute import recompute_pending
from scoring.tests.factories import activity_at, org_make, producer_make

W1, W2, W3, W4 = (dt.date(2026, 2, 2) + dt.timedelta(days=7 * i) for i in range(4))
# W3 ends Monday 2026-02-23 00:00 CST (06:00 UTC); with 48 grace hours it is due from
# Wednesday 2026-02-25 06:00 UTC. W4 is the open week then.
NOW = dt.datetime(2026, 2, 25, 7, 0, tzinfo=dt.UTC)


def _world():
    org = org_make(slug="close-jobs")
    call = ActivityTypeFactory(organization=org, name="Call", points=1)
    ExpectationFactory(activity_type=call, target=1, effective_from=dt.date(2025, 1, 6))
    steady = producer_make(org, active_from=W1, name="Steady")
    patchy = producer_make(org, active_from=W1, name="Patchy")
    for week in (W1, W2, W3, W4):
        activity_at(steady, call, week + dt.timedelta(days=1))
    for week in (W1, W3):
        activity_at(patchy, call, week + dt.timedelta(days=2), quantity=2)
    return {"org": org, "call": call, "steady": steady, "patchy": patchy}


@pytest.fixture
def world(db):
    return _world()


def streaks(user):
    return list(
        WeeklyScore.objects.filter(producer=user, is_final=True).order_by("week_start").values_list("streak", flat=True)
    )


def dump():
    """Every row the close writes, minus the timestamps of the run."""
    return {
        "scores": list(WeeklyScore.objects.order_by("producer_id", "week_start").values().values()),
        "flags": [
            {k: v for k, v in row.items() if k != "updated_at"}
            for row in Flag.objects.order_by("producer_id", "week_start", "expectation_id").values()
        ],
        "badges": list(BadgeAward.objects.order_by("producer_id", "week_start", "badge_id").values()),
        "closes": list(WeekClose.objects.order_by("week_start").values()),
    }


def _without_computed_at(snapshot):
    snapshot["scores"] = [{k: v for k, v in row.items() if k != "computed_at"} for row in snapshot["scores"]]
    return snapshot


class TestCloseDueWeeks:
    def test_a_worker_down_for_three_weeks_catches_up_in_order(self, world, django_assert_max_num_queries):
        assert close_due_weeks(organization=world["org"], now=NOW) == [W1, W2, W3]
        assert streaks(world["steady"]) == [1, 2, 3]
        assert streaks(world["patchy"]) == [1, 0, 1]
        assert list(Flag.objects.values_list("producer", "week_start", "status")) == [(world["patchy"].pk, W2, "open")]
        assert not WeeklyScore.objects.filter(week_start=W4).exists()
        with django_assert_max_num_queries(3):  # first membership, last closed weeks, nothing else
            assert close_due_weeks(organization=world["org"], now=NOW) == []

    def test_nothing_is_due_within_the_grace_period(self, world):
        assert close_due_weeks(organization=world["org"], now=NOW - dt.timedelta(hours=2)) == [W1, W2]

    def test_until_stops_early(self, world):
        assert close_due_weeks(organization=world["org"], now=NOW, until=W2 + dt.timedelta(days=3)) == [W1, W2]
        assert close_due_weeks(organization=world["org"], now=NOW) == [W3]
        assert streaks(world["steady"]) == [1, 2, 3]

    def test_an_organization_without_producers_has_nothing_to_close(self, db):
        assert close_due_weeks(organization=org_make(), now=NOW) == []
        assert not WeekClose.objects.exists()

    def test_closing_twice_gives_identical_rows(self, world):
        close_due_weeks(organization=world["org"], now=NOW)
        first = _without_computed_at(dump())
        for week in (W1, W2, W3):
            week_close(organization=world["org"], week_start=week)
        assert _without_computed_at(dump()) == first
        assert close_due_weeks(organization=world["org"], now=NOW) == []
        assert _without_computed_at(dump()) == first
        assert len(first["scores"]) == 6 and len(first["closes"]) == 3

    def test_an_exception_mid_close_leaves_the_week_untouched(self, world, monkeypatch):
        real = close_module._badges_write

        def failing(*, week, lines, now):
            if week.week_start == W2:
                raise RuntimeError("injected")
            return real(week=week, lines=lines, now=now)

        monkeypatch.setattr(close_module, "_badges_write", failing)
        with pytest.raises(RuntimeError, match="injected"):
            close_due_weeks(organization=world["org"], now=NOW)
        # W1 committed; W2 (scores and flags already written when badges failed) rolled back.
        assert set(WeekClose.objects.values_list("week_start", flat=True)) == {W1}
        assert set(WeeklyScore.objects.values_list("week_start", flat=True)) == {W1}
        assert not Flag.objects.exists()
        monkeypatch.setattr(close_module, "_badges_write", real)
        assert close_due_weeks(organization=world["org"], now=NOW) == [W2, W3]
        assert streaks(world["steady"]) == [1, 2, 3]
        assert Flag.objects.get().week_start == W2


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_closes_write_each_week_once():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serializes writers and has no advisory locks")
    world = _world()
    start, results, errors = threading.Barrier(2), [], []

    def run():
        from django.db import connection as thread_connection

        try:
            start.wait()
            results.append(close_due_weeks(organization=world["org"], now=NOW))
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(week for weeks in results for week in weeks) == [W1, W2, W3]  # each closed once
    assert WeekClose.objects.count() == 3
    assert WeeklyScore.objects.count() == 6
    assert Flag.objects.count() == 1
    assert streaks(world["steady"]) == [1, 2, 3]
    concurrent = _without_computed_at(dump())
    for week in (W1, W2, W3):
        week_close(organization=world["org"], week_start=week)
    assert _without_computed_at(dump()) == concurrent


@pytest.mark.django_db(transaction=True)
def test_the_lock_needs_a_transaction():
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        organization_lock(organization_id=1)
    with transaction.atomic():
        organization_lock(organization_id=1)
        organization_lock(organization_id=1)  # re-entrant within one transaction


class TestRecompute:
    def test_an_activity_added_to_a_closed_week_updates_it_and_later_streaks(self, world):
        close_due_weeks(organization=world["org"], now=NOW)
        assert streaks(world["patchy"]) == [1, 0, 1]
        late = activity_at(world["patchy"], world["call"], W2 + dt.timedelta(days=4))
        recompute_request(activity=late, week_start=W2, reason="activity.created_by_manager")
        assert recompute_pending(organization=world["org"]) == [W2, W3]
        assert streaks(world["patchy"]) == [1, 2, 3]
        assert streaks(world["steady"]) == [1, 2, 3]
        assert Flag.objects.get().status == "resolved"
        score = WeeklyScore.objects.get(producer=world["patchy"], week_start=W2)
        assert (score.points, score.met_all, score.is_final) == (1, True, True)
        assert not WeekRecompute.objects.exists()
        assert recompute_pending(organization=world["org"]) == []

    def test_a_failed_recompute_changes_nothing_and_keeps_the_rows(self, world, monkeypatch):
        close_due_weeks(organization=world["org"], now=NOW)
        before = _without_computed_at(dump())
        late = activity_at(world["patchy"], world["call"], W2 + dt.timedelta(days=4))
        recompute_request(activity=late, week_start=W2, reason="activity.created_by_manager")
        real = close_module._badges_write

        def failing(*, week, lines, now):
            if week.week_start == W3:
                raise RuntimeError("injected")
            return real(week=week, lines=lines, now=now)

        monkeypatch.setattr(close_module, "_badges_write", failing)
        with pytest.raises(RuntimeError):
            recompute_pending(organization=world["org"])
        assert _without_computed_at(dump()) == before  # W2 (already recomputed) rolled back too
        assert WeekRecompute.objects.count() == 1
        monkeypatch.setattr(close_module, "_badges_write", real)
        assert recompute_pending(organization=world["org"]) == [W2, W3]
        assert streaks(world["patchy"]) == [1, 2, 3]

    def test_a_pending_row_for_an_open_week_is_dropped(self, world):
        close_due_weeks(organization=world["org"], now=NOW)
        late = activity_at(world["patchy"], world["call"], W4)
        recompute_request(activity=late, week_start=W4, reason="test")
        assert recompute_pending(organization=world["org"]) == []
        assert not WeekRecompute.objects.exists()


def test_provisional_scores_of_the_open_week(world):
    close_due_weeks(organization=world["org"], now=NOW)
    assert refresh_provisional_scores(organization=world["org"], now=NOW) == 2
    rows = WeeklyScore.objects.filter(week_start=W4).order_by("producer_id")
    assert [(r.producer_id, r.is_final, r.met_all, r.streak) for r in rows] == [
        (world["steady"].pk, False, True, 4),
        (world["patchy"].pk, False, False, 0),
    ]
    assert not Flag.objects.filter(week_start=W4).exists()
    assert not WeekClose.objects.filter(week_start=W4).exists()


@pytest.mark.django_db(transaction=True)
def test_the_celery_tasks():
    """Through Celery (settings_test runs tasks eagerly): the hourly task fans out per organization."""
    world = _world()
    with time_machine.travel(NOW, tick=False):
        tasks.close_weeks.delay()
        assert tasks.refresh_provisional_scores.delay(world["org"].pk).get() == 2
    assert list(WeekClose.objects.order_by("week_start").values_list("week_start", flat=True)) == [W1, W2, W3]
    assert streaks(world["steady"]) == [1, 2, 3]
    assert WeeklyScore.objects.filter(week_start=W4, is_final=False).count() == 2


class TestCommand:
    def test_closes_up_to_a_date(self, world):
        out = io.StringIO()
        with time_machine.travel(NOW, tick=False):
            call_command("close_weeks", "--org", "close-jobs", "--until", W2.isoformat(), stdout=out)
        assert "close-jobs: closed 2 week(s) (2026-02-02 – 2026-02-09)" in out.getvalue()
        assert WeekClose.objects.count() == 2
        with time_machine.travel(NOW, tick=False):
            call_command("close_weeks", stdout=out)
        assert WeekClose.objects.count() == 3

    @pytest.mark.parametrize(
        "args, message",
        [
            (["--org", "nope"], "No organization with the slug 'nope'"),
            (["--until", "2026-02-31"], "--until must be a date"),
        ],
    )
    def test_bad_arguments(self, world, args, message):
        with pytest.raises(CommandError, match=message):
            call_command("close_weeks", *args, stdout=io.StringIO())
        assert not WeekClose.objects.exists() and not WeeklyScore.objects.exists()


def test_score_selectors(world, django_assert_num_queries):
    assert last_closed_week(organization=world["org"]) is None
    close_due_weeks(organization=world["org"], now=NOW)
    assert last_closed_week(organization=world["org"]) == W3
    with django_assert_num_queries(1):  # scores with producer and team joined
        rows = [(s.producer.name, s.rank_org, s.points) for s in week_scores(organization=world["org"], week_start=W3)]
    assert rows == [("Patchy", 1, 2), ("Steady", 2, 1)]
    refresh_provisional_scores(organization=world["org"], now=NOW)
    latest = {s.producer_id: (s.week_start, s.is_final) for s in latest_scores(organization=world["org"])}
    assert latest == {world["steady"].pk: (W4, False), world["patchy"].pk: (W4, False)}
