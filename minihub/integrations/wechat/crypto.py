"""WeChat cryptography: open-data decryption, signatures and message-push safe mode.

Pure functions without Django, MiniHub's side only: decrypting and checking signatures (the
tests build what WeChat's side encrypts with tests/wechat_side.py). Every failure is one of
the exceptions defined here (never an ``assert``, which ``python -O`` strips), and every
signature comparison goes through ``hmac.compare_digest`` so that response timing does not
leak how much of a guess was right.
"""

import base64
import binascii
import hashlib
import hmac
import json
import struct

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

AES_BLOCK_BYTES = 16
USER_DATA_KEY_BYTES = 16
PUSH_KEY_BYTES = 32
PUSH_PAD_BLOCK_BYTES = 32
PUSH_RANDOM_BYTES = 16
ENCODING_AES_KEY_CHARS = 43
_PUSH_LENGTH = struct.Struct(">I")
_PUSH_HEADER_BYTES = PUSH_RANDOM_BYTES + _PUSH_LENGTH.size


class WeChatCryptoError(Exception):
    """Base class: anything WeChat sent (or we were configured with) failed a crypto check."""


class DecryptError(WeChatCryptoError):
    """Ciphertext, key or iv is malformed, or the plaintext is not what WeChat produces."""


class SignatureError(WeChatCryptoError):
    """A signature cannot be computed from the given values (or, raised by callers, is wrong)."""


class WatermarkMismatch(DecryptError):
    """Decryption worked but the data names another appid: it was made for another app."""


# --- helpers -----------------------------------------------------------------------------


def _b64decode(value: object, name: str, *, length: int | None = None) -> bytes:
    """Strict base64 (no stray characters), so garbage is reported, not silently skipped."""
    if not isinstance(value, str):
        raise DecryptError(f"{name} must be a base64 string, not {type(value).__name__}.")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptError(f"{name} is not valid base64.") from exc
    if length is not None and len(raw) != length:
        raise DecryptError(f"{name} must decode to {length} bytes, got {len(raw)}.")
    return raw


