"""`manage.py seed_demo`: load the demo organizations (SPEC §6). Safe to run again."""

from django.core.management.base import BaseCommand, CommandError

from accountability import demo


class Command(BaseCommand):
    help = "Create the demo organizations Summit Insurance Agency and Northwind Mutual (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help=f"Set every demo user's password back to {demo.DEMO_PASSWORD!r} (otherwise only new users get it).",
        )

    def handle(self, *args, reset_passwords=False, **options):
        try:
            result = demo.seed_demo(reset_passwords=reset_passwords)
        except demo.DemoError as error:
            raise CommandError(error.message) from error
        self._summary(result, reset_passwords)

    def _summary(self, result: demo.SeedResult, reset_passwords: bool) -> None:
        # In the order the steps created things, so later steps' counts show up too.
        created = ", ".join(f"{count} {what}" for what, count in result.created.items() if count)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created or 'nothing new'})."))
        if result.created["users"] or reset_passwords:
            self.stdout.write(f"Demo logins, password {demo.DEMO_PASSWORD}:")
        else:
            self.stdout.write("Demo logins (existing passwords kept; --reset-passwords sets them to the demo one):")
        for login in result.logins:
            where = f"{login.organization}, {login.team}" if login.team else login.organization
            self.stdout.write(f"  {login.email:<32} {login.role:<9} {where}")
