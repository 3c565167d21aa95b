"""CSV import (SPEC §5): the service rule by rule, the API and the page.

Time is frozen at NOW = Thursday 2026-03-19 03:00 UTC (Wednesday 22:00 in the cast's
America/Chicago). The open week is Mon 2026-03-16; the week of Mon 2026-03-09 closed on
Wed 2026-03-18 00:00 CDT (48 grace hours after it ended).
"""

import csv
import datetime as dt
import io
import math
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from knox.models import AuthToken

from accountability.access import membership_of
from accountability.models import AuditEvent
from activities.errors import ActivityError
from activities.models import Activity, Category, Source, WeekRecompute
from activities.services import imports, staged_imports
from activities.services.imports import CSV_COLUMNS, ImportFileError, activities_import

from .factories import ActivityFactory, ActivityTypeFactory

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
NOW = dt.datetime(2026, 3, 19, 3, 0, tzinfo=dt.UTC)
THIS_WEEK = dt.date(2026, 3, 16)
LAST_WEEK = dt.date(2026, 3, 9)  # closed at NOW
RECENT = "2026-03-18T09:30:00-05:00"  # Wednesday morning in Chicago, this week


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def crm(org):
    return ActivityTypeFactory(organization=org, name="CRM entry", category=Category.CRM)


@pytest.fixture
def social(org):
    return ActivityTypeFactory(organization=org, name="Social post", requires_evidence=True)


@pytest.fixture
def policy(org):
    return ActivityTypeFactory(
        organization=org, name="New policy sold", category=Category.RESULT, tracks_value=True, value_label="Premium"
    )


@pytest.fixture
def types(crm, social, policy):
    return {"crm": crm, "social": social, "policy": policy}


def make_row(producer, **overrides) -> dict:
    row = {
        "producer_email": producer.email,
        "activity_type": "CRM entry",
        "occurred_at": RECENT,
        "quantity": "1",
        "value": "",
        "note": "",
        "evidence_url": "",
        "external_id": "",
    }
    row.update(overrides)
    return row


