from django.db import models
from django.utils.translation import gettext_lazy as _

from minihub.core.encryption import CaseSensitiveCharField, EncryptedTextField


class PushMode(models.TextChoices):
    """How WeChat's message push reaches us, as set in WeChat's console for the mini-program.

    Compatible mode carries the message twice, in clear and encrypted: only the
    encrypted part is covered by a signature, so only it is read.
    """

    PLAIN = "plain", _("plain text")
    COMPATIBLE = "compatible", _("compatible (clear and encrypted)")
    SAFE = "safe", _("safe (encrypted)")


ENCRYPTED_PUSH_MODES = (PushMode.COMPATIBLE, PushMode.SAFE)


class MiniProgram(models.Model):
    """One WeChat mini-program served by this deployment: a tenant."""

    appid = CaseSensitiveCharField("AppID", max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Secrets: ciphertext in the database, write-only in the admin.
    secret = EncryptedTextField("AppSecret")
    push_token = EncryptedTextField(_("message push Token"), blank=True, default="")
    aes_key = EncryptedTextField(blank=True, default="", verbose_name="EncodingAESKey")
    push_mode = models.CharField(
        _("push mode"),
        max_length=10,
        choices=PushMode.choices,
        default=PushMode.PLAIN,
        help_text=_(
            "Must match the message push mode chosen in WeChat's console; "
            "pushes in any other mode are refused."
        ),
    )
    content_check_enabled = models.BooleanField(
        _("content check"),
        default=False,
        help_text=_("Check nickname changes with msgSecCheck."),
    )
    use_legacy_token_api = models.BooleanField(
        _("legacy access-token API"),
        default=False,
        help_text=_("Fetch access tokens from /cgi-bin/token instead of stable_token."),
    )
    login_limit_per_openid = models.PositiveIntegerField(
        _("login limit per openid"),
        default=30,
        help_text=_("Logins per openid per minute (WeChat allows 100)."),
    )
    login_limit_per_ip = models.PositiveIntegerField(
        _("login limit per IP"), default=120, help_text=_("Logins per client IP per minute.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("mini-program")
        verbose_name_plural = _("mini-programs")
        ordering = ["appid"]

    def __str__(self) -> str:
        return f"{self.name or self.appid} ({self.appid})"
