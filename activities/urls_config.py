"""Leader configuration pages under /activities/settings/ (SPEC §5 Settings)."""

from django.urls import path

from . import views_config as views

urlpatterns = [
    path("types/", views.types, name="types"),
    path("types/new/", views.type_create, name="type_create"),
    path("types/<int:pk>/", views.type_edit, name="type_edit"),
    path("expectations/", views.expectations, name="expectations"),
    path("expectations/set/", views.expectation_set, name="expectation_set"),
    path("expectations/<int:pk>/end/", views.expectation_end, name="expectation_end"),
    path("keys/", views.keys, name="keys"),
    path("keys/new/", views.key_create, name="key_create"),
    path("keys/<int:pk>/rotate/", views.key_rotate, name="key_rotate"),
    path("keys/<int:pk>/toggle/", views.key_toggle, name="key_toggle"),
]
