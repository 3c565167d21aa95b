"""`/healthz`: is the database reachable, and the broker (or is it the embedded one)?"""

from django.http import JsonResponse

from .. import health as checks


def healthz(request):
    database = checks.database_status()
    broker = checks.broker_status()
    healthy = database == "ok" and broker in ("ok", "embedded")
    body = {"status": "ok" if healthy else "error", "database": database, "broker": broker}
    return JsonResponse(body, status=200 if healthy else 503)
