"""CSV import and webhook intake (`/api/v1/`), before the routers' `activities/<pk>/` routes."""

from django.urls import path

from . import api_intake

urlpatterns = [
    path("activities/import/", api_intake.ActivityImportView.as_view(), name="api-activity-import"),
    path("integrations/events/", api_intake.IntegrationEventsView.as_view(), name="api-integration-events"),
]
