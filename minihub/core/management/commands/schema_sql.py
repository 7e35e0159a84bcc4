"""Print the SQL a DBA runs to bring one database up to date, without running it.

Only the tables the router puts on that database appear; the statements that
record the migrations as applied come last, so a later `migrate` agrees.
"""

from django.core.management.base import BaseCommand
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone


class Command(BaseCommand):
    help = "Print the pending schema SQL for one database alias (for the DBA)."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="database alias")

    def handle(self, *args, database: str, **options):
        connection = connections[database]
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        out = self.stdout
        out.write(f"-- MiniHub schema for database alias '{database}' ({connection.vendor}).")
        if connection.vendor == "mysql":
            out.write(
                "-- The database must be utf8mb4: CREATE DATABASE <name> "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
            )
        if not plan:
            out.write("-- Nothing to do: every migration is applied.")
            return
        recorder = MigrationRecorder(connection)
        if not recorder.has_table():
            with connection.schema_editor(collect_sql=True, atomic=False) as editor:
                editor.create_model(recorder.Migration)
            out.write("\n".join(editor.collected_sql))
        for statement in executor.loader.collect_sql(plan):
            out.write(statement)
        now = timezone.now().strftime("%Y-%m-%d %H:%M:%S")
        table = connection.ops.quote_name(recorder.Migration._meta.db_table)
        for migration, _backwards in plan:
            # Names come from our migration files, not from input.
            out.write(
                f"INSERT INTO {table} (app, name, applied) "  # noqa: S608
                f"VALUES ('{migration.app_label}', '{migration.name}', '{now}');"
            )
