"""The Python ceiling: a bare WSGI callable answering what GET /api/v2/ping answers.

`gunicorn bench.baselines.wsgi_app:application -c deploy/gunicorn.conf.py`
"""

BODY = b'{"message": "pong"}'
HEADERS = [
    ("Content-Type", "application/json; charset=utf-8"),
    ("Content-Length", str(len(BODY))),
]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
