from django.db import models

from minihub.core.encryption import CaseSensitiveCharField, EncryptedTextField


class User(models.Model):
    """A WeChat user of one mini-program: the same person in two mini-programs is two users."""

    mini_program = models.ForeignKey(
        "tenants.MiniProgram", on_delete=models.PROTECT, related_name="users"
    )
    openid = CaseSensitiveCharField(max_length=64)
    unionid = CaseSensitiveCharField(max_length=64, blank=True, default="", db_index=True)
    nickname = models.CharField(max_length=64, blank=True, default="")
    avatar_url = models.URLField(max_length=512, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    # Replaced at every login; decrypts wx.getUserInfo's encryptedData.
    session_key = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    # Set by an operator: every token revoked, and no new login until unblocked.
    blocked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mini_program", "openid"], name="user_unique_openid")
        ]

    def __str__(self) -> str:
        return f"{self.nickname or self.openid} @ {self.mini_program_id}"


class ApiToken(models.Model):
    """A bearer token, stored as its SHA-256; bound to one user of one mini-program."""

    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    mini_program = models.ForeignKey("tenants.MiniProgram", on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"token of user {self.user_id} ({self.key_hash[:8]}…)"
