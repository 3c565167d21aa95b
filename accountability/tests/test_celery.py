"""The Celery app: its configuration (at-least-once, JSON only, UTC, time limits, a beat
schedule of registered tasks), the settings it derives from the environment, and — with
REDIS_URL — real tasks run by a real worker through Redis."""

import datetime as dt
import json
import logging
import os
import queue
import subprocess
import sys
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import EagerResult
from celery.schedules import crontab
from celery.signals import task_postrun
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connections
from django.utils import timezone

from accountability.celery import app
from accountability.tasks import housekeeping, ping

BASE_DIR = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL", "")
without_redis = pytest.mark.skipif(not REDIS_URL, reason="needs a real Redis broker and worker: set REDIS_URL")


# --- configuration --------------------------------------------------------------------


def test_json_is_the_only_serializer():
    # Pickle from a broker is remote code execution; JSON forces tasks to take ids.
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert list(app.conf.accept_content) == ["json"]


def test_at_least_once_delivery():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_time_limits_come_from_settings():
    assert app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT
    assert app.conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert 0 < app.conf.task_soft_time_limit < app.conf.task_time_limit


def test_beat_runs_in_utc():
    assert app.conf.timezone == "UTC"
    assert app.conf.enable_utc is True


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()  # what a worker does at start: autodiscover every app's tasks
    schedule = app.conf.beat_schedule
    assert "housekeeping" in schedule
    for name, entry in schedule.items():
        assert entry["task"] in app.tasks, f"beat entry {name!r} names unknown task {entry['task']!r}"
        assert isinstance(entry["schedule"], (int, float, dt.timedelta, crontab)), name


def test_thin_tasks_are_registered_under_their_names():
    assert app.tasks["accountability.tasks.ping"] is ping._get_current_object()
    assert app.tasks["accountability.tasks.housekeeping"] is housekeeping._get_current_object()


# --- settings from the environment ----------------------------------------------------

_PRINT_CELERY_CONF = """
import json
from accountability.celery import app
from django.conf import settings
conf = app.conf
print(json.dumps({
    "broker_url": conf.broker_url,
    "transport_options": conf.broker_transport_options,
    "time_limit": conf.task_time_limit,
    "soft_time_limit": conf.task_soft_time_limit,
    "always_eager": conf.task_always_eager,
    "embedded": settings.CELERY_BROKER_EMBEDDED,
    "cache": settings.CACHES["default"]["BACKEND"],
}))
"""


def _production_celery_conf(tmp_path, **env) -> dict:
    """The Celery configuration the production settings module yields under `env`."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "DATABASE_", "REDIS_"))
    }
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "accountability.settings",
            "SECRET_KEY": "x" * 60,
            "DEBUG": "false",
            "VAR_DIR": str(tmp_path),
            "REDIS_URL": "",  # present but empty, so an optional .env cannot supply one
            **env,
        }
    )
    completed = subprocess.run(  # noqa: S603 — our own interpreter and a fixed script
        [sys.executable, "-c", _PRINT_CELERY_CONF],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_redis_visibility_timeout_outlives_the_task_time_limit(tmp_path):
    """With acks_late a message not acknowledged within the visibility timeout is handed
    to another worker: a slow task must be killed by its time limit long before that."""
    conf = _production_celery_conf(tmp_path, REDIS_URL="redis://127.0.0.1:6379/9")
    assert conf["broker_url"] == "redis://127.0.0.1:6379/9"
    assert conf["embedded"] is False
    assert conf["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert conf["transport_options"]["visibility_timeout"] > conf["time_limit"] > conf["soft_time_limit"]
    assert conf["always_eager"] is False


def test_without_redis_the_broker_is_embedded(tmp_path):
    conf = _production_celery_conf(tmp_path)
    assert conf["broker_url"] == "filesystem://"
    assert conf["embedded"] is True
    options = conf["transport_options"]
    # The filesystem transport only works with one folder for both directions.
    assert options["data_folder_in"] == options["data_folder_out"]
    assert Path(options["data_folder_in"]).is_dir()
    assert Path(options["data_folder_in"]).is_relative_to(tmp_path)
    assert Path(options["processed_folder"]).is_dir()
    assert conf["always_eager"] is False


# --- a real worker through Redis -------------------------------------------------------


@pytest.fixture
def worker_queue():
    """A queue of this test process alone: under xdist (or beside another test run on the
    same Redis) another process's worker would otherwise take our tasks."""
    return f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"


@pytest.fixture
def finished_tasks():
    """Tasks the worker thread finished, as (name, id, state, return value)."""
    done = queue.Queue()

    def on_postrun(task=None, task_id=None, state=None, retval=None, **kwargs):
        done.put((task.name, task_id, state, retval))
        # The worker thread's database connection must not outlive the test database.
        connections.close_all()

    task_postrun.connect(on_postrun, weak=False)
    yield done
    task_postrun.disconnect(on_postrun)


@pytest.fixture
def celery_worker(worker_queue, finished_tasks):
    """A real worker (solo pool, in a thread) consuming our queue; tasks are sent, not run
    eagerly, for the duration of the test."""
    conf = app.conf
    saved = {key: conf[key] for key in ("task_always_eager", "task_default_queue", "worker_hijack_root_logger")}
    queues = app.amqp.queues
    saved_consume_from = queues._consume_from
    conf.update(task_always_eager=False, task_default_queue=worker_queue, worker_hijack_root_logger=False)
    root_level = logging.getLogger().level  # the worker's log set-up lowers it to ERROR
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[worker_queue], shutdown_timeout=30):
            yield worker_queue
    finally:
        logging.getLogger().setLevel(root_level)
        conf.update(saved)
        queues._consume_from = saved_consume_from
        with app.connection_for_write() as connection:  # leave no queue or binding behind in Redis
            leftover = app.amqp.queues[worker_queue].bind(connection.default_channel)
            leftover.declare()
            leftover.delete()


def _wait_for(finished_tasks, task_id, timeout=30):
    while True:
        name, finished_id, state, retval = finished_tasks.get(timeout=timeout)
        if finished_id == task_id:
            return name, state, retval


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
@without_redis
def test_worker_runs_ping_through_redis(celery_worker, finished_tasks):
    assert app.conf.broker_url.startswith("redis://")
    result = ping.delay()
    assert not isinstance(result, EagerResult)
    assert _wait_for(finished_tasks, result.id) == ("accountability.tasks.ping", "SUCCESS", "pong")


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
@without_redis
def test_worker_runs_housekeeping_against_the_database(celery_worker, finished_tasks):
    now = timezone.now()
    encoded = SessionStore().encode({})
    Session.objects.create(session_key="e" * 32, session_data=encoded, expire_date=now - dt.timedelta(minutes=1))
    Session.objects.create(session_key="l" * 32, session_data=encoded, expire_date=now + dt.timedelta(hours=1))

    result = housekeeping.delay()
    assert _wait_for(finished_tasks, result.id)[:2] == ("accountability.tasks.housekeeping", "SUCCESS")
    assert list(Session.objects.values_list("session_key", flat=True)) == ["l" * 32]
