"""Every case the fuzzer (tests/test_fuzz.py) found, kept as a plain regression test.

1. More than DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) query parameters on an operation that reads
   its query: Django's TooManyFieldsSent reached the catch-all handler, a 500 internal_error.
   Now a 400 bad_request in the envelope, documented for every such operation.
2. The same, with a charset in the Content-Type (any method, any path, even /ping): Django's
   request constructor parsed the query string while setting its encoding, and the exception
   escaped the WSGI handler before any middleware: the server's bare 500, no envelope, no
   request id. MiniHub's WSGI handler (minihub.core.wsgi) parses it only when it is used.
"""

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.test import RequestFactory
from werkzeug.test import Client

from config.api import api
from minihub.core.wsgi import MiniHubWSGIRequest, get_wsgi_application
from tests.conftest import APPID_A
from tests.helpers import app_headers, log_in

TOO_MANY = "&".join(f"p{i}=1" for i in range(1001))
JUST_ENOUGH = "&".join(f"p{i}=1" for i in range(999))
# The operations that read their query string, with what they need besides.
QUERY_OPERATIONS = [
    "/albums?",
    "/me/favorites?",
    "/qrcode?scene=fuzz&",
    f"/wechat/push/{APPID_A}?",
]


@pytest.fixture
def token_a(client, tenants, wechat):
    return log_in(client, wechat, APPID_A, "regression-openid")["token"]


def documented_statuses(method: str, path: str) -> set[str]:
    operations = api.get_openapi_schema()["paths"]["/api/v2" + path]
    return {str(status) for status in operations[method]["responses"]}


@pytest.mark.parametrize("url", QUERY_OPERATIONS)
def test_too_many_query_parameters_are_a_documented_400(client, token_a, url):
    response = client.get("/api/v2" + url + TOO_MANY, **app_headers(APPID_A, token_a))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert error["request_id"] == response["X-Request-ID"]
    assert "400" in documented_statuses("get", url.split("?")[0].replace(APPID_A, "{appid}"))


@pytest.mark.parametrize("url", QUERY_OPERATIONS[:2])
def test_unknown_query_parameters_below_the_limit_are_ignored(client, token_a, url):
    response = client.get("/api/v2" + url + JUST_ENOUGH, **app_headers(APPID_A, token_a))
    assert response.status_code == 200, response.content


@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/v2/ping", 200), ("/api/v2/albums", 400), (f"/api/v2/wechat/push/{APPID_A}", 400)],
)
@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "text/plain;charset=latin-1"]
)
def test_a_charset_and_too_many_parameters_are_answered_by_the_api(
    tenants, path, status, content_type
):
    """Through the WSGI application, as gunicorn calls it, not Django's test client."""
    response = Client(get_wsgi_application()).get(
        f"{path}?{TOO_MANY}",
        headers={"Content-Type": content_type, "X-Mini-Program": APPID_A},
    )
    assert response.status_code == status
    assert response.headers["X-Request-ID"]
    if status == 400:
        assert response.json["error"]["code"] == "bad_request"


def test_the_request_still_decodes_its_query_with_the_declared_charset():
    environ = RequestFactory().get("/api/v2/ping?q=%E9").environ
    request = MiniHubWSGIRequest({**environ, "CONTENT_TYPE": "text/plain; charset=latin-1"})
    assert request.GET["q"] == "é"
    # Changing the encoding later re-parses, as Django's own request does.
    request.encoding = "utf-8"
    assert request.GET["q"] == "\ufffd"
    assert issubclass(MiniHubWSGIRequest, WSGIRequest)


def test_the_deployed_entry_point_is_minihubs_handler():
    from config.wsgi import application
    from minihub.core.wsgi import MiniHubWSGIHandler

    assert isinstance(application, MiniHubWSGIHandler)
