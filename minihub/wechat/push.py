"""WeChat's message push: URL verification, plain and safe (AES) mode, replay window, dedupe.

The signature is checked before anything is decrypted or stored, so forged
requests cost a hash and learn nothing. Each accepted message is stored once
(WeChat retries a push it got no "success" for within 15 s, and anyone can
replay a captured one) and handled by a job.
"""

import hashlib
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass

import defusedxml
from defusedxml import ElementTree as SafeElementTree
from django.db import transaction

from minihub.core.errors import ApiError
from minihub.core.parsers import json_depth
from minihub.core.redis import get_redis
from minihub.tenants.models import ENCRYPTED_PUSH_MODES, MiniProgram
from minihub.tenants.selectors import enabled_tenant_get, miniprogram_get
from minihub.tenants.validators import APPID_PATTERN
from minihub.wechat import crypto
from minihub.wechat.models import PushEvent
from minihub.wechat.push_events import push_event_enqueue

REPLAY_WINDOW_SECONDS = 300
SEEN_KEY = "wechat:push-seen:{appid}:{dedupe_key}"
SEEN_TTL_SECONDS = 3 * 24 * 3600
NONCE_KEY = "wechat:push-nonce:{appid}:{digest}"
# A timestamp is fresh from REPLAY_WINDOW_SECONDS before it to as long after it.
NONCE_TTL_SECONDS = 2 * REPLAY_WINDOW_SECONDS + 60
MAX_NESTING = 16
MSG_TYPE_MAX_CHARS = 32
EVENT_MAX_CHARS = 64


@dataclass(frozen=True)
class PushMessage:
    msg_type: str
    event: str
    dedupe_key: str
    payload: dict


