"""Scoreboard, TV mode and TV links (under /scoring/scoreboard/, namespace "scoring")."""

from django.urls import path

from . import views_scoreboard

urlpatterns = [
    path("", views_scoreboard.scoreboard, name="scoreboard"),
    path("tv/", views_scoreboard.tv, name="tv"),
    path("tv/links/", views_scoreboard.tv_links, name="tv_links"),
    path("tv/links/new/", views_scoreboard.tv_link_create, name="tv_link_create"),
    path("tv/links/<int:pk>/revoke/", views_scoreboard.tv_link_revoke_view, name="tv_link_revoke"),
    # A wall screen's read-only link; the token is URL-safe base64 (never "links").
    path("tv/<str:token>/", views_scoreboard.tv_public, name="tv_public"),
]
