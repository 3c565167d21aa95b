"""`/api/v1/`. Specific paths (CSV import, webhook) come before the routers' detail routes."""

from django.urls import include, path, re_path

from accountability.api.views import not_found

urlpatterns = [
    path("", include("activities.urls_api_intake")),  # activities/import/, integrations/events/
    path("", include("accountability.api.urls")),  # auth/token/, me, organization, members, teams
    path("", include("activities.api.urls")),  # activity-types, expectations, activities, integration-keys
    path("", include("scoring.api.urls_exemptions")),  # exemptions (+ approve, reject)
    path("", include("scoring.api.urls_scores")),  # scores, leaderboard, flags
    re_path(r"^(?:.*/)?$", not_found),  # last: any other /api/v1/…/ answers in JSON, not the HTML 404 page
]
