"""The weekly random sample of each producer's activities for manager verification."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from django.db import transaction

from accountability.models import Organization

from ..models import Activity, ReviewReason, Status


def verification_sample_pick(
    *, organization: Organization, week_start: dt.date, rng: random.Random | None = None
) -> int:
    """Mark `organization.verification_sample_size` random activities of each producer in
    the week as needing review. Idempotent: a producer already sampled that week is skipped.
    Two queries and one update, whatever the number of producers."""
    size = organization.verification_sample_size
    if size == 0:
        return 0
    rng = rng or random.SystemRandom()
    week = Activity.objects.filter(organization=organization, week_start=week_start)
    sampled = set(week.filter(review_reason=ReviewReason.SAMPLE).values_list("producer_id", flat=True))
    candidates = defaultdict(list)
    rows = week.filter(needs_review=False, status=Status.LOGGED).exclude(producer_id__in=sampled)
    for producer_id, activity_id in rows.values_list("producer_id", "id").order_by("id"):
        candidates[producer_id].append(activity_id)
    chosen = [pk for ids in candidates.values() for pk in rng.sample(ids, min(size, len(ids)))]
    with transaction.atomic():
        return Activity.objects.filter(pk__in=chosen).update(needs_review=True, review_reason=ReviewReason.SAMPLE)