def csv_bytes(rows, columns=CSV_COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def numbered(producer, count: int, start: int = 0, **overrides) -> list[dict]:
    """`count` distinct valid rows (each its own external_id and time, 30 s apart this week)."""
    base = dt.datetime(2026, 3, 16, 8, 0, tzinfo=CHICAGO)
    return [
        make_row(
            producer,
            occurred_at=(base + dt.timedelta(seconds=30 * n)).isoformat(),
            external_id=f"crm-{n}",
            **overrides,
        )
        for n in range(start, start + count)
    ]


def run(org, by, rows, *, dry_run=False, raw: bytes | None = None):
    data = raw if raw is not None else csv_bytes(rows)
    return activities_import(organization=org, by=by, file=io.BytesIO(data), dry_run=dry_run, filename="t.csv")


def errors_of(result) -> list[tuple]:
    return [(e.row, e.column, e.message) for e in result.errors]


# --- dry run and import -------------------------------------------------------------------


def test_dry_run_reports_counts_and_writes_nothing(org, leader, producer, crm):
    ActivityFactory(producer=producer, activity_type=crm, source=Source.CSV, external_id="crm-0")
    before = (Activity.objects.count(), AuditEvent.objects.count())
    rows = numbered(producer, 3) + [make_row(producer, activity_type="Nope")]

    result = run(org, leader, rows, dry_run=True)

    assert (result.dry_run, result.rows, result.created, result.duplicates) == (True, 4, 2, 1)
    assert errors_of(result) == [(5, "activity_type", "No activity type named “Nope” in your organization.")]
    assert (Activity.objects.count(), AuditEvent.objects.count()) == before


def test_import_creates_csv_activities_logged_by_the_importer(org, leader, producer, crm):
    late = "2026-03-10T10:00:00-05:00"  # 9 days back: would be "late" if typed in, not for an import
    rows = [
        make_row(producer, external_id="a", quantity="3", note="  Renewal call "),
        make_row(producer, occurred_at=late, activity_type="crm ENTRY"),
    ]

    result = run(org, leader, rows)

    assert result.ok and (result.created, result.duplicates) == (2, 0)
    first, second = Activity.objects.order_by("occurred_at").reverse()
    assert (first.source, first.external_id, first.quantity, first.note) == (Source.CSV, "a", 3, "Renewal call")
    assert first.logged_by == leader and first.organization == org and first.week_start == THIS_WEEK
    assert first.activity_type == crm and second.activity_type == crm  # name matched in any case
    assert not second.needs_review and second.week_start == LAST_WEEK
    assert (first.status, first.created_at, first.integration_key) == ("logged", NOW, None)
    event = AuditEvent.objects.get(action="activity.import")
    assert event.actor == leader and event.after["created"] == 2 and event.after["file"] == "t.csv"


def test_one_bad_row_and_nothing_is_imported(org, leader, producer, crm):
    rows = numbered(producer, 5)
    rows[3]["quantity"] = "0"

    result = run(org, leader, rows)

    assert errors_of(result) == [(5, "quantity", "Quantity must be between 1 and 1000.")]
    assert result.created == 0 and Activity.objects.count() == 0
    assert not AuditEvent.objects.filter(action="activity.import").exists()


def test_bad_row_after_a_written_chunk_rolls_everything_back(org, leader, producer, crm, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_SIZE", 2)  # the first chunks are written before the bad row is read
    rows = numbered(producer, 6)
    rows[5]["activity_type"] = "Unknown"

    result = run(org, leader, rows)

    assert result.error_rows == 1 and Activity.objects.count() == 0


def test_importing_the_same_file_twice_creates_nothing_the_second_time(org, leader, producer, crm):
    data = csv_bytes(numbered(producer, 4))
    first = run(org, leader, None, raw=data)
    second = run(org, leader, None, raw=data)

    assert (first.created, first.duplicates) == (4, 0)
    assert (second.created, second.duplicates, second.errors) == (0, 4, [])
    assert Activity.objects.count() == 4


def test_exact_duplicates_without_external_id_are_skipped_not_errors(org, leader, producer, crm):
    when = dt.datetime(2026, 3, 17, 9, 0, tzinfo=CHICAGO)
    ActivityFactory(producer=producer, activity_type=crm, occurred_at=when, note="Call", source=Source.WEB)
    rows = [
        make_row(producer, occurred_at=when.isoformat(), note="Call"),  # like the stored one
        make_row(producer, note="Same twice"),
        make_row(producer, note="Same twice"),  # like the row above
        make_row(producer, note="New"),
    ]

    result = run(org, leader, rows)

    assert result.ok and (result.created, result.duplicates) == (2, 2)
    assert Activity.objects.filter(source=Source.CSV).count() == 2


def test_external_id_repeated_in_the_file(org, leader, producer, crm):
    same = make_row(producer, external_id="x-1", note="A")
    result = run(org, leader, [same, dict(same)], dry_run=True)
    assert result.ok and (result.created, result.duplicates) == (1, 1)

    changed = dict(same, quantity="2")
    result = run(org, leader, [same, changed], dry_run=True)
    assert errors_of(result) == [(3, "external_id", "The external_id “x-1” is also used by row 2 with different data.")]


def test_rows_add_up_in_a_dry_run(org, leader, producer, crm):
    rows = numbered(producer, 6)
    rows[1] = dict(rows[0])  # duplicate
    rows[2]["quantity"] = "abc"  # error
    result = run(org, leader, rows, dry_run=True)
    assert result.rows == result.created + result.duplicates + result.error_rows == 6


# --- row errors: row number, column, message ------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "column", "message"),
    [
        ({"producer_email": "nobody@test.example"}, "producer_email", "No one in your organization has the e-mail"),
        ({"producer_email": ""}, "producer_email", "Give the producer's e-mail address."),
        ({"producer_email": "manager@test.example"}, "producer_email", "can only be logged for producers"),
        ({"activity_type": "Cold calls"}, "activity_type", "No activity type named “Cold calls”"),
        ({"activity_type": ""}, "activity_type", "Give the activity type."),
        ({"occurred_at": "last Tuesday"}, "occurred_at", "“last Tuesday” is not a date."),
        ({"occurred_at": "2026-02-30"}, "occurred_at", "is not a date"),
        ({"occurred_at": ""}, "occurred_at", "Give the date and time the activity happened."),
        ({"occurred_at": "0001-01-01"}, "occurred_at", "The date is out of range."),
        ({"occurred_at": "0001-01-01T00:00:00+05:00"}, "occurred_at", "The date is out of range."),
        ({"occurred_at": "9999-12-31T23:59:59-05:00"}, "occurred_at", "The date is out of range."),
        ({"occurred_at": "2026-03-20T12:00:00-05:00"}, "occurred_at", "An activity cannot be in the future."),
        ({"occurred_at": "2020-01-06"}, "occurred_at", "was not an active producer on Jan 6, 2020"),
        ({"quantity": "0"}, "quantity", "Quantity must be between 1 and 1000."),
        ({"quantity": "1001"}, "quantity", "Quantity must be between 1 and 1000."),
        ({"quantity": "abc"}, "quantity", "Quantity must be a whole number."),
        ({"value": "100"}, "value", "“CRM entry” does not record a value."),
        ({"activity_type": "New policy sold"}, "value", "“New policy sold” needs Premium."),
        ({"activity_type": "New policy sold", "value": "-5"}, "value", "The value must be a number from 0"),
        ({"activity_type": "Social post"}, "evidence_url", "“Social post” needs a link as evidence."),
        ({"evidence_url": "ftp://x.example/a"}, "evidence_url", "must be a web link"),
        ({"note": "n" * 501}, "note", "The note is too long"),
        ({"external_id": "e" * 201}, "external_id", "The external_id is too long (at most 200 characters)."),
    ],
)
def test_each_rule_gives_a_row_error_with_its_column(org, leader, manager, producer, types, overrides, column, message):
    rows = [make_row(producer, note="fine"), make_row(producer, **overrides)]

    result = run(org, leader, rows, dry_run=True)

    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.row, error.column) == (3, column)
    assert message in error.message
    assert result.created == 1


