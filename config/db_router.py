"""Database router: app label -> database alias, from settings.DATABASE_APPS_MAPPING.

Apps not in the mapping live on `default`; their reads may go to a read
replica (`replica_N` aliases) when DATABASE_REPLICA_URLS is set, among those a
background check finds in step (minihub/core/replicas.py); with none, the primary. Tables are
created only on the alias that owns them: Django calls `allow_migrate` (the
seed's `db_for_migrate` was never called, so everything migrated everywhere).
"""

import random

from django.conf import settings

from minihub.core.replicas import REPLICA_PREFIX, replicas_in_rotation

DEFAULT_ALIAS = "default"


def alias_for_app(app_label: str) -> str:
    return settings.DATABASE_APPS_MAPPING.get(app_label, DEFAULT_ALIAS)


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


class DatabaseAppsRouter:
    def db_for_read(self, model, **hints):
        alias = alias_for_app(model._meta.app_label)
        if alias != DEFAULT_ALIAS:
            return alias
        if hints.get("instance") is not None:
            return None  # related objects: stay on the database the instance came from
        replicas = replicas_in_rotation(replica_aliases())
        if replicas:
            return random.choice(replicas)  # noqa: S311 - load spreading, not security
        return alias

    def db_for_write(self, model, **hints):
        return alias_for_app(model._meta.app_label)

    def allow_relation(self, obj1, obj2, **hints):
        """Relations only between objects whose tables share a database."""
        return alias_for_app(obj1._meta.app_label) == alias_for_app(obj2._meta.app_label)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db.startswith(REPLICA_PREFIX):
            return False
        return alias_for_app(app_label) == db
