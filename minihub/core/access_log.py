"""gunicorn's access log, one line per request, at a fraction of the cost.

gunicorn formats each line from a dictionary of every request header, response
header and WSGI variable, then passes it through `logging`, whose handler lock the
threads of a gthread worker queue on: a large part of a small request's time
(bench/README.md has the profile). Writing to stdout (the shipped
`accesslog = "-"`, a pipe to supervisord), this logger builds the same line
directly and hands it to one os.write: lines under PIPE_BUF bytes reach the pipe
whole without any lock. Any other access log setting goes through gunicorn's own
code.

`logger_class` in deploy/gunicorn.conf.py; the line is ACCESS_LOG_FORMAT's.
"""

import contextlib
import os

from gunicorn.glogging import Logger

ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" rid=%({x-request-id}o)s'
STDOUT = 1


def _request_id(headers) -> str:
    for name, value in headers:
        if name.lower() == "x-request-id":
            return value
    return "-"


def access_line(resp, environ, request_time) -> str:
    """ACCESS_LOG_FORMAT's line, built without gunicorn's atoms dictionary."""
    status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
    sent = getattr(resp, "sent", None)
    millis = request_time.seconds * 1000 + request_time.microseconds // 1000
    return (
        f"{environ.get('REMOTE_ADDR', '-')} "
        f'"{environ["REQUEST_METHOD"]} {environ["RAW_URI"]} {environ["SERVER_PROTOCOL"]}" '
        f"{status} {sent if sent is not None else '-'} {millis}ms "
        f'"{environ.get("HTTP_USER_AGENT", "-")}" rid={_request_id(resp.headers)}\n'
    )


class AccessLogger(Logger):
    def access(self, resp, req, environ, request_time):
        if self.cfg.accesslog != "-" or self.cfg.access_log_format != ACCESS_LOG_FORMAT:
            super().access(resp, req, environ, request_time)
            return
        # A closed stdout must not fail the request.
        with contextlib.suppress(OSError):
            os.write(STDOUT, access_line(resp, environ, request_time).encode("utf-8", "replace"))