def push_url_verify(*, appid: str, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    """GET: WeChat checks that the URL is ours; the answer is echostr, unchanged."""
    program = _push_program(appid)
    _require_signature(program, signature=signature, timestamp=timestamp, nonce=nonce)
    return echostr


def push_message_receive(
    *,
    appid: str,
    signature: str,
    timestamp: str,
    nonce: str,
    encrypt_type: str,
    msg_signature: str,
    body: bytes,
) -> PushEvent | None:
    """POST: store a pushed message once and have a job handle it; None for a repeat.

    Only the mini-program's configured push mode is accepted: with an
    EncodingAESKey in use, a plain push (whose signature does not cover the
    body) would let anyone who saw one push URL post any body.
    """
    program = _push_program(appid)
    if encrypt_type not in ("", "raw", "aes"):
        raise ApiError("bad_request", f"Unknown encrypt_type {encrypt_type[:16]!r}.")
    encrypted = encrypt_type == "aes"
    if encrypted != (program.push_mode in ENCRYPTED_PUSH_MODES):
        raise ApiError(
            "forbidden", f"This mini-program receives pushes in {program.push_mode} mode only."
        )
    if encrypted:
        encrypt = _encrypted_part(body)
        _require_msg_signature(program, timestamp, nonce, encrypt, msg_signature)
    else:
        _require_signature(program, signature=signature, timestamp=timestamp, nonce=nonce)
    _require_fresh(timestamp)
    with _claimed_once(program, timestamp=timestamp, nonce=nonce):
        payload = _decrypted(program, encrypt) if encrypted else _parse_document(body)
        return _store_once(program, _push_message(payload))


# --- who and whether -------------------------------------------------------------------


def _push_program(appid: str) -> MiniProgram:
    # The cached lookup first: random appids must not each cost a database query.
    tenant = enabled_tenant_get(appid=appid) if APPID_PATTERN.match(appid) else None
    program = miniprogram_get(appid=appid) if tenant is not None else None
    if program is None:
        raise ApiError("miniprogram_unknown", "Unknown or disabled mini-program.")
    if not program.push_token:
        # Without a token anyone could compute a valid signature.
        raise ApiError("forbidden", "Message push is not configured for this mini-program.")
    return program


def _require_signature(program: MiniProgram, *, signature: str, timestamp: str, nonce: str) -> None:
    if not crypto.verify_push_signature(
        token=program.push_token, timestamp=timestamp, nonce=nonce, signature=signature
    ):
        raise ApiError("forbidden", "The push signature does not match.")


def _require_fresh(timestamp: str) -> None:
    """A captured push replayed later is refused; WeChat's own retries come within seconds."""
    fresh = (
        timestamp.isascii()
        and timestamp.isdigit()
        and abs(time.time() - int(timestamp)) <= REPLAY_WINDOW_SECONDS
    )
    if not fresh:
        raise ApiError("forbidden", "The push timestamp is outside the replay window.")


@contextmanager
def _claimed_once(program: MiniProgram, *, timestamp: str, nonce: str):
    """Each signed (timestamp, nonce) is accepted once: the signature in a logged URL is spent.

    The claim is given back when the push was not stored (refused or failed),
    so that WeChat's retry of it is not refused as a replay.
    """
    digest = hashlib.sha256(f"{timestamp}:{nonce}".encode()).hexdigest()
    key = NONCE_KEY.format(appid=program.appid, digest=digest)
    if not get_redis().set(key, 1, nx=True, ex=NONCE_TTL_SECONDS):
        raise ApiError("forbidden", "This push signature was used before.")
    try:
        yield
    except Exception:
        get_redis().delete(key)
        raise


def _encrypted_part(body: bytes) -> str:
    encrypt = _parse_document(body).get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise ApiError("bad_request", "An encrypted push needs an Encrypt field.")
    return encrypt


def _require_msg_signature(
    program: MiniProgram, timestamp: str, nonce: str, encrypt: str, msg_signature: str
) -> None:
    # msg_signature covers Encrypt: checked before any decryption is attempted.
    if not crypto.verify_push_msg_signature(
        token=program.push_token,
        timestamp=timestamp,
        nonce=nonce,
        encrypt=encrypt,
        msg_signature=msg_signature,
    ):
        raise ApiError("forbidden", "The push msg_signature does not match.")


def _decrypted(program: MiniProgram, encrypt: str) -> dict:
    try:
        plaintext = crypto.decrypt_push_message(
            encrypt=encrypt, encoding_aes_key=program.aes_key, appid=program.appid
        )
    except crypto.WatermarkMismatch as exc:
        raise ApiError("decrypt_failed", "The push was encrypted for another appid.") from exc
    except crypto.WeChatCryptoError as exc:
        raise ApiError("decrypt_failed", "The push could not be decrypted.") from exc
    return _parse_document(plaintext.encode("utf-8"))


# --- parsing -----------------------------------------------------------------------------


def _parse_document(raw: bytes) -> dict:
    """An XML or a JSON push (the mini-program's configured format), told by its first character."""
    try:
        text = raw.decode("utf-8").lstrip("\ufeff \t\r\n")
    except UnicodeDecodeError as exc:
        raise ApiError("bad_request", "The push body is not UTF-8.") from exc
    if text.startswith("<"):
        return _parse_xml(text.encode("utf-8"))
    if text.startswith("{"):
        return _parse_json(text)
    raise ApiError("bad_request", "The push body is neither XML nor JSON.")


def _parse_xml(raw: bytes) -> dict:
    # defusedxml: the standard parser would expand entity bombs.
    try:
        root = SafeElementTree.fromstring(raw, forbid_dtd=True)
    except (SafeElementTree.ParseError, defusedxml.DefusedXmlException) as exc:
        raise ApiError("bad_request", "The push body is not acceptable XML.") from exc
    value = _element_value(root, depth=1)
    if root.tag != "xml" or not isinstance(value, dict):
        raise ApiError("bad_request", "A push is an <xml> element with fields.")
    return value


def _element_value(element, *, depth: int) -> str | dict:
    """Leaf elements become their text; repeated child tags (<List>) become lists."""
    children = list(element)
    if not children:
        return element.text or ""
    if depth > MAX_NESTING:
        raise ApiError("bad_request", "The push body is nested too deeply.")
    value: dict = {}
    for child in children:
        item = _element_value(child, depth=depth + 1)
        if child.tag not in value:
            value[child.tag] = item
        elif isinstance(value[child.tag], list):
            value[child.tag].append(item)
        else:
            value[child.tag] = [value[child.tag], item]
    return value


def _parse_json(text: str) -> dict:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ApiError("bad_request", "The push body is not valid JSON.") from exc
    if not isinstance(value, dict) or json_depth(value) > MAX_NESTING:
        raise ApiError("bad_request", "A push is a JSON object of limited depth.")
    return value


def _scalar(payload: dict, name: str) -> str:
    """A field as text: JSON pushes carry CreateTime and MsgId as numbers or strings."""
    value = payload.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else ""


def _push_message(payload: dict) -> PushMessage:
    msg_type, event = _scalar(payload, "MsgType"), _scalar(payload, "Event")
    if not msg_type or len(msg_type) > MSG_TYPE_MAX_CHARS or len(event) > EVENT_MAX_CHARS:
        raise ApiError("bad_request", "The push has no valid MsgType or Event.")
    # WeChat's advice: messages by MsgId, events by FromUserName + CreateTime.
    msg_id = _scalar(payload, "MsgId")
    sender, created = _scalar(payload, "FromUserName"), _scalar(payload, "CreateTime")
    if msg_id:
        identity = ["msg", msg_id]
    elif sender and created:
        identity = ["event", sender, created, event]
    else:
        raise ApiError("bad_request", "The push has neither MsgId nor FromUserName and CreateTime.")
    dedupe_key = hashlib.sha256(json.dumps(identity).encode()).hexdigest()
    return PushMessage(msg_type=msg_type, event=event, dedupe_key=dedupe_key, payload=payload)


# --- storing once --------------------------------------------------------------------------


def _store_once(program: MiniProgram, message: PushMessage) -> PushEvent | None:
    seen = SEEN_KEY.format(appid=program.appid, dedupe_key=message.dedupe_key)
    if not get_redis().set(seen, 1, nx=True, ex=SEEN_TTL_SECONDS):
        return None
    try:
        with transaction.atomic():
            # The unique constraint still holds once the Redis mark has expired.
            event, created = PushEvent.objects.get_or_create(
                mini_program=program,
                dedupe_key=message.dedupe_key,
                defaults={
                    "msg_type": message.msg_type,
                    "event": message.event,
                    "payload": message.payload,
                },
            )
            if created:
                push_event_enqueue(event_id=event.id)
    except Exception:
        get_redis().delete(seen)  # not stored: WeChat's retry must not count as a repeat
        raise
    return event if created else None