def test_a_producer_of_another_organization_is_unknown(org, leader, producer, outsider, crm):
    result = run(org, leader, [make_row(outsider)])
    assert errors_of(result) == [
        (2, "producer_email", "No one in your organization has the e-mail outsider@test.example.")
    ]
    assert not Activity.objects.exists()


def test_an_inactive_type_is_refused(org, leader, producer, crm):
    crm.active = False
    crm.save()
    result = run(org, leader, [make_row(producer)], dry_run=True)
    assert errors_of(result) == [(2, "activity_type", "“CRM entry” is no longer in use.")]


def test_a_row_reports_every_column_that_fails(org, leader, crm):
    row = {"producer_email": "who@x.example", "activity_type": "Nope", "occurred_at": "soon", "external_id": "e" * 300}
    result = run(org, leader, [row], dry_run=True)
    assert [(e.row, e.column) for e in result.errors] == [
        (2, "producer_email"),
        (2, "activity_type"),
        (2, "occurred_at"),
        (2, "external_id"),
    ]


def test_rows_are_numbered_by_file_line(org, leader, producer, crm):
    raw = (
        "producer_email,activity_type,occurred_at,note\r\n"
        f"{producer.email},CRM entry,{RECENT},fine\r\n"
        "\r\n"  # a blank line is skipped but still counts as a line
        f'{producer.email},CRM entry,{RECENT},"a note\r\non two lines"\r\n'
        f"{producer.email},Nope,{RECENT},bad\r\n"
        f"{producer.email},CRM entry,{RECENT},x,extra\r\n"
    ).encode()

    result = run(org, leader, None, raw=raw, dry_run=True)

    assert result.rows == 4
    assert errors_of(result) == [
        (6, "activity_type", "No activity type named “Nope” in your organization."),
        (7, "", "This row has 5 values but the header names 4 columns."),
    ]


# --- dates and time zones ---------------------------------------------------------------------


def test_dates_without_offset_are_read_in_the_organization_time_zone(org, leader, producer, crm):
    rows = [
        make_row(producer, occurred_at="2026-03-17 09:30", note="naive"),
        make_row(producer, occurred_at="2026-03-17", note="date"),
        make_row(producer, occurred_at="2026-03-17T09:30:00Z", note="utc"),
    ]
    assert run(org, leader, rows).ok
    stored = {a.note: a.occurred_at for a in Activity.objects.all()}
    assert stored["naive"] == dt.datetime(2026, 3, 17, 9, 30, tzinfo=CHICAGO)
    assert stored["date"] == dt.datetime(2026, 3, 17, 0, 0, tzinfo=CHICAGO)
    assert stored["utc"] == dt.datetime(2026, 3, 17, 9, 30, tzinfo=dt.UTC)


