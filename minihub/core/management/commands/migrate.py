"""`migrate`, refused where MIGRATIONS_ALLOWED is False (production)."""

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrateCommand


class Command(DjangoMigrateCommand):
    def handle(self, *args, **options):
        if not settings.MIGRATIONS_ALLOWED:
            raise CommandError(
                f"Migrations do not run in this environment ({settings.ENVIRONMENT}): its tables "
                "are created by the DBA. Print the SQL to hand over with "
                "`python manage.py schema_sql --database default` (and --database admin)."
            )
        return super().handle(*args, **options)
