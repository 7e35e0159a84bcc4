"""RQ jobs of the tenants app. Jobs take ids and call a service, imported when the job runs."""


def access_tokens_refresh_job() -> int:
    """Cron, every minute: idempotent (only expiring tokens are fetched)."""
    from minihub.tenants.access_tokens import access_tokens_refresh_all

    return access_tokens_refresh_all()
