"""Reading configuration from the environment, failing closed with the variable's name."""

import hashlib
import hmac
import os

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def require(name: str) -> str:
    """The value of a mandatory variable; refuses to start without it."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(
            f"The environment variable {name} is required by "
            f"{os.environ.get('DJANGO_SETTINGS_MODULE', 'these settings')} and is not set."
        )
    return value


def optional(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip() or default


def csv_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def unguessable_path(secret: str, purpose: str) -> str:
    """A URL path segment derived from a secret: stable on every node, unguessable outside."""
    digest = hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()
    return f"{purpose}-{digest[:20]}/"
