"""The WeChat paths: real paths, real JSON shapes, real error codes (see docs/wechat.md)."""

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from .errors import WeChatError
from .jpeg import wxacode_jpeg
from .state import State
from .wire import Hold, Reply, Request, json_reply

RISKY_WORDS = ("risky-word", "违规", "赌博")
REVIEW_WORDS = ("review-word",)
LABEL_NORMAL = 100
LABEL_RISKY = 20001
MSG_SEC_CHECK_MAX_CHARS = 2500
SCENE_PATTERN = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
DEFAULT_PAGE = "pages/index/index"
DEFAULT_WIDTH = 430
MINIPROGRAM_STATES = ("developer", "trial", "formal")
LANGS = ("zh_CN", "en_US", "zh_HK", "zh_TW")
ENV_VERSIONS = ("release", "trial", "develop")


def _field(data: dict, name: str, kind: type, errcode: int = 47001):
    """data[name], None when absent; a value of another type is answered with `errcode`."""
    value = data.get(name)
    if value is None:
        return None
    # JSON true/false must not pass for numbers (bool is an int in Python), nor numbers for them.
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
        raise WeChatError(errcode)
    return value


def _caller_appid(state: State, request: Request) -> str:
    return state.tokens.appid_for(request.query.get("access_token"), state.now())


def code2session(state: State, request: Request) -> dict:
    query = request.query
    state.check_app(query.get("appid"), query.get("secret"))
    if query.get("grant_type") != "authorization_code":
        raise WeChatError(40002)
    if not query.get("js_code"):
        raise WeChatError(41008)
    entry = state.login_codes.redeem(query["js_code"], query["appid"], state.now())
    # A blocked user's code is spent like any other: retrying it cannot succeed.
    if entry.payload["blocked"]:
        raise WeChatError(40226)
    answer = {"openid": entry.payload["openid"], "session_key": entry.payload["session_key"]}
    if entry.payload["unionid"]:
        answer["unionid"] = entry.payload["unionid"]
    return answer


def get_token(state: State, request: Request) -> dict:
    query = request.query
    if query.get("grant_type") != "client_credential":
        raise WeChatError(40002)
    state.check_app(query.get("appid"), query.get("secret"))
    token, expires_in = state.tokens.issue_basic(query["appid"], state.now())
    return {"access_token": token, "expires_in": expires_in}


def stable_token(state: State, request: Request) -> dict:
    body = request.wechat_json()
    if body.get("grant_type") != "client_credential":
        raise WeChatError(40002)
    appid, secret = _field(body, "appid", str), _field(body, "secret", str)
    force_refresh = _field(body, "force_refresh", bool) or False
    state.check_app(appid, secret)
    token, expires_in = state.tokens.stable(appid, state.now(), force_refresh)
    return {"access_token": token, "expires_in": expires_in}


def phone_number(state: State, request: Request) -> dict:
    appid = _caller_appid(state, request)
    code = _field(request.wechat_json(), "code", str)
    if not code:
        raise WeChatError(47001)
    now = state.now()
    entry = state.phone_codes.redeem(code, appid, now)
    country_code, pure = entry.payload["country_code"], entry.payload["pure"]
    return {
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": f"+{country_code}{pure}",
            "purePhoneNumber": pure,
            "countryCode": country_code,
            "watermark": {"timestamp": int(now), "appid": appid},
        },
    }


def subscribe_send(state: State, request: Request) -> dict:
    appid = _caller_appid(state, request)
    body = request.wechat_json()
    touser = _field(body, "touser", str, errcode=47003)
    template_id = _field(body, "template_id", str, errcode=47003)
    data = _field(body, "data", dict, errcode=47003)
    page = _field(body, "page", str, errcode=47003)
    mp_state = _field(body, "miniprogram_state", str, errcode=47003) or "formal"
    lang = _field(body, "lang", str, errcode=47003) or "zh_CN"
    if not (touser and template_id and data):
        raise WeChatError(47003)
    if mp_state not in MINIPROGRAM_STATES or lang not in LANGS:
        raise WeChatError(47003)
    message = {
        "appid": appid,
        "touser": touser,
        "template_id": template_id,
        "page": page,
        "data": data,
        "miniprogram_state": mp_state,
        "lang": lang,
        "time": int(state.now()),
    }
    return {"errcode": 0, "errmsg": "ok", "msgid": state.record_message(message)}


