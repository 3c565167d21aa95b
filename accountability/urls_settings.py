"""Leader settings pages (SPEC §5): organization, teams, users & invitations."""

from django.urls import path

from .views import settings as views

app_name = "settings"
urlpatterns = [
    path("organization/", views.organization, name="organization"),
    path("teams/", views.teams, name="teams"),
    path("teams/<int:pk>/", views.team_edit, name="team_edit"),
    path("teams/<int:pk>/delete/", views.team_delete, name="team_delete"),
    path("users/", views.users, name="users"),
    path("users/invite/", views.invite, name="invite"),
    path("users/<int:pk>/", views.member_edit, name="member_edit"),
    path("users/<int:pk>/deactivate/", views.member_deactivate, name="member_deactivate"),
    path("users/<int:pk>/reactivate/", views.member_reactivate, name="member_reactivate"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
]
