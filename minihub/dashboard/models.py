from django.db import models
from django.utils.translation import gettext_lazy as _


class FigureHour(models.Model):
    """One mini-program's hour of figures, rolled up from Redis.

    Inserted in the same transaction as its figures: the unique constraint makes
    a second roll-up of the same hour (after a crash) change nothing.
    """

    mini_program = models.ForeignKey(
        "tenants.MiniProgram",
        on_delete=models.CASCADE,
        related_name="figure_hours",
        verbose_name=_("mini-program"),
    )
    hour = models.DateTimeField(_("hour"), help_text=_("The start of the hour, UTC."))
    active_users = models.PositiveIntegerField(
        _("active users"), default=0, help_text=_("Distinct users making authenticated calls.")
    )
    rolled_up_at = models.DateTimeField(_("rolled up at"), auto_now_add=True)

    class Meta:
        verbose_name = _("hourly figures")
        verbose_name_plural = _("hourly figures")
        constraints = [
            models.UniqueConstraint(fields=["mini_program", "hour"], name="figure_hour_unique")
        ]
        indexes = [models.Index(fields=["hour"], name="figure_hour_hour")]

    def __str__(self) -> str:
        return f"{self.mini_program_id} @ {self.hour:%Y-%m-%d %H:00}"


class Figure(models.Model):
    """One counter of one hour, e.g. `login.new` or `wechat.calls|/sns/jscode2session|0`."""

    hour_record = models.ForeignKey(
        FigureHour, on_delete=models.CASCADE, related_name="figures", verbose_name=_("hour")
    )
    name = models.CharField(_("name"), max_length=200)
    value = models.BigIntegerField(_("value"))

    class Meta:
        verbose_name = _("figure")
        verbose_name_plural = _("figures")
        constraints = [
            models.UniqueConstraint(fields=["hour_record", "name"], name="figure_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
