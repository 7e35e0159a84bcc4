"""Django's WSGI handler with a request that survives any query string."""

import django
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.urls import get_resolver


class MiniHubWSGIRequest(WSGIRequest):
    """Django's request, minus one crash before any middleware runs.

    A Content-Type with a charset makes Django's __init__ set `encoding`, whose setter
    probes `hasattr(self, "GET")`: that parses the query string there and then, and more
    than DATA_UPLOAD_MAX_NUMBER_FIELDS parameters raise TooManyFieldsSent out of the
    handler (the server's bare 500, no envelope). Dropping only what was already parsed
    keeps the setter's meaning; GET is parsed, and refused with a 400, when first used.
    """

    @property
    def encoding(self):
        return self._encoding

    @encoding.setter
    def encoding(self, value):
        self._encoding = value
        self.__dict__.pop("GET", None)  # GET is a cached_property: its value lives here
        if hasattr(self, "_post"):
            del self._post


class MiniHubWSGIHandler(WSGIHandler):
    request_class = MiniHubWSGIRequest


def get_wsgi_application() -> MiniHubWSGIHandler:
    """django.core.wsgi.get_wsgi_application, with MiniHub's handler, ready to serve."""
    django.setup(set_prefix=False)
    handler = MiniHubWSGIHandler()
    # Import the URL modules (the API's routers and schemas: most of a second) while
    # the worker starts, not in its first requests, which would queue behind it.
    get_resolver().url_patterns  # noqa: B018 - read for its import
    return handler
