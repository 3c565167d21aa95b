"""CSV import of activities (SPEC §5): a dry run first, then an all-or-nothing import that
is idempotent by `external_id`.

Columns: producer_email, activity_type, occurred_at, quantity, value, note, evidence_url,
external_id (a header row naming them is required; only the first three are required).
Rows are numbered by the line of the file where they start — the header is line 1, so the
first data row is row 2, the number a spreadsheet shows for it.

50,000 rows must work, so the file is streamed (csv over a TextIOWrapper of the upload) and
checked set-based: the organization's members and activity types are read once, existing
external ids and exact duplicates once per chunk of CHUNK_SIZE rows, and new activities are
written in batches inside one transaction (bulk_create; on PostgreSQL one INSERT … unnest
per batch, see _insert_unnest). Memory is bounded by the chunk plus one small digest per
row for the in-file duplicate checks (and MAX_ROWS caps the file).

Each row goes through `activity_clean`, the rules of a logged activity. Imports are done by
managers (for their teams) and leaders only, so closed weeks are allowed — each affected
(producer, week) is queued for re-computation — and the anti-gaming markers do not apply
(CSV is not in REVIEWED_SOURCES).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accountability.access import members_visible_to, membership_of
from accountability.models import Membership, Organization, Role, User
from accountability.services import audit_log
from accountability.weeks import WeekCalendar, is_week_closed, local_midnight, week_bounds, week_start_for

from ..errors import ActivityError
from ..models import Activity, ActivityType, Source
from .log import ActivityData, activity_clean, producer_membership, recompute_request_many

CSV_COLUMNS = (
    "producer_email",
    "activity_type",
    "occurred_at",
    "quantity",
    "value",
    "note",
    "evidence_url",
    "external_id",
)
REQUIRED_COLUMNS = ("producer_email", "activity_type", "occurred_at")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_LABEL = "20 MB"
MAX_ROWS = 100_000
CHUNK_SIZE = 2000  # rows checked against the database per query
INSERT_BATCH_SIZE = 1000
AUDIT_WEEKS = 1000  # closed producer-weeks listed in the import's audit event
INSERT_FIELDS = [field for field in Activity._meta.concrete_fields if not field.primary_key]
EXTERNAL_ID_MAX_LENGTH = Activity._meta.get_field("external_id").max_length
OCCURRED_AT_HELP = "Write it as ISO 8601, e.g. 2026-03-02T09:30:00-06:00, 2026-03-02 09:30 or 2026-03-02."
NOT_UTF8 = "The file is not UTF-8 text. Save it as “CSV UTF-8” (Excel: File › Save a copy) and upload it again."
NOT_TEXT = (
    "This is not a CSV text file (it looks like a workbook or another binary file). "
    "Save it as “CSV UTF-8” (Excel: File › Save a copy) and upload it again."
)


class ImportFileError(ActivityError):
    """The file as a whole cannot be read (not CSV, wrong encoding, missing columns, …)."""

    def __init__(self, message: str):
        super().__init__(message, field="file")


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # the line of the file where the row starts; the header is line 1
    column: str  # a CSV column, or "" for the row as a whole
    message: str


@dataclass
class ImportResult:
    """What a dry run would do, or what an import did. `created` is what a dry run would
    create; a refused import (any error) created nothing."""

    dry_run: bool
    rows: int = 0
    created: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)
    closed_weeks: int = 0  # (producer, week) pairs in closed weeks, queued for re-computation

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_rows(self) -> int:
        return len({error.row for error in self.errors})

    def summary(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "rows": self.rows,
            "created": self.created,
            "duplicates": self.duplicates,
            "error_rows": self.error_rows,
            "closed_weeks": self.closed_weeks,
        }


# --- parsing shared with the webhook -------------------------------------------------------


def occurred_at_parse(value: str, organization: Organization) -> dt.datetime:
    """ISO 8601 with an offset; a date-time without one, or a bare date (its midnight), is
    read in the organization's time zone."""
    text = (value or "").strip()
    if not text:
        raise ActivityError("Give the date and time the activity happened.", field="occurred_at")
    try:
        # A bare date is 10 characters; date-times are longer.
        moment = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        raise ActivityError(f"“{text[:40]}” is not a date. {OCCURRED_AT_HELP}", field="occurred_at") from None
    if not 1900 <= moment.year <= 9000:  # far outside any week; time zone arithmetic would overflow
        raise ActivityError("The date is out of range.", field="occurred_at")
    if not isinstance(moment, dt.datetime):
        return local_midnight(moment, organization.tzinfo)
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=organization.tzinfo)


