from django.db import migrations

BADGES = [
    ("first-activity", "First activity", "Logged a first activity.", "rocket-takeoff"),
    ("streak-4", "4-week streak", "Met every expectation 4 weeks in a row.", "fire"),
    ("streak-12", "12-week streak", "Met every expectation 12 weeks in a row.", "trophy"),
    ("top-of-the-week", "Top of the week", "Most points in the organization this week.", "star"),
    ("perfect-month", "Perfect month", "Met every expectation in every week of a calendar month.", "calendar-check"),
]


def create(apps, schema_editor):
    Badge = apps.get_model("scoring", "Badge")
    for code, name, description, icon in BADGES:
        Badge.objects.update_or_create(code=code, defaults={"name": name, "description": description, "icon": icon})


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
