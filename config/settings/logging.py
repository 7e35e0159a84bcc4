"""The LOGGING dict: the seed's per-logger levels and propagation, one formatter per style.

Handlers write to the process's stderr only: where lines end up (supervisor's
log files, rotation) is the process runtime's business, so no two processes
ever share a file handler.
"""

FORMATTERS = {
    "emoji": {
        "()": "minihub.core.logging.EmojiFormatter",
        "format": "[%(asctime)s][%(request_id)s][%(pathname)s(%(funcName)s):%(lineno)d]%(message)s",
    },
    "plain": {
        "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
    },
    "json": {"()": "minihub.core.logging.JsonLinesFormatter"},
}


def build_logging(*, level: str, fmt: str, log_sql: bool) -> dict:
    if fmt not in FORMATTERS:
        raise ValueError(f"LOG_FORMAT must be one of {sorted(FORMATTERS)}, not {fmt!r}")
    handler = {"handlers": ["console"], "level": level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "minihub.core.logging.RequestIdFilter"}},
        "formatters": {fmt: FORMATTERS[fmt]},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["request_id"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": handler,
            # 4xx/5xx lines come from our own error handling, with the request id.
            "django.request": {**handler, "level": "ERROR"},
            "django.server": handler,
            # Every SQL statement at DEBUG: quiet unless asked for (LOG_SQL=1).
            "django.db.backends": {**handler, "level": "DEBUG" if log_sql else "WARNING"},
            "rq.worker": handler,
            "rq.scheduler": handler,
            "minihub": handler,
            # At DEBUG urllib3 logs full URLs, and code2Session carries the
            # appsecret in its query string: never below WARNING.
            "urllib3": {**handler, "level": "WARNING"},
        },
    }
