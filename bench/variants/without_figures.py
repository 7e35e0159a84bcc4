"""config.settings.test without FiguresMiddleware: what counting the dashboard's figures
costs a request is the difference between the two."""

from config.settings.test import *  # noqa: F403

MIDDLEWARE = [m for m in MIDDLEWARE if not m.endswith(".FiguresMiddleware")]  # noqa: F405
