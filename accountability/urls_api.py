"""`/api/v1/`. Specific paths (CSV import, webhook) come before the routers' detail routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("activities.urls_api_intake")),  # activities/import/, integrations/events/
    path("", include("accountability.api.urls")),  # auth/token/, me, organization, members, teams
    path("", include("activities.api.urls")),  # activity-types, expectations, activities, integration-keys
]
