"""/healthz: 200 when the database and the broker (or the embedded broker) answer, 503 with
the failing part named otherwise."""

import logging
import os

import pytest
from django.db import OperationalError
from django.test import override_settings

from accountability import health

pytestmark = pytest.mark.django_db

EMBEDDED = override_settings(CELERY_BROKER_EMBEDDED=True, CELERY_BROKER_URL="filesystem://")
REDIS_DOWN = override_settings(CELERY_BROKER_EMBEDDED=False, CELERY_BROKER_URL="redis://127.0.0.1:1/0")


class _BrokenConnection:
    """Stands in for django.db.connection when the database server is gone."""

    def cursor(self):
        raise OperationalError("could not connect to server: Connection refused")


@pytest.fixture
def database_down(monkeypatch):
    monkeypatch.setattr(health, "connection", _BrokenConnection())


@EMBEDDED
def test_healthy_with_the_embedded_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "embedded"}


@REDIS_DOWN
def test_redis_down_is_503(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "broker": "error"}


@EMBEDDED
def test_database_down_is_503(client, database_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "error", "broker": "embedded"}


@REDIS_DOWN
def test_both_down_names_both(client, database_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "error", "broker": "error"}


def test_probe_failures_are_logged_without_raising(database_down, caplog):
    # Explicit level: another test in the same process (a Celery worker) may raise the root level.
    caplog.set_level(logging.WARNING, logger="accountability.health")
    with REDIS_DOWN:
        assert health.database_status() == "error"
        assert health.broker_status() == "error"
    messages = [r.getMessage() for r in caplog.records if r.name == "accountability.health"]
    assert any("database down" in m for m in messages)
    assert any("broker down" in m for m in messages)


@EMBEDDED
def test_healthz_is_exempt_from_the_https_redirect(client):
    """Load balancers probe over plain HTTP, without a session; every other page redirects."""
    with override_settings(SECURE_SSL_REDIRECT=True):
        probe = client.get("/healthz", secure=False)
        page = client.get("/accounts/login/", secure=False)
    assert probe.status_code == 200
    assert probe["Content-Type"] == "application/json"
    assert page.status_code == 301
    assert page.url.startswith("https://")


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a real Redis: set REDIS_URL")
def test_healthy_with_real_redis(client):
    with override_settings(CELERY_BROKER_EMBEDDED=False, CELERY_BROKER_URL=os.environ["REDIS_URL"]):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
