"""Thin tasks for activities."""

from celery import shared_task
from django.utils import timezone

from accountability.models import Organization
from accountability.weeks import ONE_WEEK, current_week_start

from .services.review import verification_sample_pick


@shared_task(name="activities.tasks.pick_verification_samples")
def pick_verification_samples() -> int:
    """For every organization, sample the week that just ended (idempotent per producer)."""
    now, picked = timezone.now(), 0
    for organization in Organization.objects.all():
        last_week = current_week_start(organization, now) - ONE_WEEK
        picked += verification_sample_pick(organization=organization, week_start=last_week)
    return picked
