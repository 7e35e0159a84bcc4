from django.db import models

from minihub.core.encryption import CaseSensitiveCharField, EncryptedTextField


class PushMode(models.TextChoices):
    """How WeChat's message push reaches us, as set in WeChat's console for the mini-program.

    Compatible mode carries the message twice, in clear and encrypted: only the
    encrypted part is covered by a signature, so only it is read.
    """

    PLAIN = "plain", "plain text"
    COMPATIBLE = "compatible", "compatible (clear and encrypted)"
    SAFE = "safe", "safe (encrypted)"


ENCRYPTED_PUSH_MODES = (PushMode.COMPATIBLE, PushMode.SAFE)


class MiniProgram(models.Model):
    """One WeChat mini-program served by this deployment: a tenant."""

    appid = CaseSensitiveCharField(max_length=32, unique=True)
    name = models.CharField(max_length=64, blank=True)
    enabled = models.BooleanField(default=True)
    # Secrets: ciphertext in the database, write-only in the admin.
    secret = EncryptedTextField()
    push_token = EncryptedTextField(blank=True, default="")
    aes_key = EncryptedTextField(blank=True, default="", verbose_name="EncodingAESKey")
    push_mode = models.CharField(
        max_length=10,
        choices=PushMode.choices,
        default=PushMode.PLAIN,
        help_text="Must match the message push mode chosen in WeChat's console; "
        "pushes in any other mode are refused.",
    )
    content_check_enabled = models.BooleanField(
        default=False, help_text="Check nickname changes with msgSecCheck."
    )
    use_legacy_token_api = models.BooleanField(
        default=False, help_text="Fetch access tokens from /cgi-bin/token instead of stable_token."
    )
    login_limit_per_openid = models.PositiveIntegerField(
        default=30, help_text="Logins per openid per minute (WeChat allows 100)."
    )
    login_limit_per_ip = models.PositiveIntegerField(
        default=120, help_text="Logins per client IP per minute."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["appid"]

    def __str__(self) -> str:
        return f"{self.name or self.appid} ({self.appid})"
