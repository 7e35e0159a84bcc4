"""`manage.py datatier_status`: the Redis master this server uses and each read replica's state.

Printed by `minihubctl ENV status` and the deploy's pre-check. The replicas are
checked once, now, by the rule the request path uses (minihub/core/replicas.py);
a process checking for the first time has no earlier measure, so during a
primary outage it reports a replica out where a running server may still use it.
Exits 1 when no Redis master can be found; a replica out of rotation is a state,
not a failure (reads go to the primary).
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.db_router import replica_aliases
from minihub.core.redis import current_master, get_redis
from minihub.core.replicas import ReplicaMonitor, max_lag_seconds


class Command(BaseCommand):
    help = "Print the Redis master in use and each read replica's state (in rotation or why not)."

    def handle(self, *args, **options):
        redis_ok = self._report_redis()
        self._report_replicas()
        if not redis_ok:
            raise CommandError("no Redis master answers")

    def _report_redis(self) -> bool:
        if not settings.REDIS_URL:
            self.stdout.write("redis master: in-process fakeredis (no REDIS_URL)")
            return True
        sentinels = getattr(settings, "REDIS_SENTINELS", ())
        source = (
            f"from Sentinel {', '.join(f'{host}:{port}' for host, port in sentinels)}, "
            f"master name {settings.REDIS_SENTINEL_MASTER}"
            if sentinels
            else "from REDIS_URL"
        )
        try:
            master = current_master()
            get_redis().ping()
        except Exception as exc:  # any failure is what the operator needs to read
            self.stdout.write(f"redis master: unknown ({source}): {type(exc).__name__}: {exc}")
            return False
        self.stdout.write(f"redis master: {master} ({source}), answering")
        return True

    def _report_replicas(self) -> None:
        aliases = replica_aliases()
        if not aliases:
            self.stdout.write("replicas: none (every read on the primary)")
            return
        monitor = ReplicaMonitor(aliases, max_lag_seconds())
        try:
            for alias in aliases:
                state = monitor.check(alias)
                config = settings.DATABASES[alias]
                lag = "" if state.lag_seconds is None else f", {state.lag_seconds:.0f} s behind"
                self.stdout.write(
                    f"replica {alias} {config['HOST']}:{config['PORT']}: "
                    f"{'in rotation' if state.in_rotation else 'out of rotation'} "
                    f"({state.reason}{lag}; limit {monitor.max_lag_seconds:g} s)"
                )
        finally:
            monitor.close()
