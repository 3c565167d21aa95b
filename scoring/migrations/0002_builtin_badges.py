from django.db import migrations

from scoring.badges import BUILTIN_BADGES


def create(apps, schema_editor):
    Badge = apps.get_model("scoring", "Badge")
    for code, (name, description, icon) in BUILTIN_BADGES.items():
        Badge.objects.update_or_create(code=code, defaults={"name": name, "description": description, "icon": icon})


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
