"""Thin Celery tasks for scoring: they take ids and call the services (SPEC §4)."""

from celery import shared_task
from django.utils import timezone

from accountability.models import Organization

from .services.close import close_due_weeks
from .services.provisional import refresh_provisional_scores as provisional_refresh
from .services.recompute import recompute_pending


@shared_task(name="scoring.tasks.close_weeks")
def close_weeks() -> None:
    """Hourly: one task per organization, so one organization's failure never blocks another."""
    for organization_id in Organization.objects.values_list("id", flat=True):
        close_organization_weeks.delay(organization_id)


@shared_task(name="scoring.tasks.close_organization_weeks")
def close_organization_weeks(organization_id: int) -> list[str]:
    """Recompute changed closed weeks, then close every due week, oldest first."""
    organization = Organization.objects.get(pk=organization_id)
    recompute_pending(organization=organization)
    closed = close_due_weeks(organization=organization, now=timezone.now())
    return [week.isoformat() for week in closed]


@shared_task(name="scoring.tasks.refresh_provisional_scores")
def refresh_provisional_scores(organization_id: int | None = None) -> int:
    """Every few minutes: the open week's provisional scores, for one or every organization."""
    organizations = Organization.objects.all()
    if organization_id is not None:
        organizations = organizations.filter(pk=organization_id)
    now = timezone.now()
    return sum(provisional_refresh(organization=organization, now=now) for organization in organizations)
