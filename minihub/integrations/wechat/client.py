"""The one client for WeChat's server APIs: timeouts everywhere, retries where safe.

Every call goes through `_call`, which retries -1 (busy), 45011 (minute quota)
and network failures with exponential backoff, then raises a typed error
(`minihub.integrations.wechat.errors`). Token-using calls take the access token
as an argument: the caller owns fetching and caching it (minihub/tenants/access_tokens.py),
because the cache needs the mini-program's stored secret and Redis.
"""

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from django.conf import settings

from minihub.integrations.wechat.errors import (
    NETWORK_ERRCODE,
    RETRYABLE_ERRCODES,
    WeChatError,
    WeChatUnavailable,
    error_for,
)

logger = logging.getLogger(__name__)

MSG_SEC_CHECK_PATH = "/wxa/msg_sec_check"
# msgSecCheck's scenes: 1 profile, 2 comment, 3 forum, 4 social log.
SCENE_PROFILE = 1
SCENE_COMMENT = 2
SUGGESTIONS = ("pass", "review", "risky")

# Told of every attempt: (path, errcode (0: success), seconds). The dashboard app
# registers its recorder here, so this module depends on nothing of MiniHub's.
call_observers: list[Callable[[str, int, float], None]] = []


@dataclass(frozen=True)
class Session:
    openid: str
    session_key: str
    unionid: str


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


@dataclass(frozen=True)
class CheckResult:
    suggest: str  # "pass", "review" or "risky"
    label: int  # 100 normal; otherwise the category WeChat found (see its docs)


@dataclass(frozen=True)
class PhoneInfo:
    phone_number: str
    pure_phone_number: str
    country_code: str
    watermark_appid: str


