"""Exemptions API routes (included at /api/v1/ by accountability.urls_api)."""

from rest_framework.routers import SimpleRouter

from .exemptions import ExemptionViewSet

router = SimpleRouter()
router.register("exemptions", ExemptionViewSet, basename="api-exemption")

urlpatterns = router.urls
