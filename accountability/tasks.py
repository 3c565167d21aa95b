"""Thin tasks: take ids, call one service."""

from celery import shared_task
from django.core.management import call_command


@shared_task(name="accountability.tasks.housekeeping")
def housekeeping() -> None:
    call_command("clearsessions")


@shared_task(name="accountability.tasks.ping")
def ping() -> str:
    """Used by the health check and the worker smoke test."""
    return "pong"