def test_monday_midnight_in_chicago_is_the_new_week(org, leader, producer, crm):
    rows = [make_row(producer, occurred_at="2026-03-16"), make_row(producer, occurred_at="2026-03-15 23:59")]
    assert run(org, leader, rows).ok
    assert sorted(Activity.objects.values_list("week_start", flat=True)) == [LAST_WEEK, THIS_WEEK]


def test_closed_weeks_are_imported_and_queued_for_recomputation(org, leader, producer, teammate, crm):
    rows = [
        make_row(producer, occurred_at="2026-03-10T10:00:00-05:00", note="1"),
        make_row(producer, occurred_at="2026-03-11T10:00:00-05:00", note="2"),  # same producer-week
        make_row(teammate, occurred_at="2026-03-03T10:00:00-06:00", note="3"),
        make_row(producer, note="open week"),
    ]

    result = run(org, leader, rows)

    assert result.ok and result.created == 4 and result.closed_weeks == 2
    pending = set(WeekRecompute.objects.values_list("producer", "week_start"))
    assert pending == {(producer.pk, LAST_WEEK), (teammate.pk, dt.date(2026, 3, 2))}
    audit = AuditEvent.objects.get(action="activity.import").after
    assert audit["closed_weeks"] == 2
    assert audit["closed_producer_weeks"] == sorted([[producer.pk, "2026-03-09"], [teammate.pk, "2026-03-02"]])


def test_a_dry_run_queues_nothing(org, leader, producer, crm):
    result = run(org, leader, [make_row(producer, occurred_at="2026-03-10")], dry_run=True)
    assert result.closed_weeks == 1 and not WeekRecompute.objects.exists()


# --- who may import -----------------------------------------------------------------------------


def test_a_manager_imports_for_the_team_only(org, manager, producer, teammate, crm):
    rows = [make_row(producer, note="mine"), make_row(teammate, note="not mine")]

    result = run(org, manager, rows)

    assert errors_of(result) == [
        (
            3,
            "producer_email",
            "teammate@test.example is not on your team: you can import only for the teams you manage.",
        )
    ]
    assert not Activity.objects.exists()
    assert run(org, manager, rows[:1]).created == 1


def test_a_leader_imports_for_any_producer(org, leader, producer, teammate, crm):
    result = run(org, leader, [make_row(producer), make_row(teammate)])
    assert result.ok and result.created == 2


def test_producers_cannot_import(org, producer, crm):
    with pytest.raises(ActivityError, match="Only managers and leaders can import"):
        run(org, producer, [make_row(producer)])
    assert not Activity.objects.exists()


def test_a_leader_of_another_organization_cannot_import_here(org, other_org, outsider_leader, producer, crm):
    with pytest.raises(ActivityError):
        run(org, outsider_leader, [make_row(producer)])
    result = run(other_org, outsider_leader, [make_row(producer)], dry_run=True)  # their own org
    assert [e.column for e in result.errors] == ["producer_email", "activity_type"]


# --- the file as a whole -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "The file is empty."),
        (b"producer_email,activity_type,occurred_at\r\n", "The file has a header but no rows"),
        (b"email,type,when\r\na,b,c\r\n", "Missing column(s): producer_email, activity_type, occurred_at."),
        (b"producer_email,activity_type,occurred_at,colour\r\n", "Unknown column(s): colour."),
        (b"producer_email,activity_type,occurred_at,note,Note\r\n", "Column(s) named twice: note."),
        ("producer_email,activity_type,occurred_at\r\né,x,y\r\n".encode("latin-1"), "The file is not UTF-8 text."),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "This is not a CSV text file"),
        (b'producer_email,"activity_type\r\n', "this is not a readable CSV file"),
        (b'producer_email,"activity_type"x,occurred_at\r\n', "this is not a readable CSV file"),
    ],
)
def test_unreadable_files_are_refused_with_a_clear_message(org, leader, raw, message):
    with pytest.raises(ImportFileError) as refused:
        run(org, leader, None, raw=raw, dry_run=True)
    assert message in refused.value.message and refused.value.field == "file"


