"""Exemption pages, in the `scoring` namespace: the list / queue, the request form, decisions."""

from django.urls import path

from . import views_exemptions as views

urlpatterns = [
    path("", views.exemptions, name="exemptions"),
    path("request/", views.exemption_new, name="exemption_request"),
    path("<int:pk>/approve/", views.exemption_approve_view, name="exemption_approve"),
    path("<int:pk>/reject/", views.exemption_reject_view, name="exemption_reject"),
    path("<int:pk>/cancel/", views.exemption_cancel_view, name="exemption_cancel"),
]
