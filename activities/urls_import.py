"""The CSV import page (SPEC §5): upload → dry-run preview → confirm. Managers and leaders."""

from django.urls import path

from . import views_import as views

urlpatterns = [
    path("", views.upload, name="import"),
    path("template.csv", views.template, name="import_template"),
    path("<str:token>/", views.preview, name="import_preview"),
    path("<str:token>/errors.csv", views.errors_download, name="import_errors"),
    path("<str:token>/confirm/", views.confirm, name="import_confirm"),
    path("<str:token>/discard/", views.discard, name="import_discard"),
]
