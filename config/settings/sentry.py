"""Sentry: on only when SENTRY_DSN is set."""

import logging

from config.settings.env import env, optional


def init_sentry(*, dsn: str, environment: str) -> None:
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
        release=optional("SENTRY_RELEASE", "") or None,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        sample_rate=env.float("SENTRY_SAMPLE_RATE", default=1.0),
        send_default_pii=False,
        before_send=scrub_event,
        integrations=[
            # As in the seed: warnings and above become events.
            LoggingIntegration(level=logging.INFO, event_level=logging.WARNING),
            DjangoIntegration(),
            RedisIntegration(),
            RqIntegration(),
        ],
    )
