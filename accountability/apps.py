from django.apps import AppConfig


class AccountabilityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accountability"
    verbose_name = "Accountability core"

    def ready(self):
        from . import signals  # noqa: F401  (connects the login/failed-login loggers)
