"""The test suite's settings: pytest and scripts/test.env name this module.

They are the staging environment's (config.settings.test), so that the suite checks what
is deployed; a module of the suite's own keeps its needs from ever changing staging.
Child processes that stand for a deployed server (RQ workers, gunicorn, manage.py; see
tests/helpers.py's test_process_env) run config.settings.test itself.
"""

from config.settings.test import *  # noqa: F403

# In-process tests read the figures right after their requests: each request writes its
# own. The buffered writes deployed servers make (FIGURES_FLUSH_SECONDS = 1) have tests of
# their own in tests/test_dashboard.py, and run in every gunicorn the system tests start.
FIGURES_FLUSH_SECONDS = 0
