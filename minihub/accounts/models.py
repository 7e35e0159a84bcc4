from django.db import models
from django.utils.translation import gettext_lazy as _

from minihub.core.encryption import CaseSensitiveCharField, EncryptedTextField


class User(models.Model):
    """A WeChat user of one mini-program: the same person in two mini-programs is two users."""

    mini_program = models.ForeignKey(
        "tenants.MiniProgram",
        on_delete=models.PROTECT,
        related_name="users",
        verbose_name=_("mini-program"),
    )
    openid = CaseSensitiveCharField("openid", max_length=64)
    unionid = CaseSensitiveCharField(
        "unionid", max_length=64, blank=True, default="", db_index=True
    )
    nickname = models.CharField(_("nickname"), max_length=64, blank=True, default="")
    avatar_url = models.URLField(_("avatar URL"), max_length=512, blank=True, default="")
    phone = models.CharField(_("phone number"), max_length=32, blank=True, default="")
    # Replaced at every login; decrypts wx.getUserInfo's encryptedData.
    session_key = EncryptedTextField(_("session key"), blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    last_login_at = models.DateTimeField(_("last login at"), null=True, blank=True)
    # Set by an operator: every token revoked, and no new login until unblocked.
    blocked_at = models.DateTimeField(
        _("blocked at"),
        null=True,
        blank=True,
        help_text=_("Set when an operator blocks the user: no tokens, no logins."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(fields=["mini_program", "openid"], name="user_unique_openid")
        ]

    def __str__(self) -> str:
        return f"{self.nickname or self.openid} @ {self.mini_program_id}"


class ApiToken(models.Model):
    """A bearer token, stored as its SHA-256; bound to one user of one mini-program."""

    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="tokens", verbose_name=_("user")
    )
    mini_program = models.ForeignKey(
        "tenants.MiniProgram", on_delete=models.CASCADE, verbose_name=_("mini-program")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"token of user {self.user_id} ({self.key_hash[:8]}…)"
