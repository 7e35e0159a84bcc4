"""Writes of users: login through WeChat, logout, profile, phone, decrypted user info."""

import base64
import binascii
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from minihub.accounts.auth import token_user_gone
from minihub.accounts.models import User
from minihub.accounts.tokens import IssuedToken, token_issue, token_revoke, user_tokens_revoke
from minihub.core import figures
from minihub.core.errors import ApiError
from minihub.core.throttle import rate_limit
from minihub.integrations.wechat import crypto
from minihub.integrations.wechat.client import SCENE_PROFILE, wechat_client
from minihub.tenants.access_tokens import with_access_token
from minihub.tenants.selectors import TenantInfo, miniprogram_get


@dataclass(frozen=True)
class LoginResult:
    token: IssuedToken
    created: bool
    user: User


def user_login(*, tenant: TenantInfo, code: str, client_ip: str) -> LoginResult:
    """code2Session, then find or create the (mini-program, openid) user and issue a token."""
    rate_limit(scope="login-ip", key=f"{tenant.id}:{client_ip}", limit=tenant.login_limit_per_ip)
    program = miniprogram_get(appid=tenant.appid)
    with figures.wechat_calls_for(tenant.id):
        session = wechat_client().code2session(
            appid=program.appid, secret=program.secret, code=code
        )
    rate_limit(
        scope="login-openid",
        key=f"{tenant.id}:{session.openid}",
        limit=tenant.login_limit_per_openid,
    )
    with transaction.atomic():
        user, created = User.objects.select_for_update().get_or_create(
            mini_program_id=tenant.id, openid=session.openid
        )
        if user.blocked_at is not None:
            raise ApiError("forbidden", "This user is blocked in this mini-program.")
        user.session_key = session.session_key  # the old one stops decrypting now
        if session.unionid:
            user.unionid = session.unionid
        user.last_login_at = timezone.now()
        user.save()
        token = token_issue(user=user)
    login_figure = figures.LOGIN_NEW if created else figures.LOGIN_RETURNING
    figures.figure_add(mini_program_id=tenant.id, name=login_figure)
    return LoginResult(token=token, created=created, user=user)


def _save_fields(user: User, fields: list[str]) -> None:
    """Write these fields of a user whose row may have been deleted since it was read
    (an operator deleting it while its token is in use): that is the token's problem."""
    user.updated_at = timezone.now()
    values = {name: getattr(user, name) for name in [*fields, "updated_at"]}
    if not User.objects.filter(pk=user.pk).update(**values):
        raise token_user_gone()


def user_block(*, user_id: int) -> int:
    """Revoke every token of the user and refuse its logins; the tokens revoked.

    Under the user's row lock, which a login also takes: no login can slip a
    new token in between."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(id=user_id).first()
        if user is None:
            return 0
        User.objects.filter(id=user_id).update(blocked_at=timezone.now())
        return user_tokens_revoke(user_id=user_id)


def user_unblock(*, user_id: int) -> None:
    User.objects.filter(id=user_id).update(blocked_at=None)


def user_logout(*, token_digest: str) -> None:
    token_revoke(token_digest=token_digest)


def nickname_check(*, tenant: TenantInfo, openid: str, nickname: str) -> None:
    """Raise content_risky (422) when WeChat calls the nickname risky; "review" passes.

    Clearing a nickname needs no check. WeChat being unreachable is a 503:
    with checks switched on, an unchecked nickname is not stored.
    """
    if not nickname.strip():
        return
    result = with_access_token(
        tenant.appid,
        lambda token: wechat_client().msg_sec_check(
            access_token=token, openid=openid, text=nickname, scene=SCENE_PROFILE
        ),
    )
    if result.suggest == "risky":
        raise ApiError("content_risky", "WeChat's content check refuses this nickname.")


def user_update_profile(
    *, user: User, tenant: TenantInfo, nickname: str | None, avatar_url: str | None
) -> User:
    """Nicknames go through WeChat's content check first where the mini-program asks for it."""
    changed = []
    if nickname is not None and tenant.content_check_enabled:
        nickname_check(tenant=tenant, openid=user.openid, nickname=nickname)
    if nickname is not None:
        user.nickname = nickname
        changed.append("nickname")
    if avatar_url is not None:
        user.avatar_url = avatar_url
        changed.append("avatar_url")
    if changed:
        _save_fields(user, changed)
    return user


def user_bind_phone(*, user: User, tenant: TenantInfo, code: str) -> User:
    """getuserphonenumber with the mini-program's access token."""
    info = with_access_token(
        tenant.appid,
        lambda token: wechat_client().phone_number(access_token=token, code=code),
    )
    if info.watermark_appid and info.watermark_appid != tenant.appid:
        raise ApiError("decrypt_failed", "The phone number was issued to another mini-program.")
    user.phone = info.phone_number
    _save_fields(user, ["phone"])
    return user


def _require_base64(value: str, name: str, *, block: int, exact: int | None = None) -> None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError("decrypt_failed", f"{name} is not base64.") from exc
    if not raw or len(raw) % block or (exact is not None and len(raw) != exact):
        raise ApiError("decrypt_failed", f"{name} has the wrong length.")


def user_update_from_userinfo(
    *,
    user: User,
    tenant: TenantInfo,
    encrypted_data: str,
    iv: str,
    raw_data: str | None,
    signature: str | None,
) -> User:
    """Decrypt wx.getUserInfo's encryptedData with the stored session_key and apply it."""
    _require_base64(encrypted_data, "encrypted_data", block=16)
    _require_base64(iv, "iv", block=16, exact=16)
    if not user.session_key:
        raise ApiError("session_expired", "No WeChat session for this user: call wx.login again.")
    try:
        data = crypto.decrypt_user_data(
            encrypted_data=encrypted_data, iv=iv, session_key=user.session_key, appid=tenant.appid
        )
    except crypto.WatermarkMismatch as exc:
        raise ApiError(
            "decrypt_failed", "The data was encrypted for another mini-program."
        ) from exc
    except crypto.DecryptError as exc:
        # Well-formed input that does not decrypt: the session_key changed.
        raise ApiError(
            "session_expired", "The WeChat session changed: call wx.login again."
        ) from exc
    signed = raw_data is not None or signature is not None
    if signed and not crypto.verify_raw_data_signature(
        raw_data=raw_data or "", signature=signature or "", session_key=user.session_key
    ):
        raise ApiError("decrypt_failed", "rawData does not match its signature.")
    return _apply_userinfo(user, data)


def _apply_userinfo(user: User, data: dict) -> User:
    nickname = data.get("nickName")
    if isinstance(nickname, str):
        user.nickname = nickname[:64]
    avatar = data.get("avatarUrl")
    if isinstance(avatar, str) and avatar.startswith(("https://", "http://")):
        user.avatar_url = avatar[:512]
    unionid = data.get("unionId")
    if isinstance(unionid, str) and unionid:
        user.unionid = unionid[:64]
    _save_fields(user, ["nickname", "avatar_url", "unionid"])
    return user