def producer_by_email(members: dict[str, Membership], email: str) -> Membership:
    """The producer with this e-mail among `members` (lower-cased e-mail → membership)."""
    email = (email or "").strip()
    if not email:
        raise ActivityError("Give the producer's e-mail address.", field="producer")
    membership = members.get(email.lower())
    if membership is None:  # also a producer of another organization: never revealed
        raise ActivityError(f"No one in your organization has the e-mail {email}.", field="producer")
    producer_membership(membership.user)
    return membership


def activity_type_by_name(types: dict[str, ActivityType], name: str) -> ActivityType:
    """The activity type with this name (case-insensitive) among `types` (lower-cased name → type)."""
    name = (name or "").strip()
    if not name:
        raise ActivityError("Give the activity type.", field="activity_type")
    activity_type = types.get(name.lower())
    if activity_type is None:
        raise ActivityError(f"No activity type named “{name}” in your organization.", field="activity_type")
    return activity_type


def members_by_email(organization: Organization, emails=None) -> dict[str, Membership]:
    """Memberships of the organization by lower-cased e-mail (one query), optionally only
    those e-mails. Each membership's user and organization are attached for activity_clean."""
    queryset = Membership.objects.filter(organization=organization).select_related("user")
    if emails is not None:
        queryset = queryset.filter(user__email__in=emails)
    members = {}
    for membership in queryset:
        membership.organization = organization
        membership.user.membership = membership  # producer_membership reads it
        members[membership.user.email.lower()] = membership
    return members


def activity_types_by_name(organization: Organization) -> dict[str, ActivityType]:
    return {t.name.strip().lower(): t for t in ActivityType.objects.filter(organization=organization)}


def activity_key(activity: Activity) -> tuple:
    """What makes two activities exact duplicates (the model's unique constraint):
    (producer id, activity type id, occurred_at, note)."""
    return (activity.producer_id, activity.activity_type_id, activity.occurred_at, activity.note)


def existing_activity_keys(keys: list[tuple]) -> dict[tuple, int]:
    """Of these activity keys, those already stored: key → id (one query)."""
    if not keys:
        return {}
    rows = (
        Activity.objects.filter(producer_id__in={key[0] for key in keys}, occurred_at__in={key[2] for key in keys})
        .values_list("producer_id", "activity_type_id", "occurred_at", "note", "id")
        .order_by()
    )
    return {tuple(row[:4]): row[4] for row in rows}


def external_ids_existing(organization: Organization, source: str, external_ids) -> dict[str, int]:
    """Of `external_ids`, those already stored for the organization and source: id → pk."""
    if not external_ids:
        return {}
    rows = (
        Activity.objects.filter(organization=organization, source=source, external_id__in=external_ids)
        .exclude(external_id="")  # lets PostgreSQL use the partial unique index
        .values_list("external_id", "id")
        .order_by()
    )
    return dict(rows)


# --- reading the file ---------------------------------------------------------------------


