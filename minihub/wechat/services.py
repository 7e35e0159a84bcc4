"""Writes of the wechat app: content checks, mini-program codes, and message pushes (verified,
stored once, handled by a job that runs the handlers other apps subscribed).

Pushes: the signature is checked before anything is decrypted or stored, so
forged requests cost a hash and learn nothing. Each accepted message is stored
once (WeChat retries a push it got no "success" for within 15 s, and anyone can
replay a captured one) and handled by a job.
"""

import hashlib
import json
import logging
import time
from contextlib import contextmanager
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from minihub.accounts.auth import token_user_get
from minihub.core import figures
from minihub.core.errors import ApiError
from minihub.core.jobs import enqueue_on_commit, retry_with_backoff
from minihub.core.redis import get_redis
from minihub.core.throttle import rate_limit
from minihub.integrations.wechat import crypto
from minihub.integrations.wechat.client import CheckResult, wechat_client
from minihub.integrations.wechat.errors import (
    NETWORK_ERRCODE,
    WeChatInvalidArgument,
    WeChatUnavailable,
)
from minihub.tenants.access_tokens import with_access_token
from minihub.tenants.models import ENCRYPTED_PUSH_MODES, MiniProgram
from minihub.tenants.selectors import TenantInfo, enabled_tenant_get, miniprogram_get
from minihub.tenants.validators import APPID_PATTERN
from minihub.wechat.jobs import push_event_handle_job
from minihub.wechat.models import PushEvent
from minihub.wechat.push_messages import (
    PushMessage,
    push_document_parse,
    push_encrypted_part,
    push_message_of,
)
from minihub.wechat.push_subscribers import push_event_handlers

logger = logging.getLogger(__name__)

CONTENT_MAX_CHARS = 2500
CHECKS_PER_USER_PER_MINUTE = 30

QRCODE_PATH = "/wxa/getwxacodeunlimit"
QRCODE_CACHE_KEY = "wechat:wxacode:{appid}:{digest}"
QRCODE_CACHE_SECONDS = 24 * 3600
QRCODE_CODES_PER_USER_PER_MINUTE = 20
# The query parameter a refusal of WeChat's is about (40169 invalid scene, 41030 invalid page).
QRCODE_FIELD_OF_ERRCODE = {40169: "scene", 41030: "page"}

REPLAY_WINDOW_SECONDS = 300
SEEN_KEY = "wechat:push-seen:{appid}:{dedupe_key}"
SEEN_TTL_SECONDS = 3 * 24 * 3600
NONCE_KEY = "wechat:push-nonce:{appid}:{digest}"
# A timestamp is fresh from REPLAY_WINDOW_SECONDS before it to as long after it.
NONCE_TTL_SECONDS = 2 * REPLAY_WINDOW_SECONDS + 60
# Unhandled after this long, an event's job was lost (e.g. Redis down at commit time).
STALE_AFTER = timedelta(minutes=10)
# Requeued only this long: a handler that keeps failing waits in the failed-job registry.
REQUEUE_UNTIL = timedelta(hours=1)
# Handled events are kept this long for support questions, then pruned.
KEEP_HANDLED = timedelta(days=30)


# --- content checks ------------------------------------------------------------------------


def content_check_for_user(*, tenant: TenantInfo, user_id: int, text: str) -> CheckResult:
    """POST /content/check: throttled per user, since every check spends WeChat quota."""
    rate_limit(
        scope="content-check", key=f"{tenant.id}:{user_id}", limit=CHECKS_PER_USER_PER_MINUTE
    )
    user = token_user_get(user_id=user_id, mini_program_id=tenant.id)
    return with_access_token(
        tenant.appid,
        lambda token: wechat_client().msg_sec_check(
            access_token=token, openid=user.openid, text=text
        ),
    )


# --- mini-program codes (getUnlimited), cached so that a repeat costs no WeChat call -------


