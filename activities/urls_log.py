"""Producer quick log, history, edit/delete; manager verification queue and log on behalf."""

from django.urls import path

from . import views_log

urlpatterns = [
    path("log/", views_log.log, name="log"),
    path("log/for/<int:producer_id>/", views_log.log_for, name="log_for"),
    path("history/", views_log.history, name="history"),
    path("<int:pk>/edit/", views_log.edit, name="edit"),
    path("<int:pk>/delete/", views_log.delete, name="delete"),
    path("queue/", views_log.queue, name="queue"),
    path("<int:pk>/verify/", views_log.verify, name="verify"),
    path("<int:pk>/reject/", views_log.reject, name="reject"),
]
