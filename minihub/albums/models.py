from django.db import models
from django.utils.translation import gettext_lazy as _


class Album(models.Model):
    """A music album of one mini-program: the example domain object (as in the seed's server)."""

    mini_program = models.ForeignKey(
        "tenants.MiniProgram",
        on_delete=models.PROTECT,
        related_name="albums",
        verbose_name=_("mini-program"),
    )
    title = models.CharField(_("title"), max_length=128)
    artist = models.CharField(_("artist"), max_length=128, blank=True, default="")
    cover_url = models.URLField(_("cover URL"), max_length=512, blank=True, default="")
    # Plays counted in Redis are added here by album_plays_flush, once per batch.
    plays = models.BigIntegerField(
        _("plays"),
        default=0,
        editable=False,
        help_text=_("Counted in Redis and added here in batches, every minute."),
    )
    # The last flush batch added to `plays`: readers use it to tell whether the
    # in-flight count still held in Redis is already included here.
    plays_batch = models.CharField(
        _("last plays batch"), max_length=32, blank=True, default="", editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("album")
        verbose_name_plural = _("albums")
        indexes = [models.Index(fields=["mini_program", "id"], name="album_program_id")]

    def __str__(self) -> str:
        return self.title


class Track(models.Model):
    album = models.ForeignKey(
        Album, on_delete=models.CASCADE, related_name="tracks", verbose_name=_("album")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    title = models.CharField(_("title"), max_length=128)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"))

    class Meta:
        verbose_name = _("track")
        verbose_name_plural = _("tracks")
        ordering = ["album", "position"]
        constraints = [
            models.UniqueConstraint(fields=["album", "position"], name="track_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class Favorite(models.Model):
    """A user's favorite album; both always belong to the same mini-program."""

    user = models.ForeignKey(
        "accounts.User",
        on_delete=models.CASCADE,
        related_name="favorites",
        verbose_name=_("user"),
    )
    album = models.ForeignKey(
        Album, on_delete=models.CASCADE, related_name="favorites", verbose_name=_("album")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("favorite")
        verbose_name_plural = _("favorites")
        constraints = [
            models.UniqueConstraint(fields=["user", "album"], name="favorite_unique_user_album")
        ]
        # GET /me/favorites pages by favorite id, newest first.
        indexes = [models.Index(fields=["user", "id"], name="favorite_user_id")]

    def __str__(self) -> str:
        return f"{self.user_id} ♥ {self.album_id}"


class PlaysFlushBatch(models.Model):
    """A batch of Redis play counts that has been added to Album.plays.

    Written in the same transaction as the counts, so a batch found here is
    never applied again: the write-back is exactly once across crashes.
    """

    batch_id = models.CharField(_("batch id"), max_length=32, unique=True)
    albums = models.PositiveIntegerField(_("albums"))
    plays = models.BigIntegerField(_("plays"))
    applied_at = models.DateTimeField(_("applied at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("plays flush batch")
        verbose_name_plural = _("plays flush batches")

    def __str__(self) -> str:
        return f"batch {self.batch_id}: {self.plays} plays on {self.albums} albums"