def _judge(content: str) -> tuple[str, int, str | None]:
    """(suggest, label, keyword hit) for a text, from the built-in word lists."""
    lowered = content.lower()
    for word in RISKY_WORDS:
        if word in lowered:
            return "risky", LABEL_RISKY, word
    for word in REVIEW_WORDS:
        if word in lowered:
            return "review", LABEL_NORMAL, word
    return "pass", LABEL_NORMAL, None


def msg_sec_check(state: State, request: Request) -> dict:
    _caller_appid(state, request)
    body = request.wechat_json()
    if _field(body, "version", int, errcode=47003) != 2:
        raise WeChatError(47003)
    if not _field(body, "openid", str, errcode=40003):
        raise WeChatError(40003)
    scene = _field(body, "scene", int, errcode=47003)
    content = _field(body, "content", str, errcode=47003)
    if scene not in (1, 2, 3, 4) or content is None or len(content) > MSG_SEC_CHECK_MAX_CHARS:
        raise WeChatError(47003)
    suggest, label, keyword = _judge(content)
    detail = [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label}]
    if keyword:
        detail.append(
            {
                "strategy": "keyword",
                "errcode": 0,
                "suggest": suggest,
                "label": label,
                "level": 90,
                "keyword": keyword,
            }
        )
    return {
        "errcode": 0,
        "errmsg": "ok",
        "result": {"suggest": suggest, "label": label},
        "detail": detail,
        "trace_id": secrets.token_hex(12),
    }


def wxacode_unlimit(state: State, request: Request) -> Reply:
    appid = _caller_appid(state, request)
    body = request.wechat_json()
    scene = body.get("scene")
    if not isinstance(scene, str) or not SCENE_PATTERN.fullmatch(scene):
        raise WeChatError(40169)
    page = _field(body, "page", str, errcode=41030) or DEFAULT_PAGE
    if page.startswith("/"):
        raise WeChatError(41030)
    _field(body, "check_path", bool, errcode=47001)
    env_version = _field(body, "env_version", str, errcode=47003) or "release"
    width = _field(body, "width", int, errcode=47001) or DEFAULT_WIDTH
    if env_version not in ENV_VERSIONS:
        raise WeChatError(47003)
    params = {"appid": appid, "scene": scene, "page": page, "width": width, "env": env_version}
    try:
        image = wxacode_jpeg(params)
    except ValueError:
        raise WeChatError(41030) from None
    return Reply(image, content_type="image/jpeg")


@dataclass(frozen=True)
class Route:
    method: str
    handler: Callable[[State, Request], dict | Reply]


WECHAT_ROUTES: dict[str, Route] = {
    "/sns/jscode2session": Route("GET", code2session),
    "/cgi-bin/token": Route("GET", get_token),
    "/cgi-bin/stable_token": Route("POST", stable_token),
    "/wxa/business/getuserphonenumber": Route("POST", phone_number),
    "/cgi-bin/message/subscribe/send": Route("POST", subscribe_send),
    "/wxa/msg_sec_check": Route("POST", msg_sec_check),
    "/wxa/getwxacodeunlimit": Route("POST", wxacode_unlimit),
}


def _run(route: Route, state: State, request: Request) -> Reply:
    if request.method != route.method:
        raise WeChatError(43001 if route.method == "GET" else 43002)
    answer = route.handler(state, request)
    return answer if isinstance(answer, Reply) else json_reply(answer)


def answer_wechat(state: State, request: Request) -> Reply | Hold:
    """Count the call, apply a pending fault, else answer as WeChat would."""
    route = WECHAT_ROUTES[request.path]
    with state.lock:
        state.stats[request.path] += 1
        fault = state.take_fault(request.path)
        if fault is None:
            try:
                return _run(route, state, request)
            except WeChatError as error:
                return json_reply(error.body())
    # The hold happens outside the lock, so other calls go on meanwhile.
    if fault.errcode == "timeout":
        return Hold(fault.delay)
    return json_reply(WeChatError(fault.errcode).body())
