"""Helpers shared by the tests: running manage.py in a child process with a chosen environment."""

import os
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

MASTER_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.master",
    "SECRET_KEY": "a-long-production-like-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "DATABASE_URL": os.environ["DATABASE_URL"],
    "ADMIN_DATABASE_URL": os.environ["ADMIN_DATABASE_URL"],
    "REDIS_URL": os.environ["REDIS_URL"],
    "FIELD_ENCRYPTION_KEYS": os.environ["FIELD_ENCRYPTION_KEYS"],
    "ALLOWED_HOSTS": "api.example.com",
    "TRUSTED_PROXY_IPS": "127.0.0.1",
}


def test_process_env(**overrides: str) -> dict[str, str]:
    """The environment of a child process that works on this test run's databases."""
    from django.conf import settings
    from django.db import connections

    def url_of(alias: str) -> str:
        base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        return f"{base}/{connections[alias].settings_dict['NAME']}"

    env = {
        name: os.environ[name]
        for name in (
            "SECRET_KEY",
            "REDIS_URL",
            "FIELD_ENCRYPTION_KEYS",
            "ALLOWED_HOSTS",
            "DATABASE_POOL_SIZE",
        )
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=url_of("default"),
        ADMIN_DATABASE_URL=url_of("admin"),
        TENANT_LOCAL_CACHE_SECONDS="0",
        # Where this test pointed WeChat (the fake server), not the real one.
        WECHAT_API_BASE=settings.WECHAT_API_BASE,
        # The system tests' nginx runs on this machine (and master requires the variable).
        TRUSTED_PROXY_IPS="127.0.0.1",
    )
    env.update(overrides)
    return env


test_process_env.__test__ = False  # a helper, not a test, wherever it is imported


def clear_of_window_edge(window_seconds: int, margin_seconds: float = 15) -> None:
    """Limits count in fixed windows: hits that straddle a window's end start a new
    count. Wait (rarely, at most margin_seconds) until they cannot."""
    left = window_seconds - time.time() % window_seconds
    if left < margin_seconds:
        time.sleep(left + 0.1)


def manage(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    """Run manage.py with exactly `env` (plus PATH), as a fresh process."""
    child_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def json_post(client, path: str, body, **headers):
    return client.post("/api/v2" + path, data=body, content_type="application/json", **headers)


def app_headers(appid: str, token: str | None = None) -> dict[str, str]:
    headers = {"HTTP_X_MINI_PROGRAM": appid}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return headers


def log_in(client, wechat, appid: str, openid: str, **code_options) -> dict:
    """Log a user in through the fake WeChat server; the answer's JSON."""
    code = wechat.login_code(appid, openid, **code_options)
    response = json_post(client, "/auth/login", {"code": code}, **app_headers(appid))
    assert response.status_code == 200, response.content
    return response.json()
