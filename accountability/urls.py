from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .views import health, home, mfa, notifications

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read/", notifications.notification_mark_read, name="notifications_read"),
    path("accounts/mfa/", mfa.mfa_status, name="mfa_status"),
    path("accounts/mfa/setup/", mfa.mfa_setup, name="mfa_setup"),
    path("accounts/mfa/verify/", mfa.mfa_verify, name="mfa_verify"),
    path("accounts/mfa/disable/", mfa.mfa_disable, name="mfa_disable"),
    path("accounts/", include("accountability.urls_auth")),
    path("settings/", include("accountability.urls_settings")),
    path("activities/", include("activities.urls")),
    path("scoring/", include("scoring.urls")),
    path("api/v1/", include("accountability.urls_api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
