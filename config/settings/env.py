"""Reading configuration from the environment, failing closed with the variable's name."""

import hashlib
import hmac
import ipaddress
import os
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def require(name: str, hint: str = "") -> str:
    """The value of a mandatory variable; refuses to start without it."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(
            f"The environment variable {name} is required by "
            f"{os.environ.get('DJANGO_SETTINGS_MODULE', 'these settings')} and is not set."
            + (f" {hint}" if hint else "")
        )
    return value


def optional(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip() or default


def csv_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


NO_NETWORKS = "none"


def ip_networks(name: str, value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses and networks (10.0.0.0/8), or `none` alone for none on
    purpose. A bad entry refuses to start, naming the variable: a typo must not quietly
    trust nobody, and "10.0.0.5/8" must not quietly widen to 10.0.0.0/8."""
    if value.strip().lower() == NO_NETWORKS:
        return ()
    networks = []
    for entry in csv_list(value):
        try:
            networks.append(ipaddress.ip_network(entry))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {entry!r} is not an IP address or a network (like 10.0.0.0/8); "
                f"write {NO_NETWORKS!r} alone for none."
            ) from None
    return tuple(networks)


def unguessable_path(secret: str, purpose: str) -> str:
    """A URL path segment derived from a secret: stable on every node, unguessable outside."""
    digest = hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()
    return f"{purpose}-{digest[:20]}/"


def redis_url_with_credentials(name: str) -> str:
    """A mandatory Redis URL that carries a password (and an ACL user, if any).

    An open Redis lets anyone who reaches it read tokens and rewrite counters;
    MiniHub's deployed environments refuse to start against one.
    """
    url = require(name)
    if not urlsplit(url).password:
        raise ImproperlyConfigured(
            f"{name} must carry credentials: redis://:PASSWORD@host:6379/0 or "
            f"redis://USER:PASSWORD@host:6379/0 (rediss:// for TLS). "  # pragma: allowlist secret
            "Set a password (requirepass) or an ACL user on the Redis server."
        )
    return url


def sentinel_addresses(name: str, value: str) -> list[tuple[str, int]]:
    """host:port,host:port,... of the Redis Sentinels; empty for none. A bad entry refuses
    to start, naming the variable: a typo must not quietly fall back to REDIS_URL's host."""
    addresses = []
    for entry in csv_list(value):
        host, _, port = entry.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ImproperlyConfigured(
                f"{name}: {entry!r} is not host:port; write the Sentinels as "
                "host:port,host:port,... (26379 is Sentinel's usual port)."
            )
        addresses.append((host.strip("[]"), int(port)))
    return addresses
