"""RQ jobs of the wechat app. Jobs take ids and call a service."""

from minihub.wechat.tokens import access_tokens_refresh_all


def access_tokens_refresh_job() -> int:
    """Cron, every minute: idempotent (only expiring tokens are fetched)."""
    return access_tokens_refresh_all()
