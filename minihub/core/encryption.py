"""Secrets at rest: Fernet with key rotation (FIELD_ENCRYPTION_KEYS, first key encrypts)."""

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

CIPHERTEXT_PREFIX = "fernet:"


@functools.cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be comma-separated Fernet keys "
            "(32 url-safe base64-encoded bytes each)."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return CIPHERTEXT_PREFIX + fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(CIPHERTEXT_PREFIX):
        raise ValueError("value is not MiniHub ciphertext")
    try:
        return fernet().decrypt(stored.removeprefix(CIPHERTEXT_PREFIX).encode()).decode()
    except InvalidToken as exc:
        raise ValueError("no configured key decrypts this value") from exc


class EncryptedTextField(models.TextField):
    """A text field stored as Fernet ciphertext; Python code sees the plaintext.

    Empty strings stay empty (nothing to hide). Not searchable by value.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)


class CaseSensitiveCharField(models.CharField):
    """Identifiers such as openid and appid compare byte by byte on MySQL too."""

    def db_parameters(self, connection):
        parameters = super().db_parameters(connection)
        if connection.vendor == "mysql":
            parameters["collation"] = "utf8mb4_bin"
        return parameters
