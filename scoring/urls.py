"""Scoring pages. Each area has its own URL module."""

from django.urls import include, path

app_name = "scoring"

urlpatterns = [
    path("exemptions/", include("scoring.urls_exemptions")),
    path("scoreboard/", include("scoring.urls_scoreboard")),
]