def _aes_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes, *, pad_block: int) -> bytes:
    """AES-CBC then strict PKCS#7 removal; CBC needs whole AES blocks, padding whole pad_blocks."""
    if not ciphertext or len(ciphertext) % pad_block:
        raise DecryptError(
            f"Ciphertext length {len(ciphertext)} is not a positive multiple of {pad_block}."
        )
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(pad_block * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise DecryptError("Bad PKCS#7 padding (wrong key, iv or corrupted data).") from exc


def _sha1_hex(text: str) -> str:
    """SHA-1 is weak, but WeChat's protocol mandates it for these signatures."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()  # noqa: S324


def _digests_equal(expected: str, given: object) -> bool:
    """Constant-time comparison; bytes so non-ASCII input is a mismatch, not a TypeError."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def _require_strs(**values: object) -> None:
    """Signatures are defined over strings; anything else is a caller bug, named clearly."""
    for name, value in values.items():
        if not isinstance(value, str):
            raise SignatureError(f"{name} must be a string, not {type(value).__name__}.")


# --- encryptedData (user info, old-style phone number) ------------------------------------


def _user_data_key(session_key: str) -> bytes:
    """The AES-128 key is the base64-decoded session_key, which WeChat makes 16 bytes."""
    return _b64decode(session_key, "session_key", length=USER_DATA_KEY_BYTES)


def _parse_json_object(plaintext: bytes) -> dict:
    """WeChat's open data is always a UTF-8 JSON object; anything else is not from WeChat."""
    try:
        data = json.loads(plaintext.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise DecryptError("Decrypted data is not UTF-8 JSON.") from exc
    if not isinstance(data, dict):
        raise DecryptError("Decrypted data is not a JSON object.")
    return data


def _check_watermark(data: dict, appid: str) -> None:
    """Data encrypted for another mini-program must not be accepted by this one."""
    if not isinstance(appid, str) or not appid:
        raise WeChatCryptoError("The expected appid must be a non-empty string.")
    watermark = data.get("watermark")
    found = watermark.get("appid") if isinstance(watermark, dict) else None
    if found != appid:
        raise WatermarkMismatch(f"watermark.appid is {found!r}, expected {appid!r}.")


def decrypt_user_data(*, encrypted_data: str, iv: str, session_key: str, appid: str) -> dict:
    """Decrypt wx encryptedData (AES-128-CBC, PKCS#7) and check its watermark.

    Raises DecryptError for malformed input, bad padding or non-JSON plaintext, and
    WatermarkMismatch when the data was made for another appid.
    """
    key = _user_data_key(session_key)
    iv_bytes = _b64decode(iv, "iv", length=AES_BLOCK_BYTES)
    ciphertext = _b64decode(encrypted_data, "encrypted_data")
    plaintext = _aes_cbc_decrypt(key, iv_bytes, ciphertext, pad_block=AES_BLOCK_BYTES)
    data = _parse_json_object(plaintext)
    _check_watermark(data, appid)
    return data


# --- signatures -----------------------------------------------------------------------------


def raw_data_signature(raw_data: str, session_key: str) -> str:
    """wx.getUserInfo's signature: sha1(rawData + session_key), lowercase hex."""
    _require_strs(raw_data=raw_data, session_key=session_key)
    return _sha1_hex(raw_data + session_key)


def verify_raw_data_signature(*, raw_data: str, signature: str, session_key: str) -> bool:
    """True if rawData was signed with this session_key (constant-time comparison)."""
    return _digests_equal(raw_data_signature(raw_data, session_key), signature)


def login_state_signature(session_key: str, payload: str) -> str:
    """WeChat's "user login state signature": HMAC-SHA256 keyed by the session_key string.

    The key is the base64 text itself, not its decoded bytes (WeChat docs' example:
    hmac_sha256('{"foo":"bar"}', 'o0q0otL8aEzpcZL/FT9WsQ==') = 654571f7...).
    """
    _require_strs(session_key=session_key, payload=payload)
    key = session_key.encode("utf-8")
    return hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def session_key_signature(session_key: str) -> str:
    """checkSessionKey's signature: the login state signature of the empty string."""
    return login_state_signature(session_key, "")


# --- message push ---------------------------------------------------------------------------


def push_signature(token: str, timestamp: str, nonce: str) -> str:
    """GET check of the push URL: sha1 of the sorted, joined token, timestamp and nonce."""
    _require_strs(token=token, timestamp=timestamp, nonce=nonce)
    return _sha1_hex("".join(sorted([token, timestamp, nonce])))


def verify_push_signature(*, token: str, timestamp: str, nonce: str, signature: str) -> bool:
    """True if the push request's signature matches (constant-time comparison)."""
    return _digests_equal(push_signature(token, timestamp, nonce), signature)


def push_msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """Safe mode msg_signature: sha1 of the sorted, joined token, timestamp, nonce, Encrypt."""
    _require_strs(token=token, timestamp=timestamp, nonce=nonce, encrypt=encrypt)
    return _sha1_hex("".join(sorted([token, timestamp, nonce, encrypt])))


def verify_push_msg_signature(
    *, token: str, timestamp: str, nonce: str, encrypt: str, msg_signature: str
) -> bool:
    """True if msg_signature covers this Encrypt value (constant-time comparison)."""
    expected = push_msg_signature(token, timestamp, nonce, encrypt)
    return _digests_equal(expected, msg_signature)


def _push_key(encoding_aes_key: str) -> bytes:
    """The 43-character EncodingAESKey is base64 of the 32-byte AES key minus its '='."""
    if not isinstance(encoding_aes_key, str) or len(encoding_aes_key) != ENCODING_AES_KEY_CHARS:
        raise DecryptError(f"EncodingAESKey must be {ENCODING_AES_KEY_CHARS} characters.")
    return _b64decode(encoding_aes_key + "=", "EncodingAESKey", length=PUSH_KEY_BYTES)


def _split_push_frame(plaintext: bytes) -> tuple[bytes, bytes]:
    """Frame = 16 random bytes + 4-byte big-endian length + message + appid."""
    if len(plaintext) < _PUSH_HEADER_BYTES:
        raise DecryptError("Push frame is shorter than its 20-byte header.")
    (length,) = _PUSH_LENGTH.unpack_from(plaintext, PUSH_RANDOM_BYTES)
    end = _PUSH_HEADER_BYTES + length
    if end > len(plaintext):
        raise DecryptError(f"Push frame declares {length} message bytes but is truncated.")
    return plaintext[_PUSH_HEADER_BYTES:end], plaintext[end:]


def decrypt_push_message(*, encrypt: str, encoding_aes_key: str, appid: str) -> str:
    """Decrypt a safe-mode push (AES-256-CBC, iv = key[:16], PKCS#7 to 32-byte blocks).

    Verify msg_signature first (verify_push_msg_signature). Raises DecryptError for
    malformed or truncated data and WatermarkMismatch if the frame names another appid.
    """
    if not isinstance(appid, str) or not appid:
        raise WeChatCryptoError("The expected appid must be a non-empty string.")
    key = _push_key(encoding_aes_key)
    ciphertext = _b64decode(encrypt, "Encrypt")
    plaintext = _aes_cbc_decrypt(
        key, key[:AES_BLOCK_BYTES], ciphertext, pad_block=PUSH_PAD_BLOCK_BYTES
    )
    message, frame_appid = _split_push_frame(plaintext)
    if frame_appid != appid.encode("utf-8"):
        raise WatermarkMismatch(f"Push frame is for appid {frame_appid!r}, expected {appid!r}.")
    try:
        return message.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecryptError("Push message is not UTF-8.") from exc
