"""Core API routes (included at /api/v1/ by accountability.urls_api)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("members", views.MemberViewSet, basename="api-member")
router.register("teams", views.TeamViewSet, basename="api-team")

urlpatterns = [
    path("auth/token/", views.TokenCreateView.as_view(), name="api-token"),
    path("auth/logout/", views.TokenDeleteView.as_view(), name="api-logout"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("organization/", views.OrganizationView.as_view(), name="api-organization"),
    *router.urls,
]
