"""Writes of mini-programs. Every write invalidates the request-path cache."""

from django.core.exceptions import ValidationError
from django.db import transaction

from minihub.core.db import on_primary
from minihub.core.errors import ApiError, validation_error_from
from minihub.tenants.models import ENCRYPTED_PUSH_MODES, MiniProgram, PushMode
from minihub.tenants.selectors import tenant_cache_invalidate
from minihub.tenants.validators import validate_appid, validate_encoding_aes_key

ENCRYPTED_FIELDS = ("secret", "push_token", "aes_key")


def _validate(program: MiniProgram) -> None:
    try:
        validate_appid(program.appid)
        validate_encoding_aes_key(program.aes_key)
    except ValidationError as exc:
        raise validation_error_from(exc) from exc
    if not program.secret:
        raise ApiError("validation_error", "A mini-program needs its AppSecret.")
    if program.push_mode not in PushMode.values:
        raise ApiError(
            "validation_error", f"push mode must be one of {', '.join(PushMode.values)}."
        )
    if program.push_mode in ENCRYPTED_PUSH_MODES and not program.aes_key:
        raise ApiError(
            "validation_error", f"Push mode {program.push_mode} needs the EncodingAESKey."
        )


def _invalidate_after_commit(appid: str) -> None:
    transaction.on_commit(lambda: tenant_cache_invalidate(appid=appid))
    tenant_cache_invalidate(appid=appid)


def miniprogram_create(
    *,
    appid: str,
    secret: str,
    name: str = "",
    push_token: str = "",
    aes_key: str = "",
    push_mode: str | None = None,
    content_check_enabled: bool = False,
) -> MiniProgram:
    """push_mode defaults to safe when an EncodingAESKey is given, else plain."""
    if push_mode is None:
        push_mode = PushMode.SAFE if aes_key else PushMode.PLAIN
    program = MiniProgram(
        appid=appid,
        secret=secret,
        name=name,
        push_token=push_token,
        aes_key=aes_key,
        push_mode=push_mode,
        content_check_enabled=content_check_enabled,
    )
    _validate(program)
    if on_primary(MiniProgram).filter(appid=appid).exists():
        raise ApiError("validation_error", f"A mini-program with appid {appid} already exists.")
    program.save()
    _invalidate_after_commit(appid)
    return program


def miniprogram_update(*, program: MiniProgram, **changes) -> MiniProgram:
    """Set fields; a secret given as "" is left as it was (secrets are write-only)."""
    for field, value in changes.items():
        if field in ENCRYPTED_FIELDS and not value:
            continue
        setattr(program, field, value)
    _validate(program)
    program.save()
    _invalidate_after_commit(program.appid)
    return program


def miniprogram_set_enabled(*, appid: str, enabled: bool) -> MiniProgram:
    program = on_primary(MiniProgram).get(appid=appid)
    program.enabled = enabled
    program.save(update_fields=["enabled", "updated_at"])
    _invalidate_after_commit(appid)
    return program
