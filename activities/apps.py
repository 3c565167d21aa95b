from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "activities"

    def ready(self):
        from accountability.signals import week_structure_changed

        from .services.config import week_structure_realign

        week_structure_changed.connect(
            lambda sender, organization, **kwargs: week_structure_realign(organization=organization),
            weak=False,
            dispatch_uid="activities.week_structure_realign",
        )
