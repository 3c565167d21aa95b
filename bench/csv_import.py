"""CSV import benchmark (SPEC §7): 50,000 rows in one file, under 30 s, memory bounded.

Run by `make bench` (with DATABASE_URL pointing at PostgreSQL; without it, SQLite). It works
in a throwaway database created and destroyed with Django's test machinery, so it never
touches real data: an organization with 200 producers and the default activity types, a
50,000-row CSV written to disk, then through the service (activities.services.imports):
the dry run, the import, and the same import again (idempotent: all duplicates).

Printed per step: wall time, rows/s, SQL queries, and the ratio to a baseline measured in
the same run — reading the same file with csv.DictReader and nothing else. Memory: the
process's peak RSS before and after the timed dry run and import, and the peak of Python
allocations during a dry run and an import (tracemalloc, in separate passes after the timed
ones, as tracing slows the code down).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accountability.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402

ROWS = 50_000
PRODUCERS = 200
TEAMS = 10
LIMIT_SECONDS = 30.0
NOW = dt.datetime(2026, 3, 19, 3, 0, tzinfo=dt.UTC)  # a Thursday; the 8 weeks before it are history


class QueryCounter:
    """Counts SQL statements without keeping them (CaptureQueriesContext would hold every
    multi-kilobyte INSERT in memory and distort the memory figures)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def build_organization():
    from accountability.models import Membership, Organization, Role, Team, User
    from activities.services.config import default_activity_types_create

    org = Organization.objects.create(name="Bench Agency", slug="bench", timezone="America/Chicago")
    teams = Team.objects.bulk_create(Team(organization=org, name=f"Team {n}") for n in range(TEAMS))
    people = [User(email=f"producer{n}@bench.example", name=f"Producer {n}") for n in range(PRODUCERS)]
    leader = User(email="leader@bench.example", name="Leader")
    for user in [*people, leader]:
        user.set_unusable_password()
    User.objects.bulk_create([*people, leader])
    since = NOW.date() - dt.timedelta(days=730)
    Membership.objects.bulk_create(
        [Membership(user=u, organization=org, role=Role.PRODUCER, team=teams[n % TEAMS], active_from=since)
         for n, u in enumerate(people)]
        + [Membership(user=leader, organization=org, role=Role.LEADER, active_from=since)]
    )  # fmt: skip
    types = default_activity_types_create(organization=org)
    return org, User.objects.get(email="leader@bench.example"), [u.email for u in people], types


def write_csv(path: Path, emails: list[str], types) -> None:
    """50,000 varied rows over the 8 weeks before NOW (some in closed weeks)."""
    rng = random.Random(2026)
    start = NOW - dt.timedelta(weeks=8)
    columns = ["producer_email", "activity_type", "occurred_at", "quantity", "value", "note", "evidence_url",
               "external_id"]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for n in range(ROWS):
            kind = types[n % len(types)]
            when = start + dt.timedelta(seconds=rng.randrange(8 * 7 * 24 * 3600 - 3600))
            writer.writerow([
                emails[n % len(emails)],
                kind.name.upper() if n % 7 == 0 else kind.name,
                when.isoformat(timespec="seconds"),
                rng.randint(1, 5),
                f"{rng.randint(300, 5000)}.00" if kind.tracks_value else "",
                f"bench row {n}",
                f"https://social.example/p/{n}" if kind.requires_evidence else "",
                f"bench-{n}",
            ])  # fmt: skip


def baseline(path: Path) -> float:
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as file:
        for _row in csv.DictReader(file):
            pass
    return time.perf_counter() - started


def timed(label, org, leader, path: Path, *, dry_run: bool):
    from activities.services.imports import activities_import

    counter = QueryCounter()
    started = time.perf_counter()
    with connection.execute_wrapper(counter), path.open("rb") as file:
        result = activities_import(organization=org, by=leader, file=file, dry_run=dry_run, now=NOW)
    seconds = time.perf_counter() - started
    return label, result, seconds, counter.count


def peak_python_memory(org, leader, path: Path, *, dry_run: bool) -> float:
    """MiB allocated at the peak of a run, traced apart from the timed runs."""
    from activities.services.imports import activities_import

    tracemalloc.start()
    try:
        with path.open("rb") as file:
            activities_import(organization=org, by=leader, file=file, dry_run=dry_run, now=NOW)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> int:
    from activities.models import Activity, WeekRecompute

    settings.DEBUG = False  # DEBUG keeps every query in memory; the benchmark measures memory
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        org, leader, emails, types = build_organization()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "activities.csv"
            write_csv(path, emails, types)
            size = path.stat().st_size / 2**20
            parse = baseline(path)
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            runs = [
                timed("dry run", org, leader, path, dry_run=True),
                timed("import", org, leader, path, dry_run=False),
            ]
            rss = (rss_before / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            runs.append(timed("re-import", org, leader, path, dry_run=False))
            created = Activity.objects.count()
            Activity.objects.all().delete()
            WeekRecompute.objects.all().delete()
            peaks = (
                peak_python_memory(org, leader, path, dry_run=True),
                peak_python_memory(org, leader, path, dry_run=False),
            )
        report(runs, vendor=connection.vendor, size=size, parse=parse, peaks=peaks, rss=rss)
        dry, imported, again = (r[1] for r in runs)
        assert dry.ok and dry.created == ROWS, dry.errors[:5]
        assert imported.created == ROWS == created, (imported.created, created)
        assert again.created == 0 and again.duplicates == ROWS
        slow = [(label, seconds) for label, _r, seconds, _q in runs if seconds >= LIMIT_SECONDS]
        assert not slow, f"slower than {LIMIT_SECONDS} s: {slow}"
        print(f"  every run under {LIMIT_SECONDS:.0f} s — OK")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    return 0


def report(runs, *, vendor, size, parse, peaks, rss) -> None:
    print(f"CSV import: {ROWS:,} rows ({size:.1f} MiB), {PRODUCERS} producers, database {vendor}")
    print(f"  baseline  csv.DictReader only: {parse:6.2f} s  {ROWS / parse:10,.0f} rows/s")
    for label, result, seconds, queries in runs:
        print(
            f"  {label:<9} {seconds:6.2f} s  {ROWS / seconds:10,.0f} rows/s  {seconds / parse:5.1f}× baseline  "
            f"{queries:4d} queries  created {result.created:,}  duplicates {result.duplicates:,}  "
            f"closed producer-weeks {result.closed_weeks}"
        )
    print(f"  peak Python memory (tracemalloc): dry run {peaks[0]:.1f} MiB, import {peaks[1]:.1f} MiB")
    print(f"  process peak RSS: {rss[0]:.0f} MiB before the runs, {rss[1]:.0f} MiB after the dry run and import")


if __name__ == "__main__":
    sys.exit(main())