def qrcode_get(
    *, tenant: TenantInfo, user_id: int, scene: str, page: str | None, env_version: str, width: int
) -> bytes:
    """The JPEG of a mini-program code for these parameters, from the cache or from WeChat."""
    rate_limit(scope="qrcode", key=f"{tenant.id}:{user_id}", limit=QRCODE_CODES_PER_USER_PER_MINUTE)
    request = {
        "scene": scene,
        "env_version": env_version,
        "width": width,
        # Pages of trial and develop versions need not exist in the released version.
        "check_path": env_version == "release",
    }
    if page:
        request["page"] = page
    key = _qrcode_cache_key(tenant.appid, request)
    cached = get_redis().get(key)
    if cached is not None:
        return cached
    image = _wxacode_fetch(tenant.appid, request)
    get_redis().set(key, image, ex=QRCODE_CACHE_SECONDS)
    return image


def _qrcode_cache_key(appid: str, request: dict) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return QRCODE_CACHE_KEY.format(
        appid=appid, digest=hashlib.sha256(canonical.encode()).hexdigest()
    )


def _wxacode_fetch(appid: str, request: dict) -> bytes:
    try:
        answer = with_access_token(
            appid,
            lambda token: wechat_client().call_with_token(
                "POST", QRCODE_PATH, access_token=token, json=request
            ),
        )
    except WeChatInvalidArgument as exc:
        field = QRCODE_FIELD_OF_ERRCODE.get(exc.errcode)
        loc = ["query", field] if field else ["query"]
        message = f"WeChat refused these parameters (errcode {exc.errcode})."
        raise ApiError("validation_error", message, fields=[{"loc": loc, "msg": message}]) from exc
    if not isinstance(answer, bytes) or not answer:
        raise WeChatUnavailable(NETWORK_ERRCODE, "answer is not an image", path=QRCODE_PATH)
    return answer


# --- message push: receiving -----------------------------------------------------------


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
        encrypt = push_encrypted_part(body)
        _require_msg_signature(program, timestamp, nonce, encrypt, msg_signature)
    else:
        _require_signature(program, signature=signature, timestamp=timestamp, nonce=nonce)
    _require_fresh(timestamp)
    with _claimed_once(program, timestamp=timestamp, nonce=nonce):
        payload = _decrypted(program, encrypt) if encrypted else push_document_parse(body)
        return _store_once(program, push_message_of(payload))


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
    return push_document_parse(plaintext.encode("utf-8"))


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
                push_kind = f"{figures.PUSH}{message.msg_type}:{message.event or '-'}"
                figures.figure_add(mini_program_id=program.id, name=push_kind)
    except Exception:
        get_redis().delete(seen)  # not stored: WeChat's retry must not count as a repeat
        raise
    return event if created else None


# --- message push: handling by a job -----------------------------------------------------


def push_event_enqueue(*, event_id: int) -> None:
    # Safe to retry: handling commits together with the handled mark, or not at all.
    enqueue_on_commit(push_event_handle_job, event_id, retry=retry_with_backoff())


def push_event_handle(*, event_id: int) -> bool:
    """Run the event's handler unless it ran already; True if it ran now."""
    with transaction.atomic():
        event = (
            PushEvent.objects.select_for_update()
            .filter(id=event_id, handled_at__isnull=True)
            .first()
        )
        if event is None:
            return False  # handled before (a retry or a requeue), or pruned
        handlers = push_event_handlers(event.event) if event.msg_type == "event" else ()
        if not handlers:
            logger.info("push %s/%s stored without a handler", event.msg_type, event.event)
        for handler in handlers:
            handler(event)
        event.handled_at = timezone.now()
        event.save(update_fields=["handled_at"])
    return True


def push_events_requeue_stale() -> int:
    """Enqueue again the recent events whose job never ran; how many."""
    now = timezone.now()
    stale = PushEvent.objects.filter(
        handled_at__isnull=True,
        received_at__lt=now - STALE_AFTER,
        received_at__gte=now - REQUEUE_UNTIL,
    )
    ids = list(stale.values_list("id", flat=True)[:1000])
    for event_id in ids:
        push_event_enqueue(event_id=event_id)
    return len(ids)


def push_events_prune() -> int:
    """Delete handled events older than KEEP_HANDLED; how many."""
    cutoff = timezone.now() - KEEP_HANDLED
    deleted, _ = PushEvent.objects.filter(handled_at__lt=cutoff).delete()
    return deleted
