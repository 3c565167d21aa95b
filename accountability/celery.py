"""The Celery app and the one beat schedule (all times UTC).

Organization-local week windows are computed in code (accountability.weeks), never with
crontab in a local time zone: beat runs in UTC and jobs decide per organization what is due.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accountability.settings")

app = Celery("accountability")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Broker URL, transport options (Redis visibility timeout, or the embedded filesystem
# broker), time limits and eager mode come from settings (CELERY_*), i.e. the environment.
app.conf.update(
    broker_connection_retry_on_startup=True,
    result_backend=None,
    task_ignore_result=True,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    timezone="UTC",
    enable_utc=True,
    # At-least-once: acknowledge after the task ran, requeue if the worker dies mid-task.
    # Tasks are idempotent (SPEC §4), so a redelivery is harmless.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_eager_propagates=True,
    # The beat schedule: the single place where periodic jobs are declared. Entries are
    # added by the issues that build each job (close_weeks hourly, flag_overdue daily, …).
    beat_schedule={
        # Every 15 minutes: delete expired sessions, so the session table (scanned when a
        # user is deactivated) stays small.
        "housekeeping": {
            "task": "accountability.tasks.housekeeping",
            "schedule": 15 * 60,
        },
        # Hourly: pick each producer's random verification sample for the week that just
        # ended (per organization-local week; idempotent, so re-runs change nothing).
        "pick-verification-samples": {
            "task": "activities.tasks.pick_verification_samples",
            "schedule": 60 * 60,
        },
        # Hourly: close every due organization-week (end + grace hours passed), oldest
        # first, after recomputing closed weeks changed since (idempotent, per-org lock).
        "close-weeks": {
            "task": "scoring.tasks.close_weeks",
            "schedule": 60 * 60,
        },
        # Every 5 minutes: the open week's provisional scores for the live scoreboard.
        "refresh-provisional-scores": {
            "task": "scoring.tasks.refresh_provisional_scores",
            "schedule": 5 * 60,
        },
    },
)
app.autodiscover_tasks()
