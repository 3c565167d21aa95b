from django.contrib import admin

from .models import Activity, ActivityType, Expectation, IntegrationKey, WeekRecompute


@admin.register(ActivityType)
class ActivityTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "category", "points", "requires_evidence", "tracks_value", "active"]
    list_filter = ["organization", "category", "active"]


@admin.register(Expectation)
class ExpectationAdmin(admin.ModelAdmin):
    list_display = ["activity_type", "team", "target", "effective_from", "effective_to", "organization"]
    list_filter = ["organization"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "producer", "activity_type", "quantity", "status", "needs_review", "source"]
    list_filter = ["organization", "status", "needs_review", "source"]
    list_select_related = ["producer", "activity_type"]
    raw_id_fields = ["producer", "reviewed_by", "logged_by"]


@admin.register(IntegrationKey)
class IntegrationKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "source_label", "key_id", "active", "last_used_at"]
    exclude = ["secret"]


@admin.register(WeekRecompute)
class WeekRecomputeAdmin(admin.ModelAdmin):
    list_display = ["producer", "week_start", "reason", "created_at"]
