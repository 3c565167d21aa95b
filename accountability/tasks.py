"""Thin tasks: take ids, call one service."""

from celery import shared_task
from django.core.management import call_command

from . import services


@shared_task(name="accountability.tasks.housekeeping")
def housekeeping() -> None:
    call_command("clearsessions")


@shared_task(name="accountability.tasks.ping")
def ping() -> str:
    """Used by the health check and the worker smoke test."""
    return "pong"


@shared_task(
    name="accountability.tasks.notification_email",
    autoretry_for=(OSError,),  # SMTP down: retry with backoff, the in-app copy is already there
    retry_backoff=60,
    max_retries=5,
)
def notification_email(notification_id: int) -> bool:
    return services.notification_email_send(notification_id=notification_id)
