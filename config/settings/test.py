"""The test environment (staging): production-like, migrations allowed."""

from config.settings.deployed import *  # noqa: F403
from config.settings.deployed import SENTRY_DSN
from config.settings.sentry import init_sentry

ENVIRONMENT = "test"
init_sentry(dsn=SENTRY_DSN, environment=ENVIRONMENT)
