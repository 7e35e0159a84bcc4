"""/api/v2/docs loads nothing from outside: django-ninja's own Swagger assets, served by MiniHub."""

import re
import urllib.request
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

ASSET_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def asset_urls(html: str) -> list[str]:
    return [url for url in ASSET_URL.findall(html) if not url.startswith("#")]


def test_docs_page_references_only_same_origin_assets(client):
    response = client.get("/api/v2/docs")
    assert response.status_code == 200
    html = response.content.decode()
    urls = asset_urls(html)
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls), urls
    for url in urls:
        assert not urlsplit(url).netloc, f"{url} is not served by MiniHub"
        assert url.startswith("/static/ninja/"), url
        assert finders.find(url.removeprefix("/static/")), f"{url} is not a static file"


def test_docs_assets_answer_200_over_http(live_server):
    with urllib.request.urlopen(live_server.url + "/api/v2/docs") as page:  # noqa: S310
        html = page.read().decode()
    urls = asset_urls(html)
    assert len(urls) >= 3, urls
    for url in urls:
        with urllib.request.urlopen(urljoin(live_server.url, url)) as asset:  # noqa: S310
            assert asset.status == 200, url
            assert len(asset.read()) > 100, url
