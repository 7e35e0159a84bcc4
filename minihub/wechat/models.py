from django.db import models
from django.utils import timezone


class PushEvent(models.Model):
    """A message or event WeChat pushed to us, kept until (and after) a job handled it."""

    mini_program = models.ForeignKey(
        "tenants.MiniProgram", on_delete=models.CASCADE, related_name="push_events"
    )
    # sha256 of MsgId, or of FromUserName + CreateTime + Event: WeChat's retries share it.
    dedupe_key = models.CharField(max_length=64)
    msg_type = models.CharField(max_length=32)
    event = models.CharField(max_length=64, blank=True, default="")
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mini_program", "dedupe_key"], name="push_event_unique_dedupe_key"
            )
        ]
        indexes = [models.Index(fields=["mini_program", "received_at"])]

    def __str__(self) -> str:
        return f"{self.msg_type}:{self.event or '-'} @ {self.mini_program_id}"
