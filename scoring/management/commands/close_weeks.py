"""`python manage.py close_weeks [--org SLUG] [--until DATE]`: the close job, synchronously."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accountability.models import Organization
from scoring.services.close import close_due_weeks
from scoring.services.recompute import recompute_pending


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--until must be a date like 2026-03-02, not {value!r}.") from error


class Command(BaseCommand):
    help = "Recompute changed closed weeks, then close every due week (oldest first) of each organization."

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", help="Only this organization (its slug).")
        parser.add_argument("--until", metavar="DATE", help="Close no week starting after this date (YYYY-MM-DD).")

    def handle(self, *args, org=None, until=None, **options):
        until_date = _date(until) if until else None
        organizations = Organization.objects.order_by("slug")
        if org:
            organizations = organizations.filter(slug=org)
            if not organizations.exists():
                raise CommandError(f"No organization with the slug {org!r}.")
        now = timezone.now()
        for organization in organizations:
            recomputed = recompute_pending(organization=organization)
            closed = close_due_weeks(organization=organization, now=now, until=until_date)
            self.stdout.write(
                f"{organization.slug}: closed {len(closed)} week(s)"
                + (f" ({closed[0]} – {closed[-1]})" if closed else "")
                + (f", recomputed {len(recomputed)}" if recomputed else "")
            )
