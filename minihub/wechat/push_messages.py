"""What WeChat pushes, read: XML or JSON documents, the safe-mode Encrypt field, and the
identity WeChat's retries share. Pure parsing: every refusal is a `bad_request`."""

import hashlib
import json
from dataclasses import dataclass

import defusedxml
from defusedxml import ElementTree as SafeElementTree

from minihub.core.errors import ApiError
from minihub.core.parsers import json_depth

MAX_NESTING = 16
MSG_TYPE_MAX_CHARS = 32
EVENT_MAX_CHARS = 64


@dataclass(frozen=True)
class PushMessage:
    msg_type: str
    event: str
    dedupe_key: str
    payload: dict


def push_encrypted_part(body: bytes) -> str:
    encrypt = push_document_parse(body).get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise ApiError("bad_request", "An encrypted push needs an Encrypt field.")
    return encrypt


def push_document_parse(raw: bytes) -> dict:
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


def push_message_of(payload: dict) -> PushMessage:
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
