"""MiniHub's access log: one line per request, the same line under either web server.

ACCESS_LOG_FORMAT is gunicorn's format syntax. Under gunicorn, `AccessLogger`
writes it: gunicorn formats each line from a dictionary of every request header,
response header and WSGI variable, then passes it through `logging`, whose handler
lock the threads of a gthread worker queue on: a large part of a small request's
time (bench/README.md has the profile). Writing to stdout (the shipped
`accesslog = "-"`, a pipe to supervisord), this logger builds the same line
directly and hands it to one os.write: lines under PIPE_BUF bytes reach the pipe
whole without any lock. Any other access log setting goes through gunicorn's own
code.

Under granian, whose access line cannot carry a response header (the request id),
`AccessLoggedApplication` wraps the WSGI application and writes the same line
(config/granian.py); granian's own access log is off.
"""

import contextlib
import os
import time
from urllib.parse import quote

from gunicorn.glogging import Logger

ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" rid=%({x-request-id}o)s'
STDOUT = 1
# Characters a request path may carry as they are (RFC 3986 pchar and "/").
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def _request_id(headers) -> str:
    for name, value in headers:
        if name.lower() == "x-request-id":
            return value
    return "-"


def _request_uri(environ) -> str:
    """The request target as the client sent it: gunicorn's RAW_URI, else rebuilt."""
    raw = environ.get("RAW_URI")
    if raw is not None:
        return raw
    # PATH_INFO is the decoded path as latin-1 (PEP 3333): encode it back.
    path = quote(environ.get("PATH_INFO", "").encode("latin-1", "replace"), safe=_PATH_SAFE)
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


def format_line(environ, status, sent, millis: int, headers) -> str:
    """ACCESS_LOG_FORMAT's line, built without gunicorn's atoms dictionary."""
    code = status.split(None, 1)[0] if isinstance(status, str) else status
    return (
        f"{environ.get('REMOTE_ADDR', '-')} "
        f'"{environ["REQUEST_METHOD"]} {_request_uri(environ)} {environ["SERVER_PROTOCOL"]}" '
        f"{code} {sent if sent is not None else '-'} {millis}ms "
        f'"{environ.get("HTTP_USER_AGENT", "-")}" rid={_request_id(headers)}\n'
    )


def access_line(resp, environ, request_time) -> str:
    """The line for gunicorn's response object and request time (a timedelta)."""
    millis = request_time.seconds * 1000 + request_time.microseconds // 1000
    return format_line(environ, resp.status, getattr(resp, "sent", None), millis, resp.headers)


def write_line(line: str) -> None:
    # A closed stdout must not fail the request.
    with contextlib.suppress(OSError):
        os.write(STDOUT, line.encode("utf-8", "replace"))


class AccessLogger(Logger):
    def access(self, resp, req, environ, request_time):
        if self.cfg.accesslog != "-" or self.cfg.access_log_format != ACCESS_LOG_FORMAT:
            super().access(resp, req, environ, request_time)
            return
        write_line(access_line(resp, environ, request_time))


class _Response:
    """What start_response was given."""

    __slots__ = ("headers", "start_response", "status")

    def __init__(self, start_response):
        self.start_response = start_response
        self.status = "500 Internal Server Error"
        self.headers = ()

    def __call__(self, status, headers, exc_info=None):
        self.status, self.headers = status, headers
        return self.start_response(status, headers, exc_info)


class _CountedBody:
    """A streamed body: its bytes are counted as they go, the line written at close."""

    def __init__(self, body, write):
        self._body, self._write, self._sent = body, write, 0

    def __iter__(self):
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk

    def close(self):
        try:
            if hasattr(self._body, "close"):
                self._body.close()
        finally:
            self._write(self._sent)


class AccessLoggedApplication:
    """A WSGI application that writes ACCESS_LOG_FORMAT's line for each request.

    A body Django holds whole is handed back as a one-item list: the line is written
    before the server sends it (its time leaves out the send), and a server that
    takes lists as they are (granian) skips iterating. A streamed body is counted as
    it goes and logged when the server closes it.
    """

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        response = _Response(start_response)

        def write(sent):
            millis = int((time.perf_counter() - started) * 1000)
            write_line(format_line(environ, response.status, sent, millis, response.headers))

        try:
            body = self.application(environ, response)
        except BaseException:
            write(None)
            raise
        if getattr(body, "streaming", True):
            return _CountedBody(body, write)
        content = body.content
        body.close()  # Django's request_finished: the end of the request's database work
        write(len(content))
        return [content]
