"""Activities API routes (included at /api/v1/ by accountability.urls_api, after the CSV
import and webhook paths, so `activities/import/` is never taken for an activity id)."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("activity-types", views.ActivityTypeViewSet, basename="api-activity-type")
router.register("expectations", views.ExpectationViewSet, basename="api-expectation")
router.register("integration-keys", views.IntegrationKeyViewSet, basename="api-integration-key")
router.register("activities", views.ActivityViewSet, basename="api-activity")

urlpatterns = router.urls
