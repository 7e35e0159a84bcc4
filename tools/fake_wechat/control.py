"""The /__fake__ control endpoints that tests and `make run` use to steer the fake."""

import base64
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ControlError
from .state import Fault, State
from .wechat_api import WECHAT_ROUTES
from .wire import Reply, Request, json_reply

DEFAULT_TIMEOUT_DELAY = 10.0
# "+<country code> <number>" (space or dash), or a mainland number with or without +86.
INTERNATIONAL_PHONE = re.compile(r"\+(\d{1,3})[ -](\d{4,15})")
MAINLAND_PHONE = re.compile(r"(?:\+86)?(\d{5,15})")


def _required_str(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ControlError(f"{name!r} must be a non-empty string")
    return value


def _optional_str(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ControlError(f"{name!r} must be a string")
    return value or None


def _optional_bool(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ControlError(f"{name!r} must be true or false")
    return value


def _optional_seconds(body: dict, name: str, default: float = 0.0) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ControlError(f"{name!r} must be a number of seconds >= 0")
    return float(value)


def _age(body: dict) -> float:
    # age_seconds backdates a code, so tests can see the 5-minute expiry without waiting.
    return _optional_seconds(body, "age_seconds")


def parse_phone(phone: str) -> tuple[str, str]:
    """(countryCode, purePhoneNumber) of "13800138000", "+8613800138000" or "+1 2025550123"."""
    match = INTERNATIONAL_PHONE.fullmatch(phone) or MAINLAND_PHONE.fullmatch(phone)
    if match is None:
        raise ControlError("'phone' must look like 13800138000, +8613800138000 or +1 2025550123")
    return (match[1], match[2]) if match.re is INTERNATIONAL_PHONE else ("86", match[1])


def register_app(state: State, request: Request) -> dict:
    body = request.control_json()
    appid, secret = _required_str(body, "appid"), _required_str(body, "secret")
    state.apps[appid] = secret
    return {"appid": appid}


def create_login_code(state: State, request: Request) -> dict:
    body = request.control_json()
    appid = _required_str(body, "appid")
    payload = {
        "openid": _required_str(body, "openid"),
        "unionid": _optional_str(body, "unionid"),
        # Like WeChat's: 16 random bytes, base64 (24 characters).
        "session_key": _optional_str(body, "session_key")
        or base64.b64encode(secrets.token_bytes(16)).decode(),
        "blocked": _optional_bool(body, "blocked"),
    }
    code = state.login_codes.create(appid, payload, state.now(), _age(body))
    return {"code": code, "session_key": payload["session_key"]}


def create_phone_code(state: State, request: Request) -> dict:
    body = request.control_json()
    appid = _required_str(body, "appid")
    country_code, pure = parse_phone(_required_str(body, "phone"))
    payload = {"country_code": country_code, "pure": pure}
    return {"code": state.phone_codes.create(appid, payload, state.now(), _age(body))}


def _fault_errcode(body: dict) -> int | str:
    errcode = body.get("errcode")
    if errcode == "timeout" or (isinstance(errcode, int) and not isinstance(errcode, bool)):
        return errcode
    raise ControlError("'errcode' must be an integer or \"timeout\"")


def set_fault(state: State, request: Request) -> dict:
    body = request.control_json()
    path = _required_str(body, "path")
    if path not in WECHAT_ROUTES:
        raise ControlError(f"'path' must be one of {sorted(WECHAT_ROUTES)}")
    errcode = _fault_errcode(body)
    times = body.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ControlError("'times' must be an integer >= 1")
    delay = _optional_seconds(body, "delay", DEFAULT_TIMEOUT_DELAY)
    state.faults[path] = Fault(errcode, times, delay)
    return {"path": path, "errcode": errcode, "times": times}


def list_messages(state: State, request: Request) -> dict:
    appid = request.query.get("appid")
    return {"messages": [m for m in state.messages if appid is None or m["appid"] == appid]}


def stats(state: State, request: Request) -> dict:
    return {path: state.stats[path] for path in WECHAT_ROUTES}


def reset(state: State, request: Request) -> dict:
    state.reset()
    return {"reset": True}


def advance_clock(state: State, request: Request) -> dict:
    # Moves the fake's clock forward, so token lifetimes and force_refresh
    # spacing can be tested without waiting.
    state.clock_shift += _optional_seconds(request.control_json(), "seconds")
    return {"now": state.now()}


@dataclass(frozen=True)
class ControlRoute:
    method: str
    handler: Callable[[State, Request], dict]


CONTROL_ROUTES: dict[str, ControlRoute] = {
    "/__fake__/apps": ControlRoute("POST", register_app),
    "/__fake__/codes": ControlRoute("POST", create_login_code),
    "/__fake__/phone-codes": ControlRoute("POST", create_phone_code),
    "/__fake__/faults": ControlRoute("POST", set_fault),
    "/__fake__/messages": ControlRoute("GET", list_messages),
    "/__fake__/stats": ControlRoute("GET", stats),
    "/__fake__/reset": ControlRoute("POST", reset),
    "/__fake__/clock": ControlRoute("POST", advance_clock),
}


def answer_control(state: State, request: Request) -> Reply:
    route = CONTROL_ROUTES[request.path]
    if request.method != route.method:
        return json_reply({"error": f"use {route.method}"}, status=405)
    try:
        with state.lock:
            return json_reply(route.handler(state, request))
    except ControlError as error:
        return json_reply({"error": str(error)}, status=400)
