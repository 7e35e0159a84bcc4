from django.db import models
from django.utils.translation import gettext_lazy as _

from minihub.core.encryption import CaseSensitiveCharField
from minihub.notifications.validators import (
    IDEMPOTENCY_KEY_MAX,
    PAGE_MAX,
    TEMPLATE_ID_MAX,
    validate_idempotency_key,
    validate_message_data,
    validate_page,
    validate_template_id,
)


class SubscriptionGrant(models.Model):
    """How many one-time subscriptions a user has given a template and we have not used yet.

    Each "accept" in wx.requestSubscribeMessage allows WeChat to deliver one
    message of that template to that user; every delivery (or a 43101) uses one.
    """

    user = models.ForeignKey(
        "accounts.User",
        on_delete=models.CASCADE,
        related_name="subscription_grants",
        verbose_name=_("user"),
    )
    # Template ids are case-sensitive: compared byte by byte, as WeChat does.
    template_id = CaseSensitiveCharField(_("template id"), max_length=TEMPLATE_ID_MAX)
    remaining = models.PositiveIntegerField(
        _("remaining"),
        default=0,
        help_text=_("Messages of this template WeChat will still deliver."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("subscription grant")
        verbose_name_plural = _("subscription grants")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "template_id"], name="subscription_grant_unique_template"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template_id} x{self.remaining} for user {self.user_id}"


class OutboxMessage(models.Model):
    """A subscribe message to send, written in the caller's transaction and sent by a job."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")  # waiting for (another) attempt
        SENDING = "sending", _("sending")  # a worker is talking to WeChat, until lease_expires_at
        SENT = "sent", _("sent")
        REFUSED = "refused", _("refused")  # no grant left, or WeChat's 43101
        FAILED = "failed", _("failed")  # WeChat rejected the message itself: see errcode

    mini_program = models.ForeignKey(
        "tenants.MiniProgram",
        on_delete=models.PROTECT,
        related_name="outbox_messages",
        verbose_name=_("mini-program"),
    )
    user = models.ForeignKey(
        "accounts.User",
        on_delete=models.CASCADE,
        related_name="outbox_messages",
        verbose_name=_("user"),
    )
    template_id = CaseSensitiveCharField(
        _("template id"), max_length=TEMPLATE_ID_MAX, validators=[validate_template_id]
    )
    page = models.CharField(
        _("page"), max_length=PAGE_MAX, blank=True, default="", validators=[validate_page]
    )
    data = models.JSONField(_("data"), validators=[validate_message_data])
    idempotency_key = CaseSensitiveCharField(
        _("idempotency key"),
        max_length=IDEMPOTENCY_KEY_MAX,
        validators=[validate_idempotency_key],
        help_text=_("The same key in the same mini-program is the same message: sent once."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    errcode = models.IntegerField("errcode", null=True, blank=True)
    errmsg = models.CharField("errmsg", max_length=255, blank=True, default="")
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    msgid = models.PositiveBigIntegerField("msgid", null=True, blank=True)
    # One grant is taken when the first attempt starts and given back if the message fails.
    grant_reserved = models.BooleanField(_("grant reserved"), default=False)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("subscribe message")
        verbose_name_plural = _("subscribe messages")
        constraints = [
            models.UniqueConstraint(
                fields=["mini_program", "idempotency_key"], name="outbox_unique_idempotency_key"
            )
        ]
        # What the sweep looks for: stale pending rows and expired sending leases.
        indexes = [
            models.Index(fields=["status", "updated_at"], name="outbox_status_updated"),
            models.Index(fields=["status", "lease_expires_at"], name="outbox_status_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.template_id} to user {self.user_id} ({self.status})"