def csv_records(file: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells) for every non-blank record, the header included.
    File-level problems (encoding, not CSV) raise ImportFileError."""
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)  # a broken quote is an error, not a merged row
    line = 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if any("\x00" in cell for cell in cells):
                raise ImportFileError(NOT_TEXT)
            if any(cell.strip() for cell in cells):
                yield start, cells
    except UnicodeDecodeError:
        raise ImportFileError(NOT_UTF8) from None
    except csv.Error as error:
        raise ImportFileError(f"Line {reader.line_num}: this is not a readable CSV file ({error}).") from None
    finally:
        text.detach()  # the caller owns (and closes) the underlying file


def header_check(first: tuple[int, list[str]] | None) -> list[str]:
    """The column names of the header row ("Producer Email" reads as producer_email)."""
    expected = ", ".join(CSV_COLUMNS)
    if first is None:
        raise ImportFileError(f"The file is empty. Its first line must name the columns: {expected}.")
    names = [re.sub(r"[\s-]+", "_", cell.strip().lower()) for cell in first[1]]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise ImportFileError(
            f"Missing column(s): {', '.join(missing)}. The first line must name the columns: {expected}."
        )
    unknown = [name or "(empty)" for name in names if name not in CSV_COLUMNS]
    if unknown:
        raise ImportFileError(f"Unknown column(s): {', '.join(unknown)[:200]}. The columns are: {expected}.")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ImportFileError(f"Column(s) named twice: {', '.join(twice)}.")
    return names


# --- the import ---------------------------------------------------------------------------


class _Rollback(Exception):
    """Leaves the transaction without writing: a dry run, or a file with errors."""


def _digest(*parts) -> bytes:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).digest()


def _column(error: ActivityError) -> str:
    if error.field == "producer":
        return "producer_email"
    return error.field if error.field in CSV_COLUMNS else ""


@dataclass(slots=True)
class _Row:
    """A valid row waiting in a chunk: enough to check it and, when importing, to write it."""

    producer_id: int
    data: ActivityData
    week_start: dt.date
    external_id: str

    @property
    def key(self) -> tuple:
        data = self.data
        return (self.producer_id, data.activity_type.pk, data.occurred_at, data.note)


class _Importer:
    """Validates rows one by one and checks/writes them a chunk at a time."""

    def __init__(self, *, organization: Organization, by: User, now: dt.datetime, dry_run: bool):
        self.organization, self.by, self.now, self.dry_run = organization, by, now, dry_run
        self.calendar = WeekCalendar.of(organization)
        self.members = members_by_email(organization)
        # accountability.access decides whom a manager acts for: the producers of their teams.
        self.actable = set(members_visible_to(by).filter(role=Role.PRODUCER).values_list("pk", flat=True))
        self.types = activity_types_by_name(organization)
        self.result = ImportResult(dry_run=dry_run)
        self.external_ids: dict[str, tuple[int, bytes]] = {}  # id → (row, content digest)
        self.keys: set[bytes] = set()  # digests of the exact-duplicate keys seen in the file
        self.chunk: list[_Row] = []
        self.weeks: dict[dt.date, tuple[dt.datetime, dt.datetime]] = {}  # week start → its bounds
        self.closed: dict[dt.date, bool] = {}
        self.recompute: set[tuple[int, dt.date]] = set()
        self.defaults = {field.attname: field.get_default() for field in INSERT_FIELDS} | {
            "organization_id": organization.pk,
            "source": Source.CSV.value,
            "logged_by_id": by.pk,
            "created_at": now,
            "updated_at": now,
        }

    def add(self, line: int, header: list[str], cells: list[str]) -> None:
        self.result.rows += 1
        if self.result.rows > MAX_ROWS:
            raise ImportFileError(f"The file has more than {MAX_ROWS:,} rows; split it into smaller files.")
        if len(cells) > len(header):
            self._fail(line, "", f"This row has {len(cells)} values but the header names {len(header)} columns.")
            return
        values = dict.fromkeys(CSV_COLUMNS, "")
        values.update((name, cell.strip()) for name, cell in zip(header, cells, strict=False))
        row = self._row(line, values)
        if row is not None and not self._repeated_in_file(line, row):
            self.chunk.append(row)
            if len(self.chunk) >= CHUNK_SIZE:
                self.flush()

    def _fail(self, line: int, column: str, message: str) -> None:
        self.result.errors.append(RowError(line, column, message))

    def _row(self, line: int, values: dict[str, str]) -> _Row | None:
        errors: list[ActivityError] = []
        membership = _collect(errors, self._producer, values["producer_email"])
        activity_type = _collect(errors, activity_type_by_name, self.types, values["activity_type"])
        occurred_at = _collect(errors, occurred_at_parse, values["occurred_at"], self.organization)
        external_id = _collect(errors, _external_id, values["external_id"])
        if not errors:
            data = ActivityData(
                activity_type=activity_type,
                occurred_at=occurred_at,
                quantity=values["quantity"] or 1,
                value=values["value"] or None,
                note=values["note"],
                evidence_url=values["evidence_url"],
            )
            data = _collect(errors, activity_clean, membership=membership, data=data, now=self.now)
        for error in errors:
            self._fail(line, _column(error), error.message)
        if errors:
            return None
        return _Row(membership.user_id, data, self._week_start(data.occurred_at), external_id)

    def _producer(self, email: str) -> Membership:
        membership = producer_by_email(self.members, email)
        if membership.pk not in self.actable:
            raise ActivityError(
                f"{email} is not on your team: you can import only for the teams you manage.", field="producer"
            )
        return membership

    def _week_start(self, moment: dt.datetime) -> dt.date:
        """week_start_for, with each week's bounds remembered: the rows of a file fall in a
        few weeks, and the week arithmetic is costly next to a dictionary lookup."""
        for week, (start, end) in self.weeks.items():
            if start <= moment < end:
                return week
        week = week_start_for(moment, self.calendar)
        self.weeks[week] = week_bounds(week, self.calendar)
        self.closed[week] = is_week_closed(week, self.calendar, self.now)
        return week

    def _repeated_in_file(self, line: int, row: _Row) -> bool:
        """Whether an earlier row of the file already has this activity (a duplicate, or an
        error when the same external_id comes with different data)."""
        data = row.data
        utc = data.occurred_at.astimezone(dt.UTC).isoformat()
        key = _digest(row.producer_id, data.activity_type.pk, utc, data.note)
        if row.external_id:
            content = _digest(key, data.quantity, str(data.value), data.evidence_url)
            first = self.external_ids.setdefault(row.external_id, (line, content))
            if first[1] != content:
                self._fail(
                    line,
                    "external_id",
                    f"The external_id “{row.external_id}” is also used by row {first[0]} with different data.",
                )
                return True
            if first[0] != line:
                self.result.duplicates += 1
                return True
        if key in self.keys:
            self.result.duplicates += 1
            return True
        self.keys.add(key)
        return False

    def flush(self) -> None:
        """Check a chunk against the database (2 queries) and write its new activities."""
        chunk, self.chunk = self.chunk, []
        imported = external_ids_existing(self.organization, Source.CSV, {r.external_id for r in chunk} - {""})
        existing = existing_activity_keys([r.key for r in chunk])
        new = [r for r in chunk if r.external_id not in imported and r.key not in existing]
        self.result.duplicates += len(chunk) - len(new)
        self.result.created += len(new)
        for row in new:
            if self.closed[row.week_start]:
                self.recompute.add((row.producer_id, row.week_start))
        if not self.dry_run and self.result.ok:
            self._write(new)

    def _write(self, rows: list[_Row]) -> None:
        values = [self._values(row) for row in rows]
        if connection.vendor == "postgresql":
            _insert_unnest(values)
        else:
            Activity.objects.bulk_create([Activity(**v) for v in values], batch_size=INSERT_BATCH_SIZE)

    def _values(self, row: _Row) -> dict:
        """Every column of the new activity, by attribute name."""
        data = row.data
        return {
            **self.defaults,
            "producer_id": row.producer_id,
            "activity_type_id": data.activity_type.pk,
            "occurred_at": data.occurred_at,
            "week_start": row.week_start,
            "quantity": data.quantity,
            "value": data.value,
            "note": data.note,
            "evidence_url": data.evidence_url,
            "external_id": row.external_id,
        }

    def finish(self, filename: str) -> None:
        """After a successful import: closed weeks queued for re-computation, one audit event."""
        self.result.closed_weeks = len(self.recompute)
        recompute_request_many(organization=self.organization, pairs=self.recompute, reason="activity.import")
        # Changes to closed weeks are audited (SPEC §2): which producer-weeks, up to a limit.
        closed = [[producer_id, week.isoformat()] for producer_id, week in sorted(self.recompute)[:AUDIT_WEEKS]]
        audit_log(
            organization=self.organization,
            actor=self.by,
            action="activity.import",
            after={"file": filename[:200], **self.result.summary(), "closed_producer_weeks": closed},
        )


def _insert_unnest(rows: list[dict]) -> None:
    """PostgreSQL: INSERT … SELECT FROM unnest(one array per column). The values go to the
    driver as they are; bulk_create would first prepare each value of each row in Python,
    which was most of a 50,000-row import's time. Same columns, same constraints."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in INSERT_FIELDS)
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in INSERT_FIELDS)
    sql = f"INSERT INTO {quote(Activity._meta.db_table)} ({columns}) SELECT * FROM unnest({arrays})"  # noqa: S608 — names from the model
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_BATCH_SIZE):
            batch = rows[start : start + INSERT_BATCH_SIZE]
            cursor.execute(sql, [[row[field.attname] for row in batch] for field in INSERT_FIELDS])


