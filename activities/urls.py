"""Activity pages. Each area has its own URL module."""

from django.urls import include, path

app_name = "activities"

urlpatterns = [
    path("", include("activities.urls_log")),  # producer quick log, history, edit; manager queue
    path("settings/", include("activities.urls_config")),  # leader: types, expectations, keys
    path("import/", include("activities.urls_import")),  # CSV import
]