def test_header_names_are_forgiving_and_a_bom_is_fine(org, leader, producer, crm):
    raw = f"\ufeffProducer Email,Activity-Type, OCCURRED_AT \r\n{producer.email},CRM entry,{RECENT}\r\n"
    assert run(org, leader, None, raw=raw.encode()).created == 1


def test_too_many_rows(org, leader, producer, crm, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    with pytest.raises(ImportFileError, match="more than 3 rows"):
        run(org, leader, numbered(producer, 4))
    assert not Activity.objects.exists()


# --- set-based: the number of queries does not grow with the rows --------------------------------


def queries_of(org, by, rows, *, dry_run) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert run(org, by, rows, dry_run=dry_run).ok
    return [q["sql"] for q in captured.captured_queries]


def test_dry_run_queries_do_not_grow_with_rows(org, leader, producer, crm, django_assert_max_num_queries):
    # The organization's members (1), the producers the importer acts for (1), the types (1),
    # and per chunk of up to CHUNK_SIZE rows: stored external ids (1) and stored exact
    # duplicates (1). No transaction: a dry run writes nothing.
    membership_of(leader)  # cached on the user, as in a request (the view's decorator loads it)
    for count in (200, 2000):
        with django_assert_max_num_queries(5):
            assert run(org, leader, numbered(producer, count, start=count), dry_run=True).created == count


def test_import_queries_are_constant_apart_from_batched_inserts(org, leader, producer, crm):
    membership_of(leader)
    small = queries_of(org, leader, numbered(producer, 200), dry_run=False)
    large = queries_of(org, leader, numbered(producer, 2000, start=1000), dry_run=False)
    reads = [[q for q in queries if not q.startswith("INSERT")] for queries in (small, large)]
    assert len(reads[0]) == len(reads[1]) <= 10
    inserts = [q for q in large if q.startswith('INSERT INTO "activities_activity"')]
    columns = [f for f in Activity._meta.concrete_fields if not f.primary_key]
    per_insert = min(imports.INSERT_BATCH_SIZE, connection.ops.bulk_batch_size(columns, [None] * 2000))
    assert len(inserts) <= math.ceil(2000 / per_insert) + 1
    assert Activity.objects.count() == 2200


def test_chunks_bound_what_is_checked_at_once(org, leader, producer, crm, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_SIZE", 500)
    queries = queries_of(org, leader, numbered(producer, 2000), dry_run=True)
    # 4 chunks × (external ids + exact duplicates), on top of the fixed reads
    assert sum('"external_id" IN' in q for q in queries) == 4


def test_a_two_thousand_row_file_with_values_and_evidence(org, leader, producer, teammate, types):
    rows = []
    for n in range(2000):
        who = producer if n % 2 else teammate
        kind = ("CRM entry", "Social post", "New policy sold")[n % 3]
        rows.append(
            make_row(
                who,
                activity_type=kind,
                occurred_at=(dt.datetime(2026, 3, 2, tzinfo=CHICAGO) + dt.timedelta(minutes=7 * n)).isoformat(),
                value="1250.50" if kind == "New policy sold" else "",
                evidence_url="https://social.example/p/1" if kind == "Social post" else "",
                external_id=f"row-{n}",
            )
        )
    result = run(org, leader, rows)
    assert result.ok and result.created == 2000
    assert Activity.objects.filter(activity_type=types["policy"], value=Decimal("1250.50")).count() == 666
    assert WeekRecompute.objects.count() == 4  # two producers × the two closed weeks


# --- API: POST /api/v1/activities/import/ ---------------------------------------------------------

API = "/api/v1/activities/import/"


def api_post(client, data: bytes, *, dry_run=None, as_body=False, **extra):
    url = API if dry_run is None else f"{API}?dry_run={dry_run}"
    if as_body:
        return client.post(url, data=data, content_type="text/csv", **extra)
    return client.post(url, {"file": io.BytesIO(data)}, **extra)


def test_api_url_is_the_documented_one():
    assert reverse("api-activity-import") == API


def test_api_anonymous_gets_401(client, producer, crm):
    response = api_post(client, csv_bytes([make_row(producer)]))
    assert response.status_code == 401 and not Activity.objects.exists()


@pytest.mark.parametrize("who", ["producer", "outsider"])
def test_api_producers_get_403(client, request, producer, crm, who):
    client.force_login(request.getfixturevalue(who))
    response = api_post(client, csv_bytes([make_row(producer)]))
    assert response.status_code == 403 and not Activity.objects.exists()


def test_api_dry_run_then_import(client, leader, producer, crm):
    client.force_login(leader)
    data = csv_bytes(numbered(producer, 3))

    checked = api_post(client, data, dry_run=1)
    assert checked.status_code == 200
    assert checked.json() == {
        "dry_run": True,
        "rows": 3,
        "created": 3,
        "duplicates": 0,
        "closed_weeks": 0,
        "errors": [],
    }
    assert not Activity.objects.exists()

    imported = api_post(client, data, dry_run=0)
    assert imported.status_code == 200 and imported.json()["created"] == 3
    again = api_post(client, data)
    assert again.json()["created"] == 0 and again.json()["duplicates"] == 3
    assert Activity.objects.count() == 3


def test_api_real_import_with_errors_is_400_and_writes_nothing(client, leader, producer, crm):
    client.force_login(leader)
    rows = numbered(producer, 2) + [make_row(producer, quantity="1001")]

    response = api_post(client, csv_bytes(rows))

    assert response.status_code == 400
    body = response.json()
    assert body["dry_run"] is False and body["created"] == 0
    assert body["errors"] == [{"row": 4, "column": "quantity", "message": "Quantity must be between 1 and 1000."}]
    assert not Activity.objects.exists()


def test_api_dry_run_with_errors_is_200(client, leader, producer, crm):
    client.force_login(leader)
    response = api_post(client, csv_bytes([make_row(producer, activity_type="x")]), dry_run="true")
    assert response.status_code == 200 and response.json()["errors"][0]["column"] == "activity_type"


def test_api_accepts_a_text_csv_body_and_a_token(client, leader, producer, crm):
    _instance, token = AuthToken.objects.create(user=leader)
    response = api_post(client, csv_bytes(numbered(producer, 2)), as_body=True, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200 and response.json()["created"] == 2
    assert set(Activity.objects.values_list("logged_by", flat=True)) == {leader.pk}


def test_api_and_page_read_uploads_spooled_to_disk(client, leader, producer, crm, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10  # every upload becomes a temporary file
    client.force_login(leader)
    assert api_post(client, csv_bytes(numbered(producer, 2)), dry_run=1).json()["created"] == 2
    token = token_of(upload(client, csv_bytes(numbered(producer, 2))))
    assert client.post(reverse("activities:import_confirm", args=[token])).status_code == 302
    assert Activity.objects.count() == 2


def test_api_manager_row_for_another_team_is_refused(client, manager, producer, teammate, crm):
    client.force_login(manager)
    response = api_post(client, csv_bytes([make_row(producer), make_row(teammate, note="x")]))
    assert response.status_code == 400
    assert "is not on your team" in response.json()["errors"][0]["message"]
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "status", "key", "text"),
    [
        ({"data": b"\xff\xfe\x00bad", "as_body": True}, 400, "file", "not UTF-8"),
        ({"data": b"a,b\r\n1,2\r\n"}, 400, "file", "Missing column(s)"),
        ({"data": b"x", "dry_run": "maybe"}, 400, "detail", "dry_run must be 1"),
    ],
)
def test_api_bad_input_is_a_readable_400(client, leader, kwargs, status, key, text):
    client.force_login(leader)
    response = api_post(client, **kwargs)
    assert response.status_code == status and text in str(response.json()[key])


def test_api_without_a_file(client, leader):
    client.force_login(leader)
    response = client.post(API, {"other": "x"})
    assert response.status_code == 400 and "multipart field “file”" in response.json()["file"][0]


def test_api_json_body_is_unsupported(client, leader):
    client.force_login(leader)
    assert client.post(API, {"file": "x"}, content_type="application/json").status_code == 415


def test_api_too_large(client, leader, monkeypatch):
    from activities import api_intake

    monkeypatch.setattr(api_intake, "MAX_UPLOAD_BYTES", 10)
    client.force_login(leader)
    response = api_post(client, b"producer_email,activity_type,occurred_at\r\n" * 3, as_body=True)
    assert response.status_code == 400 and "larger than 20 MB" in response.json()["file"][0]


def test_api_content_length_over_the_limit_is_refused_unread(client, leader):
    client.force_login(leader)
    response = client.post(API, data=b"x", content_type="text/csv", CONTENT_LENGTH=str(21 * 1024 * 1024))
    assert response.status_code == 400 and "larger than 20 MB" in response.json()["file"][0]


def test_api_get_is_405(client, leader):
    client.force_login(leader)
    assert client.get(API).status_code == 405


# --- the page: upload → check → confirm ----------------------------------------------------------


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def staged_files(media) -> list[str]:
    folder = media / "imports"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def upload(client, data: bytes, name="activities.csv"):
    file = io.BytesIO(data)
    file.name = name
    return client.post(reverse("activities:import"), {"file": file})


def token_of(response) -> str:
    return response.url.rstrip("/").rsplit("/", 1)[-1]


def test_page_anonymous_is_sent_to_login(client):
    response = client.get(reverse("activities:import"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_page_producers_get_403(client, producer):
    client.force_login(producer)
    assert client.get(reverse("activities:import")).status_code == 403
    assert upload(client, b"x").status_code == 403


def test_page_explains_the_file_for_the_organization(client, manager, org, crm, team):
    client.force_login(manager)
    response = client.get(reverse("activities:import"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "America/Chicago" in page and "CRM entry" in page
    assert "the header is row 1" in page and f"<strong>{team.name}</strong>" in page


def test_page_upload_checks_and_confirm_imports(client, leader, producer, crm, media):
    client.force_login(leader)
    response = upload(client, csv_bytes(numbered(producer, 3) + [dict(numbered(producer, 1)[0])]))
    assert response.status_code == 302
    token = token_of(response)
    assert f"{token}.csv" in staged_files(media) and not Activity.objects.exists()

    preview = client.get(reverse("activities:import_preview", args=[token]))
    assert preview.status_code == 200
    assert preview.context["result"]["created"] == 3 and preview.context["result"]["duplicates"] == 1
    assert "Import 3 activities" in preview.content.decode()

    done = client.post(reverse("activities:import_confirm", args=[token]))
    assert done.status_code == 302 and done.url == reverse("activities:import")
    assert Activity.objects.filter(source=Source.CSV).count() == 3
    assert staged_files(media) == []
    followed = client.get(done.url)
    assert "Imported 3 activities; 1 duplicate row(s) skipped." in followed.content.decode()
    assert client.post(reverse("activities:import_confirm", args=[token])).status_code == 404


def test_page_lists_every_error_and_offers_no_import(client, leader, producer, crm):
    client.force_login(leader)
    rows = numbered(producer, 120)
    for row in rows[::2]:
        row["quantity"] = "0"
    token = token_of(upload(client, csv_bytes(rows)))

    preview = client.get(reverse("activities:import_preview", args=[token]))
    page = preview.content.decode()
    assert preview.context["error_count"] == 60 and preview.context["pages"] == 2
    assert len(preview.context["errors"]) == 50 and "confirm-import" not in page
    assert "Nothing can be imported while any row has an error" in page

    second = client.get(reverse("activities:import_preview", args=[token]), {"page": 2}, HTTP_HX_REQUEST="true")
    assert [e.row for e in second.context["errors"]] == list(range(102, 122, 2))
    assert "<html" not in second.content.decode()  # the htmx fragment only

    download = client.get(reverse("activities:import_errors", args=[token]))
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert lines[0] == "row,column,message" and len(lines) == 61
    assert lines[1] == "2,quantity,Quantity must be between 1 and 1000."

    refused = client.post(reverse("activities:import_confirm", args=[token]))
    assert refused.status_code == 302 and not Activity.objects.exists()


def test_page_confirm_rechecks_and_imports_nothing_when_the_data_changed(client, leader, producer, crm):
    client.force_login(leader)
    token = token_of(upload(client, csv_bytes(numbered(producer, 3))))
    crm.active = False  # deactivated between the check and the confirmation
    crm.save()

    response = client.post(reverse("activities:import_confirm", args=[token]), follow=True)

    assert not Activity.objects.exists()
    assert "Nothing was imported: 3 row(s) have errors." in response.content.decode()
    assert response.context["error_count"] == 3


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"producer_email\r\n", "activities.xlsx", "Upload a .csv file."),
        (b"", "empty.csv", "The submitted file is empty."),
        ("a,b\r\né\r\n".encode("utf-16"), "activities.csv", "The file is not UTF-8 text."),
        (b"email,when\r\n", "activities.csv", "Missing column(s)"),
    ],
)
def test_page_bad_files_are_refused_on_the_form(client, leader, media, data, name, message):
    client.force_login(leader)
    response = upload(client, data, name=name)
    assert response.status_code == 200
    assert message in str(response.context["form"].errors["file"])
    assert staged_files(media) == []


def test_page_too_large(client, leader, media, monkeypatch):
    from activities import forms_import

    monkeypatch.setattr(forms_import, "MAX_UPLOAD_BYTES", 10)
    client.force_login(leader)
    response = upload(client, b"producer_email,activity_type,occurred_at\r\n")
    assert "the limit is 20 MB" in str(response.context["form"].errors["file"])
    assert staged_files(media) == []


def test_page_uploads_belong_to_their_uploader(client, leader, manager, outsider_leader, producer, crm):
    client.force_login(leader)
    token = token_of(upload(client, csv_bytes(numbered(producer, 1))))
    for other in (manager, outsider_leader):
        client.force_login(other)
        assert client.get(reverse("activities:import_preview", args=[token])).status_code == 404
        assert client.get(reverse("activities:import_errors", args=[token])).status_code == 404
        assert client.post(reverse("activities:import_confirm", args=[token])).status_code == 404
        assert client.post(reverse("activities:import_discard", args=[token])).status_code == 404
    assert not Activity.objects.exists()
    assert client.get("/activities/import/..%2F..%2Fsettings/").status_code == 404
    assert client.get("/activities/import/short/").status_code == 404


def test_page_discard_deletes_the_upload(client, leader, producer, crm, media):
    client.force_login(leader)
    token = token_of(upload(client, csv_bytes(numbered(producer, 1))))
    response = client.post(reverse("activities:import_discard", args=[token]))
    assert response.status_code == 302 and staged_files(media) == []
    assert not Activity.objects.exists()


def test_page_uploads_expire(client, leader, producer, crm, media, monkeypatch):
    client.force_login(leader)
    token = token_of(upload(client, csv_bytes(numbered(producer, 1))))
    monkeypatch.setattr(staged_imports, "STAGED_TTL", dt.timedelta(seconds=-1))  # already past
    assert client.post(reverse("activities:import_confirm", args=[token])).status_code == 404
    assert staged_files(media) == [] and not Activity.objects.exists()


def test_page_wrong_methods(client, leader):
    client.force_login(leader)
    token = "a" * 22
    assert client.put(reverse("activities:import")).status_code == 405
    assert client.get(reverse("activities:import_confirm", args=[token])).status_code == 405
    assert client.get(reverse("activities:import_discard", args=[token])).status_code == 405
    assert client.post(reverse("activities:import_preview", args=[token])).status_code == 405


def test_page_template_file_has_the_header(client, leader, crm):
    client.force_login(leader)
    response = client.get(reverse("activities:import_template"))
    lines = response.content.decode().splitlines()
    assert response["Content-Type"].startswith("text/csv") and lines[0] == ",".join(CSV_COLUMNS)
    assert "CRM entry" in lines[1]


# --- never a 500: whatever bytes arrive ------------------------------------------------------------

cells = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20) | st.sampled_from(
    ["producer@test.example", "CRM entry", RECENT, "2026-03-18", "1", "0", "", "https://x.example/a"]
)


@given(rows=st.lists(st.lists(cells, min_size=0, max_size=10), max_size=5), junk=st.binary(max_size=40))
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_file_is_either_checked_or_refused_in_words(org, leader, producer, crm, rows, junk):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    for raw in (out.getvalue().encode(), junk, out.getvalue().encode() + junk):
        try:
            result = run(org, leader, None, raw=raw, dry_run=True)
        except ImportFileError as refused:
            assert refused.message
        else:
            assert result.rows == result.created + result.duplicates + result.error_rows
