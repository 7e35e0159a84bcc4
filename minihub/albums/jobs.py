"""RQ jobs of the albums app. Jobs take ids and call a service, imported when the job runs."""

# Registered in config/cron.py with this timeout (and no retry: the next
# minute's run is the retry, and finishes whatever a failed run left open).
PLAYS_FLUSH_TIMEOUT_SECONDS = 120


def album_plays_flush_job() -> int:
    """Cron, every minute: writes Redis play counts to the database; exactly once, rerunnable."""
    from minihub.albums.services import album_plays_flush

    return album_plays_flush()
