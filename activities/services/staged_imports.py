"""Uploads kept between the dry run and the confirmation of a CSV import (the import page).

The file is stored under MEDIA_ROOT/imports/<random token>.csv, with its owner and dry-run
result beside it (<token>.json) and the row errors (<token>.errors.csv). Only its owner can
use it; it is deleted after the import, when discarded, or STAGED_TTL after the upload.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from accountability.models import Organization, User

from ..errors import ActivityError
from .imports import ImportResult, RowError, activities_import

STAGED_TTL = dt.timedelta(hours=2)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")


@dataclass
class StagedImport:
    """An uploaded file waiting for confirmation, under MEDIA_ROOT/imports/, with its owner
    and dry-run result beside it (<token>.json) and the row errors (<token>.errors.csv)."""

    token: str
    meta: dict

    @staticmethod
    def folder() -> Path:
        return Path(settings.MEDIA_ROOT) / "imports"

    @property
    def path(self) -> Path:
        return self.folder() / f"{self.token}.csv"

    @property
    def meta_path(self) -> Path:
        return self.folder() / f"{self.token}.json"

    @property
    def errors_path(self) -> Path:
        return self.folder() / f"{self.token}.errors.csv"

    @property
    def filename(self) -> str:
        return self.meta.get("filename", "")

    @property
    def result(self) -> dict:
        return self.meta.get("result", {})


def staged_import_create(*, user: User, organization: Organization, upload, now=None) -> StagedImport:
    """Store an upload for the user and dry-run it. A file that cannot be read is deleted
    again and its ImportFileError raised."""
    now = now or timezone.now()
    staged_imports_purge(now=now)
    StagedImport.folder().mkdir(parents=True, exist_ok=True)
    staged = StagedImport(
        token=secrets.token_urlsafe(16),
        meta={
            "user": user.pk,
            "organization": organization.pk,
            "filename": Path(upload.name or "upload.csv").name[:200],
            "created_at": now.isoformat(),
        },
    )
    with staged.path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        with staged.path.open("rb") as file:
            result = activities_import(organization=organization, by=user, file=file, dry_run=True, now=now)
    except ActivityError:
        staged_import_delete(staged)
        raise
    staged_import_save_result(staged, result)
    return staged


def staged_import_save_result(staged: StagedImport, result: ImportResult) -> None:
    staged.meta["result"] = {**result.summary(), "error_count": len(result.errors)}
    with staged.errors_path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "column", "message"])
        writer.writerows((e.row, e.column, e.message) for e in result.errors)
    staged.meta_path.write_text(json.dumps(staged.meta), encoding="utf-8")


def staged_import_get(*, user: User, token: str, now=None) -> StagedImport | None:
    """The user's staged import, or None (unknown, someone else's, or expired — deleted)."""
    if not _TOKEN.match(token or ""):
        return None
    staged = StagedImport(token=token, meta={})
    try:
        staged.meta = json.loads(staged.meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if staged.meta.get("user") != user.pk or not (staged.path.exists() and staged.errors_path.exists()):
        return None
    if dt.datetime.fromisoformat(staged.meta["created_at"]) + STAGED_TTL < (now or timezone.now()):
        staged_import_delete(staged)
        return None
    return staged


def staged_import_errors(staged: StagedImport, *, start: int = 0, stop: int | None = None) -> list[RowError]:
    """Row errors of the dry run, from `start` to `stop` (read from disk, not all kept in memory)."""
    with staged.errors_path.open(newline="", encoding="utf-8") as file:
        rows = itertools.islice(csv.reader(file), start + 1, None if stop is None else stop + 1)
        return [RowError(int(row), column, message) for row, column, message in rows]


def staged_import_delete(staged: StagedImport) -> None:
    for path in (staged.path, staged.meta_path, staged.errors_path):
        path.unlink(missing_ok=True)


def staged_imports_purge(*, now=None) -> None:
    """Delete uploads older than STAGED_TTL (never confirmed or discarded)."""
    folder = StagedImport.folder()
    if not folder.is_dir():
        return
    cutoff = (now or timezone.now()).timestamp() - STAGED_TTL.total_seconds()
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:  # removed by a concurrent purge
            continue
