import base64
import binascii
import re

from django.core.exceptions import ValidationError

APPID_PATTERN = re.compile(r"^wx[0-9a-f]{16}$")


def validate_appid(appid: str) -> None:
    if not APPID_PATTERN.match(appid or ""):
        raise ValidationError(f"appid must be 'wx' and 16 lowercase hex characters, not {appid!r}.")


def validate_encoding_aes_key(aes_key: str) -> None:
    """WeChat's EncodingAESKey: 43 base64 characters that decode to 32 bytes."""
    if not aes_key:
        return
    try:
        decoded = base64.b64decode(aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("EncodingAESKey must be 43 base64 characters.") from exc
    if len(aes_key) != 43 or len(decoded) != 32:
        raise ValidationError("EncodingAESKey must be 43 base64 characters.")
