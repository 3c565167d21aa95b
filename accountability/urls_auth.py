"""Login, logout, password change/reset, invitation accept."""

from django.urls import include, path

urlpatterns = [
    path("", include("django.contrib.auth.urls")),
]
