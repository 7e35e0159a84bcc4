"""API answers are UTF-8 JSON with Chinese text as itself, not \\uXXXX escapes."""

import json

from tests.conftest import APPID_A
from tests.helpers import app_headers
from tests.test_albums import make_album

TITLES = ["月亮代表我的心", "晴天", "七里香 🎵", "稻香", "夜曲", "青花瓷", "东风破", "简单爱"]


def test_an_album_page_of_chinese_titles_is_utf8_not_escaped(client, tenants):
    for title in TITLES:
        make_album(tenants.a, title=title)
    response = client.get("/api/v2/albums", **app_headers(APPID_A))
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.content
    assert "七里香 🎵".encode() in body
    assert b"\\u" not in body
    data = json.loads(body)
    assert {item["title"] for item in data["items"]} == set(TITLES)
    escaped = json.dumps(data).encode()  # what the same page weighed before
    print(f"album page of {len(TITLES)} Chinese titles: {len(body)} bytes, escaped {len(escaped)}")
    assert len(body) < len(escaped)
