"""Sentry: on only when SENTRY_DSN is set."""

import logging
from pathlib import Path

from config.settings.env import env, optional


def _deployed_release() -> str | None:
    release_file = Path(__file__).resolve().parent.parent.parent / "RELEASE"
    return release_file.read_text().strip() if release_file.exists() else None


def init_sentry(*, dsn: str, environment: str) -> None:
    """Report errors (and, if sampled, traces) to `dsn`; does nothing without one.

    Release from SENTRY_RELEASE, sampling from SENTRY_SAMPLE_RATE (errors, default 1)
    and SENTRY_TRACES_SAMPLE_RATE (default 0).
    """
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.integrations.redis import RedisIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    from minihub.core.sentry import scrub_event

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        # The deployed release (RELEASE file written by `fab deploy`) unless set.
        release=optional("SENTRY_RELEASE", "") or _deployed_release(),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        sample_rate=env.float("SENTRY_SAMPLE_RATE", default=1.0),
        # send_default_pii is left unset, which means off (setting it is deprecated):
        # no cookies, Authorization header, user or client IP.
        # Frame locals hold decrypted secrets, session keys and tokens under any
        # name (key, value, raw...): no name-based scrubber can be trusted with them.
        include_local_variables=False,
        # Bodies here are login/phone codes, encrypted user data or user text:
        # credentials or personal data, never needed to read a stack trace.
        max_request_body_size="never",
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        integrations=[
            # As in the seed: warnings and above become events.
            LoggingIntegration(level=logging.INFO, event_level=logging.WARNING),
            DjangoIntegration(),
            RedisIntegration(),
            RqIntegration(),
        ],
    )
