"""What WeChat's side encrypts (user data, safe-mode pushes), for tests to send to MiniHub.

MiniHub only decrypts (minihub/integrations/wechat/crypto.py); this is the mirror, written
the way WeChat does it, and checked against openssl in tests/test_wechat_crypto.py.
"""

import base64
import json
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from minihub.integrations.wechat.crypto import (
    _PUSH_LENGTH,
    AES_BLOCK_BYTES,
    PUSH_PAD_BLOCK_BYTES,
    PUSH_RANDOM_BYTES,
    WeChatCryptoError,
    _push_key,
    _user_data_key,
)


def _aes_cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes, *, pad_block: int) -> bytes:
    padder = padding.PKCS7(pad_block * 8).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def encrypt_user_data(*, data: dict, iv: bytes, session_key: str) -> str:
    """encryptedData as WeChat makes it (AES-128-CBC with the session_key); base64."""
    if not isinstance(iv, bytes) or len(iv) != AES_BLOCK_BYTES:
        raise WeChatCryptoError(f"iv must be {AES_BLOCK_BYTES} bytes.")
    key = _user_data_key(session_key)
    plaintext = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    ciphertext = _aes_cbc_encrypt(key, iv, plaintext, pad_block=AES_BLOCK_BYTES)
    return base64.b64encode(ciphertext).decode("ascii")


def encrypt_push_message(
    *, message: str, encoding_aes_key: str, appid: str, random_prefix: bytes | None = None
) -> str:
    """A safe-mode push's Encrypt field as WeChat makes it; base64."""
    if random_prefix is None:
        random_prefix = os.urandom(PUSH_RANDOM_BYTES)
    if not isinstance(random_prefix, bytes) or len(random_prefix) != PUSH_RANDOM_BYTES:
        raise WeChatCryptoError(f"random_prefix must be {PUSH_RANDOM_BYTES} bytes.")
    key = _push_key(encoding_aes_key)
    body = message.encode("utf-8")
    frame = random_prefix + _PUSH_LENGTH.pack(len(body)) + body + appid.encode("utf-8")
    ciphertext = _aes_cbc_encrypt(key, key[:AES_BLOCK_BYTES], frame, pad_block=PUSH_PAD_BLOCK_BYTES)
    return base64.b64encode(ciphertext).decode("ascii")
