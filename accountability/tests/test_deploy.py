"""Production configuration (SPEC §6): `check --deploy` is clean with production settings,
the settings refuse to load without a SECRET_KEY, and no model change lacks a migration."""

import os
import secrets
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

BASE_DIR = Path(__file__).resolve().parents[2]
CONFIG_PREFIXES = ("DJANGO_", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_", "REDIS_", "SECURE_", "CELERY_")


def manage(tmp_path, *args, **env) -> subprocess.CompletedProcess:
    """`python manage.py …` with the production settings module and only the given config
    (a value of None leaves that variable unset)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES)}
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "accountability.settings",
            "VAR_DIR": str(tmp_path / "var"),
            # Present (possibly empty) so an optional .env file cannot fill them in.
            "DEBUG": "false",
            "REDIS_URL": "",
            **env,
        }
    )
    environment = {k: v for k, v in environment.items() if v is not None}
    return subprocess.run(  # noqa: S603 — our own interpreter and manage.py
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def production_env(tmp_path):
    return {
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "accountability.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
    }


def test_check_deploy_is_clean(tmp_path, production_env):
    assert len(production_env["SECRET_KEY"]) >= 50
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr
    assert "security.W" not in result.stdout + result.stderr


def test_check_deploy_would_catch_a_weak_secret_key(tmp_path, production_env):
    """The check above is not vacuous: a short key fails it."""
    weak = {**production_env, "SECRET_KEY": "short"}
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **weak)
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


@pytest.mark.parametrize("secret", [None, ""])
def test_settings_refuse_to_load_without_secret_key(tmp_path, production_env, secret):
    if secret is None and (BASE_DIR / ".env").exists():
        pytest.skip("a local .env file may provide SECRET_KEY")
    result = manage(tmp_path, "check", **{**production_env, "SECRET_KEY": secret})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_debug_runs_with_the_development_key(tmp_path):
    result = manage(tmp_path, "check", DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite3'}")
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit:
        pytest.fail(f"Models changed without a migration:\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()
