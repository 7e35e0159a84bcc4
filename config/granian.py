"""What granian serves (deploy/web): MiniHub's WSGI application in a granian worker.

- Each worker ends with granian's main process: one killed (by the OOM killer or
  an operator) would otherwise leave its workers serving old code on the port,
  holding their database connections, beside the one supervisor starts again.
- MiniHub writes the access line itself: granian's own cannot carry the request id.
"""

import os

from minihub.core.parent_death import end_with_parent

end_with_parent(os.getppid())  # imported in the worker: its parent is granian's main process

from config.wsgi import application as django_application  # noqa: E402
from minihub.core.access_log import AccessLoggedApplication  # noqa: E402

application = AccessLoggedApplication(django_application)
