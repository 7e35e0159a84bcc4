from django.db import models


class Album(models.Model):
    """A music album of one mini-program: the example domain object (as in the seed's server)."""

    mini_program = models.ForeignKey(
        "tenants.MiniProgram", on_delete=models.PROTECT, related_name="albums"
    )
    title = models.CharField(max_length=128)
    artist = models.CharField(max_length=128, blank=True, default="")
    cover_url = models.URLField(max_length=512, blank=True, default="")
    # Plays counted in Redis are added here by album_plays_flush, once per batch.
    plays = models.BigIntegerField(default=0, editable=False)
    # The last flush batch added to `plays`: readers use it to tell whether the
    # in-flight count still held in Redis is already included here.
    plays_batch = models.CharField(max_length=32, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["mini_program", "id"], name="album_program_id")]

    def __str__(self) -> str:
        return self.title


class Track(models.Model):
    album = models.ForeignKey(Album, on_delete=models.CASCADE, related_name="tracks")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=128)
    duration_seconds = models.PositiveIntegerField()

    class Meta:
        ordering = ["album", "position"]
        constraints = [
            models.UniqueConstraint(fields=["album", "position"], name="track_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class Favorite(models.Model):
    """A user's favorite album; both always belong to the same mini-program."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="favorites")
    album = models.ForeignKey(Album, on_delete=models.CASCADE, related_name="favorites")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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

    batch_id = models.CharField(max_length=32, unique=True)
    albums = models.PositiveIntegerField()
    plays = models.BigIntegerField()
    applied_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"batch {self.batch_id}: {self.plays} plays on {self.albums} albums"
