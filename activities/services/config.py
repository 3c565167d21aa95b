"""Activity types and expectations (configured by leaders). Every change is audited."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accountability.models import Organization, Team, User
from accountability.services import audit_log, snapshot
from accountability.weeks import align, current_week_start, week_start_for

from ..errors import ConfigurationError
from ..models import Activity, ActivityType, Category, Expectation

MAX_POINTS = 10_000
TYPE_FIELDS = ("name", "category", "points", "requires_evidence", "tracks_value", "value_label", "active")

# A new organization starts with these (SPEC §6), leaders change them freely.
DEFAULT_TYPES = (
    {"name": "Social post", "category": Category.SOCIAL, "points": 2, "requires_evidence": True},
    {"name": "CRM entry", "category": Category.CRM, "points": 1},
    {"name": "Marketing event", "category": Category.MARKETING, "points": 5},
    {"name": "Training attended", "category": Category.TRAINING, "points": 3},
    {
        "name": "New policy sold",
        "category": Category.RESULT,
        "points": 10,
        "tracks_value": True,
        "value_label": "Premium ($)",
    },
)


def activity_type_create(*, organization: Organization, by: User | None, **fields) -> ActivityType:
    # A missing category would otherwise reach the database's check constraint.
    fields = _type_fields({"category": "", **fields})
    activity_type = ActivityType(organization=organization, **fields)
    _save_type(activity_type)
    audit_log(organization=organization, actor=by, action="activity_type.create", obj=activity_type, after=fields)
    return activity_type


def activity_type_update(*, activity_type: ActivityType, by: User, **fields) -> ActivityType:
    fields = _type_fields(fields)
    before = snapshot(activity_type, fields.keys())
    for key, value in fields.items():
        setattr(activity_type, key, value)
    after = snapshot(activity_type, fields.keys())
    changed = {k: v for k, v in after.items() if before[k] != v}
    if not changed:
        return activity_type
    if changed.get("active") is False:
        _check_no_targets(activity_type)
    with transaction.atomic():
        _save_type(activity_type)
        audit_log(
            organization=activity_type.organization,
            actor=by,
            action="activity_type.update",
            obj=activity_type,
            before={k: before[k] for k in changed},
            after=changed,
        )
    return activity_type


def _check_no_targets(activity_type: ActivityType) -> None:
    """A type with a weekly target in force (or scheduled) cannot be switched off: producers
    could no longer log it, so the target could never be met."""
    this_week = current_week_start(activity_type.organization, timezone.now())
    in_force = Expectation.objects.filter(activity_type=activity_type).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gt=this_week)
    )
    if in_force.exists():
        raise ConfigurationError(
            f"“{activity_type}” still has weekly targets. End them under Expectations first.", field="active"
        )


def _type_fields(fields: dict) -> dict:
    unknown = set(fields) - set(TYPE_FIELDS)
    if unknown:
        raise ConfigurationError(f"Unknown activity type fields: {', '.join(sorted(unknown))}.")
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if not fields["name"]:
            raise ConfigurationError("An activity type needs a name.", field="name")
    if "category" in fields and not fields["category"]:
        raise ConfigurationError("Choose a category.", field="category")
    if "category" in fields and fields["category"] not in Category.values:
        raise ConfigurationError(f"Unknown category “{fields['category']}”.", field="category")
    return fields


def _save_type(activity_type: ActivityType) -> None:
    duplicate = ActivityType.objects.filter(
        organization=activity_type.organization, name__iexact=activity_type.name
    ).exclude(pk=activity_type.pk)
    if duplicate.exists():
        raise ConfigurationError(f"An activity type named “{activity_type.name}” already exists.", field="name")
    points = activity_type.points
    if isinstance(points, bool) or not isinstance(points, int):
        raise ConfigurationError("Points must be a whole number.", field="points")
    if points < 0:
        raise ConfigurationError("Points must be 0 or more.", field="points")
    if points > MAX_POINTS:  # the model's limit; the database column would overflow first
        raise ConfigurationError(f"Points must be at most {MAX_POINTS}.", field="points")
    try:
        with transaction.atomic():
            activity_type.save()
    except IntegrityError:  # a concurrent create with the same name
        raise ConfigurationError(
            f"An activity type named “{activity_type.name}” already exists.", field="name"
        ) from None


def default_activity_types_create(*, organization: Organization) -> list[ActivityType]:
    """The default types for a new organization (idempotent: existing names are kept)."""
    # Names are unique case-insensitively: a type a leader renamed "SOCIAL POST" is kept.
    names = ActivityType.objects.filter(organization=organization).values_list("name", flat=True)
    existing = {name.lower() for name in names}
    return [
        activity_type_create(organization=organization, by=None, **fields)
        for fields in DEFAULT_TYPES
        if fields["name"].lower() not in existing
    ]


# --- expectations ------------------------------------------------------------------------


def current_expectation(*, activity_type: ActivityType, team: Team | None, week_start: dt.date) -> Expectation | None:
    """The expectation for (type, team) in force in the given week, if any."""
    return (
        Expectation.objects.filter(activity_type=activity_type, team=team, effective_from__lte=week_start)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=week_start))
        .first()
    )


def expectation_set(
    *,
    organization: Organization,
    by: User,
    activity_type: ActivityType,
    target: int,
    team: Team | None = None,
    effective_from: dt.date | None = None,
) -> Expectation:
    """Set the weekly target for a type (whole organization, or one team) from a week on.

    The period in force is ended at `effective_from` and a new one opens, so weeks before
    keep the target they had. Later periods already scheduled are replaced. Only the open
    week or later can change: closed weeks are history.
    """
    this_week = current_week_start(organization, timezone.now())
    effective_from = effective_from or this_week
    _check_expectation_input(organization, activity_type, team, target, effective_from, this_week)
    with transaction.atomic():
        # order_by("pk"): the default ordering joins the nullable team, which PostgreSQL
        # refuses to lock ("FOR UPDATE … nullable side of an outer join").
        scope = Expectation.objects.select_for_update().filter(activity_type=activity_type, team=team).order_by("pk")
        before = [_period(e) for e in scope.filter(Q(effective_to__isnull=True) | Q(effective_to__gt=effective_from))]
        scope.filter(effective_from__gte=effective_from).delete()
        scope.filter(effective_from__lt=effective_from).filter(
            Q(effective_to__isnull=True) | Q(effective_to__gt=effective_from)
        ).update(effective_to=effective_from)
        expectation = Expectation.objects.create(
            organization=organization,
            activity_type=activity_type,
            team=team,
            target=target,
            effective_from=effective_from,
            created_by=by,
        )
        audit_log(
            organization=organization,
            actor=by,
            action="expectation.set",
            obj=expectation,
            before={"periods": before},
            after=_period(expectation),
        )
    return expectation


def expectation_end(*, expectation: Expectation, by: User, effective_to: dt.date | None = None) -> Expectation:
    """Stop an expectation from a week on (default: the open week — it no longer applies)."""
    organization = expectation.organization
    this_week = current_week_start(organization, timezone.now())
    effective_to = effective_to or this_week
    if effective_to.weekday() != organization.week_start:
        raise ConfigurationError("The end must be a week start.", field="effective_to")
    if effective_to < this_week:
        raise ConfigurationError("Closed weeks cannot change; end it from this week on.", field="effective_to")
    if expectation.effective_to is not None and effective_to >= expectation.effective_to:
        # Moving an end later would re-open weeks that a newer target may already cover.
        ended = expectation.effective_to
        raise ConfigurationError(f"It already ends from the week of {ended:%b} {ended.day}.", field="effective_to")
    if effective_to <= expectation.effective_from:
        with transaction.atomic():
            audit_log(
                organization=organization,
                actor=by,
                action="expectation.delete",
                obj=expectation,
                before=_period(expectation),
            )
            expectation.delete()
        return expectation
    before = _period(expectation)
    with transaction.atomic():
        expectation.effective_to = effective_to
        expectation.save(update_fields=["effective_to"])
        audit_log(
            organization=organization,
            actor=by,
            action="expectation.end",
            obj=expectation,
            before=before,
            after=_period(expectation),
        )
    return expectation


def _check_expectation_input(organization, activity_type, team, target, effective_from, this_week) -> None:
    if activity_type.organization_id != organization.pk:
        raise ConfigurationError("That activity type is not in this organization.", field="activity_type")
    if not activity_type.active:
        raise ConfigurationError(f"“{activity_type}” is inactive; activate it first.", field="activity_type")
    if team is not None and team.organization_id != organization.pk:
        raise ConfigurationError("That team is not in this organization.", field="team")
    if not isinstance(target, int) or isinstance(target, bool) or not 1 <= target <= 10_000:
        raise ConfigurationError("The weekly target must be a whole number from 1 to 10000.", field="target")
    if effective_from.weekday() != organization.week_start:
        raise ConfigurationError("A target starts at the beginning of a week.", field="effective_from")
    if effective_from < this_week:
        raise ConfigurationError(
            "Past weeks keep the target they had; a change can start this week at the earliest.",
            field="effective_from",
        )


def _period(expectation: Expectation) -> dict:
    return {
        "id": expectation.pk,
        "activity_type": expectation.activity_type_id,
        "team": expectation.team_id,
        "target": expectation.target,
        "effective_from": expectation.effective_from.isoformat(),
        "effective_to": expectation.effective_to.isoformat() if expectation.effective_to else None,
    }


# --- week structure -----------------------------------------------------------------------

REALIGN_BATCH = 5_000


def week_structure_realign(*, organization: Organization) -> int:
    """After the organization's time zone or week start changed: recompute every stored
    activity week and move every expectation date onto the new week-start weekday.

    Expectation dates all shift by the same number of days (they were all on the old
    weekday), so periods keep their order and length. Returns the activities changed.
    """
    expectations = list(Expectation.objects.filter(organization=organization))
    for expectation in expectations:
        shift = align(expectation.effective_from, organization.week_start) - expectation.effective_from
        expectation.effective_from += shift
        if expectation.effective_to is not None:
            expectation.effective_to += shift
    Expectation.objects.bulk_update(expectations, ["effective_from", "effective_to"], batch_size=500)
    return _activities_realign(organization)


def _activities_realign(organization: Organization) -> int:
    changed, rows = 0, Activity.objects.filter(organization=organization).only("id", "occurred_at", "week_start")
    batch = []
    for activity in rows.order_by("id").iterator(chunk_size=REALIGN_BATCH):
        week = week_start_for(activity.occurred_at, organization)
        if week != activity.week_start:
            activity.week_start = week
            batch.append(activity)
        if len(batch) >= REALIGN_BATCH:
            changed += Activity.objects.bulk_update(batch, ["week_start"])
            batch = []
    if batch:
        changed += Activity.objects.bulk_update(batch, ["week_start"])
    return changed