class WeChatClient:
    def __init__(
        self,
        *,
        base_url: str,
        connect_timeout: float = 2.0,
        read_timeout: float = 5.0,
        attempts: int = 3,
        backoff_seconds: float = 0.2,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.http = requests.Session()

    # --- login ---------------------------------------------------------------
    def code2session(self, *, appid: str, secret: str, code: str) -> Session:
        """Exchange a wx.login code; called with the appsecret, never an access token."""
        data = self._call(
            "GET",
            "/sns/jscode2session",
            params={
                "appid": appid,
                "secret": secret,
                "js_code": code,
                "grant_type": "authorization_code",
            },
        )
        return Session(
            openid=data["openid"], session_key=data["session_key"], unionid=data.get("unionid", "")
        )

    # --- access tokens -------------------------------------------------------------
    def stable_access_token(
        self, *, appid: str, secret: str, force_refresh: bool = False
    ) -> AccessToken:
        data = self._call(
            "POST",
            "/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": appid,
                "secret": secret,
                "force_refresh": force_refresh,
            },
        )
        return AccessToken(token=data["access_token"], expires_in=int(data["expires_in"]))

    def legacy_access_token(self, *, appid: str, secret: str) -> AccessToken:
        """/cgi-bin/token: every call invalidates the previous token; only on request."""
        data = self._call(
            "GET",
            "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": appid, "secret": secret},
        )
        return AccessToken(token=data["access_token"], expires_in=int(data["expires_in"]))

    # --- token-using APIs ------------------------------------------------------------
    def phone_number(self, *, access_token: str, code: str) -> PhoneInfo:
        data = self._call(
            "POST",
            "/wxa/business/getuserphonenumber",
            params={"access_token": access_token},
            json={"code": code},
        )
        info = data["phone_info"]
        return PhoneInfo(
            phone_number=info["phoneNumber"],
            pure_phone_number=info["purePhoneNumber"],
            country_code=str(info["countryCode"]),
            watermark_appid=info.get("watermark", {}).get("appid", ""),
        )

    def msg_sec_check(
        self, *, access_token: str, openid: str, text: str, scene: int = SCENE_COMMENT
    ) -> CheckResult:
        """msgSecCheck v2: WeChat's verdict on `text` written by the user `openid`."""
        answer = self._call(
            "POST",
            MSG_SEC_CHECK_PATH,
            params={"access_token": access_token},
            json={"version": 2, "openid": openid, "scene": scene, "content": text},
        )
        return _verdict(answer)

    def call_with_token(
        self, method: str, path: str, *, access_token: str, json: dict | None = None
    ) -> dict | bytes:
        """The seam for the other token-using APIs (subscribe messages, QR codes)."""
        return self._call(method, path, params={"access_token": access_token}, json=json)

    # --- transport ---------------------------------------------------------------------
    def _call(self, method: str, path: str, *, params=None, json=None) -> dict | bytes:
        last_error: WeChatError | None = None
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            try:
                return self._call_once(method, path, params=params, json=json)
            except WeChatError as exc:
                if exc.errcode not in RETRYABLE_ERRCODES and exc.errcode != NETWORK_ERRCODE:
                    raise
                logger.warning("WeChat %s failed (attempt %d): %s", path, attempt + 1, exc.errcode)
                last_error = exc
        raise WeChatUnavailable(last_error.errcode, last_error.errmsg, path=path)

    def _call_once(self, method: str, path: str, *, params, json) -> dict | bytes:
        started = time.monotonic()
        errcode = 0
        try:
            return self._answer(method, path, params=params, json=json)
        except WeChatError as exc:
            errcode = exc.errcode
            raise
        finally:
            elapsed = time.monotonic() - started
            for observe in call_observers:
                observe(path, errcode, elapsed)

    def _answer(self, method: str, path: str, *, params, json) -> dict | bytes:
        try:
            response = self.http.request(
                method, self.base_url + path, params=params, json=json, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise WeChatError(NETWORK_ERRCODE, type(exc).__name__, path=path) from exc
        if response.status_code >= 500:
            raise WeChatError(NETWORK_ERRCODE, f"HTTP {response.status_code}", path=path)
        if not response.headers.get("Content-Type", "").startswith(("application/json", "text/")):
            return response.content  # images (QR codes); errors always come back as JSON
        try:
            data = response.json()
        except ValueError as exc:
            raise WeChatError(NETWORK_ERRCODE, "answer is not JSON", path=path) from exc
        errcode = int(data.get("errcode", 0) or 0)
        if errcode:
            raise error_for(errcode, str(data.get("errmsg", "")), path=path)
        return data


def _verdict(answer: dict | bytes) -> CheckResult:
    """errcode 0 only says the check ran; the verdict is result.suggest."""
    result = answer.get("result") if isinstance(answer, dict) else None
    suggest = result.get("suggest") if isinstance(result, dict) else None
    label = result.get("label") if isinstance(result, dict) else None
    if isinstance(label, str) and label.isascii() and label.isdigit():
        label = int(label)
    if suggest not in SUGGESTIONS or not isinstance(label, int) or isinstance(label, bool):
        # No verdict is no answer: never guess "pass".
        raise WeChatUnavailable(
            NETWORK_ERRCODE, "msg_sec_check answered without a verdict", path=MSG_SEC_CHECK_PATH
        )
    return CheckResult(suggest=suggest, label=label)


@functools.lru_cache(maxsize=4)
def _client(base_url: str, connect: float, read: float, attempts: int, backoff: float):
    return WeChatClient(
        base_url=base_url,
        connect_timeout=connect,
        read_timeout=read,
        attempts=attempts,
        backoff_seconds=backoff,
    )


def wechat_client() -> WeChatClient:
    """The process's client (one HTTP connection pool), built from settings."""
    return _client(
        settings.WECHAT_API_BASE,
        settings.WECHAT_CONNECT_TIMEOUT_SECONDS,
        settings.WECHAT_READ_TIMEOUT_SECONDS,
        settings.WECHAT_ATTEMPTS,
        settings.WECHAT_BACKOFF_SECONDS,
    )
