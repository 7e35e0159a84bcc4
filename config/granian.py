"""What granian serves (deploy/web): MiniHub's WSGI application in a granian worker.

- Each worker ends with granian's main process: one killed (by the OOM killer or
  an operator) would otherwise leave its workers serving old code on the port,
  holding their database connections, beside the one supervisor starts again.
- MiniHub writes the access line itself: granian's own cannot carry the request id.
"""

import os
import signal

from minihub.core.parent_death import end_with_parent

# Imported in a worker, whose parent is granian's main process: deploy/web names it, so
# that a worker still starting when the main process died knows and exits at once.
# Until granian installs the worker's own handlers (graceful stop), TERM must end it: the
# handler it inherited from the main process (a fork) would only set that one's flags.
signal.signal(signal.SIGTERM, signal.SIG_DFL)
end_with_parent(int(os.environ.get("MINIHUB_WEB_MAIN_PID") or os.getppid()))

from config.wsgi import application as django_application  # noqa: E402
from minihub.core.access_log import AccessLoggedApplication  # noqa: E402

application = AccessLoggedApplication(django_application)
