"""Scores, leaderboard and flags API routes (included at /api/v1/ by accountability.urls_api)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import scores

router = SimpleRouter()
router.register("scores", scores.ScoreViewSet, basename="api-score")
router.register("flags", scores.FlagViewSet, basename="api-flag")

urlpatterns = [
    path("leaderboard/", scores.LeaderboardView.as_view(), name="api-leaderboard"),
    *router.urls,
]
