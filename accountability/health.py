"""Health probes used by /healthz. Each returns "ok" (or "embedded") or a short error."""

import logging

from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        log.warning("health: database down: %s", exc)
        return "error"
    return "ok"


def broker_status() -> str:
    if settings.CELERY_BROKER_EMBEDDED:
        return "embedded"
    import redis

    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
    except Exception as exc:  # connection refused, timeout, auth …
        log.warning("health: broker down: %s", exc)
        return "error"
    return "ok"