def _collect(errors: list, function, *args, **kwargs):
    """Call a validating function, keeping its ActivityError in `errors` (so that a row
    reports every column that fails, not just the first)."""
    try:
        return function(*args, **kwargs)
    except ActivityError as error:
        errors.append(error)
        return None


def _external_id(value: str) -> str:
    if len(value) > EXTERNAL_ID_MAX_LENGTH:
        raise ActivityError(
            f"The external_id is too long (at most {EXTERNAL_ID_MAX_LENGTH} characters).", field="external_id"
        )
    return value


def _check_importer(by: User, organization: Organization) -> None:
    membership = membership_of(by)
    if membership is None or membership.organization_id != organization.pk or membership.is_producer:
        raise ActivityError("Only managers and leaders can import activities.")


def activities_import(
    *,
    organization: Organization,
    by: User,
    file: BinaryIO,
    dry_run: bool,
    filename: str = "",
    now: dt.datetime | None = None,
) -> ImportResult:
    """Check (dry_run=True) or import a CSV file of activities. The import writes every new
    row or — when any row has an error — nothing; rows already imported (same external_id)
    and exact duplicates of stored activities are skipped and counted as duplicates.
    Raises ImportFileError when the file as a whole cannot be read."""
    now = now or timezone.now()
    _check_importer(by, organization)
    importer = _Importer(organization=organization, by=by, now=now, dry_run=dry_run)
    records = csv_records(file)
    try:
        header = header_check(next(records, None))
        with contextlib.nullcontext() if dry_run else transaction.atomic():  # a dry run writes nothing
            for line, cells in records:
                importer.add(line, header, cells)
            importer.flush()
            if dry_run or not importer.result.ok:
                raise _Rollback
            importer.finish(filename)
    except _Rollback:
        pass
    except IntegrityError:  # a concurrent import of the same rows won the race
        raise ImportFileError(
            "Another import added some of these activities at the same moment. Nothing was imported; "
            "run it again — rows already imported are skipped."
        ) from None
    finally:
        records.close()
    return _final(importer)


def _final(importer: _Importer) -> ImportResult:
    result = importer.result
    if result.rows == 0:
        raise ImportFileError("The file has a header but no rows of activities.")
    if not result.dry_run and not result.ok:
        result.created = 0  # all or nothing
    result.closed_weeks = len(importer.recompute) if result.ok else 0  # what was (or would be) queued
    return result
