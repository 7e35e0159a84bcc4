from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PushEvent(models.Model):
    """A message or event WeChat pushed to us, kept until (and after) a job handled it."""

    mini_program = models.ForeignKey(
        "tenants.MiniProgram",
        on_delete=models.CASCADE,
        related_name="push_events",
        verbose_name=_("mini-program"),
    )
    # sha256 of MsgId, or of FromUserName + CreateTime + Event: WeChat's retries share it.
    dedupe_key = models.CharField(_("deduplication key"), max_length=64)
    msg_type = models.CharField("MsgType", max_length=32)
    event = models.CharField("Event", max_length=64, blank=True, default="")
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("push event")
        verbose_name_plural = _("push events")
        constraints = [
            models.UniqueConstraint(
                fields=["mini_program", "dedupe_key"], name="push_event_unique_dedupe_key"
            )
        ]
        indexes = [models.Index(fields=["mini_program", "received_at"])]

    def __str__(self) -> str:
        return f"{self.msg_type}:{self.event or '-'} @ {self.mini_program_id}"
