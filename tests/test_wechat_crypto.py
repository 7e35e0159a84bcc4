"""WeChat cryptography: WeChat's published vectors, openssl as an independent implementation,
and the ways bad input must fail."""

import base64
import hashlib
import json
import os
import struct
import subprocess

import pytest

from minihub.integrations.wechat import crypto
from minihub.integrations.wechat.crypto import (
    DecryptError,
    SignatureError,
    WatermarkMismatch,
    WeChatCryptoError,
    decrypt_push_message,
    decrypt_user_data,
    login_state_signature,
    push_msg_signature,
    push_signature,
    raw_data_signature,
    session_key_signature,
    verify_push_msg_signature,
    verify_push_signature,
    verify_raw_data_signature,
)
from tests.wechat_side import encrypt_push_message, encrypt_user_data

# --- WeChat's published example for encryptedData ------------------------------------------
# WeChat mini-program docs: 开放数据校验与解密, demo code (WXBizDataCrypt demo, all languages).
# Copied from binarywang/WxJava,
# weixin-java-miniapp/src/test/java/cn/binarywang/wx/miniapp/util/crypt/WxMaCryptUtilsTest.java
# (commit 96eaeb2caace4f3cfaa4ca26b876a66140aac94e), which reuses the official demo vector.
DEMO_APPID = "wx4f4bc4dec97d474b"
DEMO_SESSION_KEY = "tiihtNczf5v6AKRyjwEUhQ=="
DEMO_IV = "r7BXXKkLb8qrSNn05n0qiA=="
DEMO_ENCRYPTED_DATA = (
    "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC"
    "+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poO"
    "FtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8"
    "xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB"
    "6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJd"
    "NiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOy"
    "uxINew=="
)

# --- WeChat's published examples for message-push safe mode ---------------------------------
# Tencent's official WXBizMsgCrypt samples (公众号 message encryption, the same scheme the
# mini-program message push uses in safe mode).
# (a) Python sample "demo.py" (author jonyqin, 2014), copied in charlesXu86/Chatbot_CN,
#     Chatbot_Web/impl/weixin/Sample.py: decrypt + msg_signature.
SAMPLE_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SAMPLE_TOKEN = "spamtest"
SAMPLE_APPID = "wx2c2769f8efd9abc2"
SAMPLE_TIMESTAMP = "1409735669"
SAMPLE_NONCE = "1320562132"
SAMPLE_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
SAMPLE_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6"
    "F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T33"
    "2jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCg"
    "avjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6Oewp"
    "usjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
SAMPLE_PLAINTEXT = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
    "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
    "<CreateTime>1409735668</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[abcdteT]]></Content>\n"
    "<MsgId>6054768590064713728</MsgId>\n"
    "</xml>"
)
# (b) Java sample test WXBizMsgCryptTest.java, copied in Wyl015/wuyiling,
#     work-test/src/main/resources/Utils/aes/WXBizMsgCryptTest.java: encrypt with fixed random.
JAVA_APPID = "wxb11529c136998cb6"
JAVA_RANDOM = b"aaaabbbbccccdddd"
JAVA_REPLY = "我是中文abcd123"
JAVA_ENCRYPTED = (
    "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
)

# WeChat docs, 用户登录态签名 (developers.weixin.qq.com/minigame/en/dev/tutorial/open-ability/
# http-signature.html): hmac_sha256('{"foo":"bar"}', 'o0q0otL8aEzpcZL/FT9WsQ==') = 654571f7...
DOCS_SESSION_KEY = "o0q0otL8aEzpcZL/FT9WsQ=="
DOCS_LOGIN_SIGNATURE = "654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b"

APPID = "wx0000000000000001"


# --- helpers --------------------------------------------------------------------------------


def openssl_enc(cipher: str, key: bytes, iv: bytes, data: bytes, *, decrypt=False, nopad=False):
    """Run `openssl enc` as an implementation independent of ours."""
    args = ["openssl", "enc", f"-{cipher}", "-K", key.hex(), "-iv", iv.hex()]
    if decrypt:
        args.append("-d")
    if nopad:
        args.append("-nopad")
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def user_data(appid=APPID, **fields):
    return {"openId": "o-test", **fields, "watermark": {"timestamp": 1700000000, "appid": appid}}


def new_session_key() -> tuple[bytes, str]:
    key = os.urandom(16)
    return key, b64(key)


def new_encoding_aes_key() -> tuple[bytes, str]:
    key = os.urandom(32)
    return key, b64(key)[:-1]  # 43 characters: the trailing "=" is dropped


def push_frame(message: bytes, appid: bytes, *, length: int | None = None) -> bytes:
    declared = len(message) if length is None else length
    return os.urandom(16) + struct.pack(">I", declared) + message + appid


def pad32(data: bytes) -> bytes:
    n = 32 - len(data) % 32
    return data + bytes([n]) * n


def openssl_push(frame: bytes, key: bytes) -> str:
    return b64(openssl_enc("aes-256-cbc", key, key[:16], pad32(frame), nopad=True))


def openssl_user_data(plaintext: bytes, key: bytes, iv: bytes) -> str:
    return b64(openssl_enc("aes-128-cbc", key, iv, plaintext))


# --- 1. WeChat's published examples -------------------------------------------------------


def test_official_encrypted_data_example_decrypts():
    data = decrypt_user_data(
        encrypted_data=DEMO_ENCRYPTED_DATA,
        iv=DEMO_IV,
        session_key=DEMO_SESSION_KEY,
        appid=DEMO_APPID,
    )
    assert data["openId"] == "oGZUI0egBJY1zhBYw2KhdUfwVJJE"
    assert data["nickName"] == "Band"
    assert data["unionId"] == "ocMvos6NjeKLIBqg5Mr9QjxrP1FA"
    assert data["gender"] == 1
    assert (data["city"], data["province"], data["country"]) == ("Guangzhou", "Guangdong", "CN")
    assert data["watermark"] == {"timestamp": 1477314187, "appid": DEMO_APPID}


def test_official_encrypted_data_example_rejected_for_another_appid():
    with pytest.raises(WatermarkMismatch):
        decrypt_user_data(
            encrypted_data=DEMO_ENCRYPTED_DATA,
            iv=DEMO_IV,
            session_key=DEMO_SESSION_KEY,
            appid=APPID,
        )


def test_official_encrypted_data_example_with_wrong_session_key_fails():
    with pytest.raises(DecryptError):
        decrypt_user_data(
            encrypted_data=DEMO_ENCRYPTED_DATA,
            iv=DEMO_IV,
            session_key=b64(b"\x01" * 16),
            appid=DEMO_APPID,
        )


def test_official_push_sample_signature_and_decryption():
    assert verify_push_msg_signature(
        token=SAMPLE_TOKEN,
        timestamp=SAMPLE_TIMESTAMP,
        nonce=SAMPLE_NONCE,
        encrypt=SAMPLE_ENCRYPT,
        msg_signature=SAMPLE_MSG_SIGNATURE,
    )
    message = decrypt_push_message(
        encrypt=SAMPLE_ENCRYPT, encoding_aes_key=SAMPLE_AES_KEY, appid=SAMPLE_APPID
    )
    assert message == SAMPLE_PLAINTEXT


def test_official_push_sample_rejected_for_another_appid():
    with pytest.raises(WatermarkMismatch):
        decrypt_push_message(encrypt=SAMPLE_ENCRYPT, encoding_aes_key=SAMPLE_AES_KEY, appid=APPID)


def test_official_push_sample_encrypts_byte_for_byte():
    encrypted = encrypt_push_message(
        message=JAVA_REPLY,
        encoding_aes_key=SAMPLE_AES_KEY,
        appid=JAVA_APPID,
        random_prefix=JAVA_RANDOM,
    )
    assert encrypted == JAVA_ENCRYPTED
    assert (
        decrypt_push_message(encrypt=encrypted, encoding_aes_key=SAMPLE_AES_KEY, appid=JAVA_APPID)
        == JAVA_REPLY
    )


def test_login_state_signature_matches_docs_example():
    assert login_state_signature(DOCS_SESSION_KEY, '{"foo":"bar"}') == DOCS_LOGIN_SIGNATURE


def test_session_key_signature_is_hmac_sha256_of_empty_string_by_openssl():
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", DOCS_SESSION_KEY, "-r"],
        input=b"",
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert session_key_signature(DOCS_SESSION_KEY) == out.split()[0]


# --- 2. openssl as an independent implementation -------------------------------------------


def test_user_data_encrypted_by_openssl_is_decrypted():
    key, session_key = new_session_key()
    iv = os.urandom(16)
    expected = user_data(nickName="Band", purePhoneNumber="13800138000")
    encrypted = openssl_user_data(json.dumps(expected).encode(), key, iv)
    data = decrypt_user_data(
        encrypted_data=encrypted, iv=b64(iv), session_key=session_key, appid=APPID
    )
    assert data == expected


def test_encrypt_user_data_is_decrypted_by_openssl():
    key, session_key = new_session_key()
    iv = os.urandom(16)
    expected = user_data(nickName="Band")
    encrypted = encrypt_user_data(data=expected, iv=iv, session_key=session_key)
    plaintext = openssl_enc("aes-128-cbc", key, iv, base64.b64decode(encrypted), decrypt=True)
    assert json.loads(plaintext) == expected


def test_push_message_encrypted_by_openssl_is_decrypted():
    key, encoding_aes_key = new_encoding_aes_key()
    message = '{"ToUserName":"gh_1","MsgType":"event","Event":"subscribe_msg_popup_event"}'
    encrypted = openssl_push(push_frame(message.encode(), APPID.encode()), key)
    assert (
        decrypt_push_message(encrypt=encrypted, encoding_aes_key=encoding_aes_key, appid=APPID)
        == message
    )


@pytest.mark.parametrize("size", [0, 1, 11, 12, 43, 44, 1000])
def test_push_message_of_every_padding_length_is_decrypted(size):
    """Frames whose length falls on, just before and just after a 32-byte boundary."""
    key, encoding_aes_key = new_encoding_aes_key()
    message = "x" * size
    encrypted = openssl_push(push_frame(message.encode(), APPID.encode()), key)
    assert (
        decrypt_push_message(encrypt=encrypted, encoding_aes_key=encoding_aes_key, appid=APPID)
        == message
    )


def test_encrypt_push_message_is_decrypted_by_openssl():
    key, encoding_aes_key = new_encoding_aes_key()
    message = "<xml><Content><![CDATA[你好 👋]]></Content></xml>"
    prefix = os.urandom(16)
    encrypted = encrypt_push_message(
        message=message, encoding_aes_key=encoding_aes_key, appid=APPID, random_prefix=prefix
    )
    padded = openssl_enc(
        "aes-256-cbc", key, key[:16], base64.b64decode(encrypted), decrypt=True, nopad=True
    )
    assert len(padded) % 32 == 0
    pad = padded[-1]
    assert 1 <= pad <= 32
    assert padded[-pad:] == bytes([pad]) * pad
    frame = padded[:-pad]
    body = message.encode()
    assert frame[:16] == prefix
    assert struct.unpack(">I", frame[16:20])[0] == len(body)
    assert frame[20 : 20 + len(body)] == body
    assert frame[20 + len(body) :] == APPID.encode()


def test_encrypt_push_message_uses_a_fresh_random_prefix():
    _, encoding_aes_key = new_encoding_aes_key()
    first, second = (
        encrypt_push_message(message="same", encoding_aes_key=encoding_aes_key, appid=APPID)
        for _ in range(2)
    )
    assert first != second


# --- 3. error cases: user data --------------------------------------------------------------


def decrypt_demo(**overrides):
    args = {
        "encrypted_data": DEMO_ENCRYPTED_DATA,
        "iv": DEMO_IV,
        "session_key": DEMO_SESSION_KEY,
        "appid": DEMO_APPID,
    }
    return decrypt_user_data(**(args | overrides))


@pytest.mark.parametrize(
    "value",
    ["not base64!", "CiyL*U1Aw", DEMO_ENCRYPTED_DATA[:-1], "CiyL\n" + DEMO_ENCRYPTED_DATA, "中文"],
)
def test_non_base64_encrypted_data_is_rejected(value):
    with pytest.raises(DecryptError, match="encrypted_data is not valid base64"):
        decrypt_demo(encrypted_data=value)


@pytest.mark.parametrize("value", [None, 123, b"CiyL"])
def test_non_string_encrypted_data_is_rejected(value):
    with pytest.raises(DecryptError, match="encrypted_data must be a base64 string"):
        decrypt_demo(encrypted_data=value)


def test_non_base64_iv_is_rejected():
    with pytest.raises(DecryptError, match="iv is not valid base64"):
        decrypt_demo(iv="r7BXXKkL b8qrSNn05n0qiA==")


@pytest.mark.parametrize("length", [0, 8, 15, 17, 32])
def test_wrong_iv_length_is_rejected(length):
    with pytest.raises(DecryptError, match=f"iv must decode to 16 bytes, got {length}"):
        decrypt_demo(iv=b64(b"\x00" * length))


@pytest.mark.parametrize("length", [0, 15, 24, 32])
def test_wrong_session_key_length_is_rejected(length):
    with pytest.raises(DecryptError, match=f"session_key must decode to 16 bytes, got {length}"):
        decrypt_demo(session_key=b64(b"\x00" * length))


def test_non_base64_session_key_is_rejected():
    with pytest.raises(DecryptError, match="session_key is not valid base64"):
        decrypt_demo(session_key="tiihtNczf5v6AKRy-wEUhQ==")


def test_ciphertext_truncated_by_a_block_is_rejected():
    raw = base64.b64decode(DEMO_ENCRYPTED_DATA)
    with pytest.raises(DecryptError, match="padding"):
        decrypt_demo(encrypted_data=b64(raw[:-16]))


@pytest.mark.parametrize("cut", [1, 5, 15])
def test_ciphertext_truncated_mid_block_is_rejected(cut):
    raw = base64.b64decode(DEMO_ENCRYPTED_DATA)
    with pytest.raises(DecryptError, match="multiple of 16"):
        decrypt_demo(encrypted_data=b64(raw[:-cut]))


def test_empty_ciphertext_is_rejected():
    with pytest.raises(DecryptError, match="multiple of 16"):
        decrypt_demo(encrypted_data="")


@pytest.mark.parametrize(
    "tail",
    [b"\x00", b"\x11", b"\x03\x03\x02", b"\x10" * 15 + b"\x11", b"\x04\x05\x05\x05\x05"],
)
def test_bad_padding_is_rejected(tail):
    key, session_key = new_session_key()
    iv = os.urandom(16)
    body = json.dumps(user_data()).encode()
    plaintext = body + b" " * (-(len(body) + len(tail)) % 16) + tail
    encrypted = b64(openssl_enc("aes-128-cbc", key, iv, plaintext, nopad=True))
    with pytest.raises(DecryptError, match="padding"):
        decrypt_user_data(
            encrypted_data=encrypted, iv=b64(iv), session_key=session_key, appid=APPID
        )


@pytest.mark.parametrize(
    "plaintext",
    [b"not json at all", b"\xff\xfe\xfd not utf-8", b'["a", "list"]', b'"string"', b""],
)
def test_plaintext_that_is_not_a_json_object_is_rejected(plaintext):
    key, session_key = new_session_key()
    iv = os.urandom(16)
    encrypted = openssl_user_data(plaintext, key, iv)
    with pytest.raises(DecryptError, match="JSON"):
        decrypt_user_data(
            encrypted_data=encrypted, iv=b64(iv), session_key=session_key, appid=APPID
        )


@pytest.mark.parametrize(
    "data",
    [
        user_data(appid="wx9999999999999999"),
        user_data(appid=APPID.upper()),
        user_data(appid=""),
        {"openId": "o-test"},
        {"openId": "o-test", "watermark": "wx0000000000000001"},
        {"openId": "o-test", "watermark": {"timestamp": 1}},
    ],
)
def test_watermark_of_another_appid_is_rejected(data):
    key, session_key = new_session_key()
    iv = os.urandom(16)
    encrypted = openssl_user_data(json.dumps(data).encode(), key, iv)
    with pytest.raises(WatermarkMismatch):
        decrypt_user_data(
            encrypted_data=encrypted, iv=b64(iv), session_key=session_key, appid=APPID
        )


def test_empty_expected_appid_is_a_configuration_error():
    _, session_key = new_session_key()
    iv = os.urandom(16)
    encrypted = encrypt_user_data(data=user_data(appid=""), iv=iv, session_key=session_key)
    with pytest.raises(WeChatCryptoError):
        decrypt_user_data(encrypted_data=encrypted, iv=b64(iv), session_key=session_key, appid="")


def test_watermark_mismatch_is_a_decrypt_error():
    assert issubclass(WatermarkMismatch, DecryptError)
    assert issubclass(DecryptError, WeChatCryptoError)
    assert issubclass(SignatureError, WeChatCryptoError)


def test_encrypt_user_data_rejects_a_wrong_iv():
    _, session_key = new_session_key()
    with pytest.raises(WeChatCryptoError, match="iv must be 16 bytes"):
        encrypt_user_data(data=user_data(), iv=b"short", session_key=session_key)


# --- 3. error cases: push messages ----------------------------------------------------------


def test_wrong_appid_in_push_frame_is_rejected():
    key, encoding_aes_key = new_encoding_aes_key()
    encrypted = openssl_push(push_frame(b"<xml/>", b"wx9999999999999999"), key)
    with pytest.raises(WatermarkMismatch):
        decrypt_push_message(encrypt=encrypted, encoding_aes_key=encoding_aes_key, appid=APPID)


def test_push_frame_with_appid_as_prefix_of_trailer_is_rejected():
    key, encoding_aes_key = new_encoding_aes_key()
    encrypted = openssl_push(push_frame(b"<xml/>", APPID.encode() + b"x"), key)
    with pytest.raises(WatermarkMismatch):
        decrypt_push_message(encrypt=encrypted, encoding_aes_key=encoding_aes_key, appid=APPID)


@pytest.mark.parametrize("cut", [1, 16, 31, 32])
def test_truncated_push_ciphertext_is_rejected(cut):
    raw = base64.b64decode(SAMPLE_ENCRYPT)
    with pytest.raises(DecryptError):
        decrypt_push_message(
            encrypt=b64(raw[:-cut]), encoding_aes_key=SAMPLE_AES_KEY, appid=SAMPLE_APPID
        )


def test_push_ciphertext_padded_to_16_not_32_bytes_is_rejected():
    """WeChat pads to 32-byte blocks; a 48-byte ciphertext cannot be such a frame."""
    key, encoding_aes_key = new_encoding_aes_key()
    frame = push_frame(b"<xml/>", APPID.encode())  # 16 + 4 + 6 + 18 = 44 bytes
    padded16 = frame + b"\x04" * 4
    assert len(padded16) == 48
    encrypted = b64(openssl_enc("aes-256-cbc", key, key[:16], padded16, nopad=True))
    with pytest.raises(DecryptError, match="multiple of 32"):
        decrypt_push_message(encrypt=encrypted, encoding_aes_key=encoding_aes_key, appid=APPID)


def test_push_frame_declaring_more_bytes_than_it_has_is_rejected():
    key, encoding_aes_key = new_encoding_aes_key()
    encrypted = openssl_push(push_frame(b"<xml/>", APPID.encode(), length=10_000), key)
    with pytest.raises(DecryptError, match="truncated"):
        decrypt_push_message(encrypt=encrypted, encoding_aes_key=encoding_aes_key, appid=APPID)


def test_push_frame_shorter_than_its_header_is_rejected():
    key, encoding_aes_key = new_encoding_aes_key()
    encrypted = openssl_push(os.urandom(19), key)
    with pytest.raises(DecryptError, match="header"):
        decrypt_push_message(encrypt=encrypted, encoding_aes_key=encoding_aes_key, appid=APPID)


def test_push_frame_with_bad_padding_is_rejected():
    key, encoding_aes_key = new_encoding_aes_key()
    frame = push_frame(b"<xml/>", APPID.encode())
    plaintext = frame + b"\x00" * (-len(frame) % 32 or 32)
    encrypted = b64(openssl_enc("aes-256-cbc", key, key[:16], plaintext, nopad=True))
    with pytest.raises(DecryptError, match="padding"):
        decrypt_push_message(encrypt=encrypted, encoding_aes_key=encoding_aes_key, appid=APPID)


def test_push_message_that_is_not_utf8_is_rejected():
    key, encoding_aes_key = new_encoding_aes_key()
    encrypted = openssl_push(push_frame(b"\xff\xfe", APPID.encode()), key)
    with pytest.raises(DecryptError, match="UTF-8"):
        decrypt_push_message(encrypt=encrypted, encoding_aes_key=encoding_aes_key, appid=APPID)


@pytest.mark.parametrize(
    "encoding_aes_key", [SAMPLE_AES_KEY[:-1], SAMPLE_AES_KEY + "H", SAMPLE_AES_KEY[:-1] + "!", None]
)
def test_malformed_encoding_aes_key_is_rejected(encoding_aes_key):
    with pytest.raises(DecryptError, match="EncodingAESKey"):
        decrypt_push_message(
            encrypt=SAMPLE_ENCRYPT, encoding_aes_key=encoding_aes_key, appid=SAMPLE_APPID
        )


def test_non_base64_push_ciphertext_is_rejected():
    with pytest.raises(DecryptError, match="Encrypt is not valid base64"):
        decrypt_push_message(
            encrypt=SAMPLE_ENCRYPT + "!", encoding_aes_key=SAMPLE_AES_KEY, appid=SAMPLE_APPID
        )


def test_wrong_encoding_aes_key_fails_to_decrypt():
    _, other_key = new_encoding_aes_key()
    with pytest.raises(DecryptError):
        decrypt_push_message(encrypt=SAMPLE_ENCRYPT, encoding_aes_key=other_key, appid=SAMPLE_APPID)


def test_encrypt_push_message_rejects_a_wrong_random_prefix():
    with pytest.raises(WeChatCryptoError, match="random_prefix"):
        encrypt_push_message(
            message="x", encoding_aes_key=SAMPLE_AES_KEY, appid=APPID, random_prefix=b"short"
        )


# --- 3. signatures --------------------------------------------------------------------------

RAW_DATA = '{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou"}'


def test_raw_data_signature_is_sha1_of_raw_data_and_session_key():
    expected = hashlib.sha1((RAW_DATA + DEMO_SESSION_KEY).encode()).hexdigest()
    assert raw_data_signature(RAW_DATA, DEMO_SESSION_KEY) == expected


def test_raw_data_signature_right_and_wrong():
    signature = raw_data_signature(RAW_DATA, DEMO_SESSION_KEY)
    assert verify_raw_data_signature(
        raw_data=RAW_DATA, signature=signature, session_key=DEMO_SESSION_KEY
    )
    assert not verify_raw_data_signature(
        raw_data=RAW_DATA + " ", signature=signature, session_key=DEMO_SESSION_KEY
    )
    assert not verify_raw_data_signature(
        raw_data=RAW_DATA, signature=signature, session_key=b64(b"\x00" * 16)
    )
    flipped = signature[:-1] + ("1" if signature[-1] == "0" else "0")
    for wrong in ["", signature[:-1], flipped, signature.upper(), "é" * 40, None, 1]:
        assert not verify_raw_data_signature(
            raw_data=RAW_DATA, signature=wrong, session_key=DEMO_SESSION_KEY
        )


def test_push_signature_right_and_wrong():
    token, timestamp, nonce = "pamtest", "1409304348", "xxxxxx"
    expected = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    assert push_signature(token, timestamp, nonce) == expected
    # Order of arguments does not matter: WeChat sorts them.
    assert push_signature(nonce, token, timestamp) == expected
    assert verify_push_signature(token=token, timestamp=timestamp, nonce=nonce, signature=expected)
    assert not verify_push_signature(
        token=token, timestamp="1409304349", nonce=nonce, signature=expected
    )
    assert not verify_push_signature(
        token="other", timestamp=timestamp, nonce=nonce, signature=expected
    )
    for wrong in ["", expected.upper(), expected[:-1], "ü" * 40, None]:
        assert not verify_push_signature(
            token=token, timestamp=timestamp, nonce=nonce, signature=wrong
        )


def test_push_msg_signature_right_and_wrong():
    assert (
        push_msg_signature(SAMPLE_TOKEN, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT)
        == SAMPLE_MSG_SIGNATURE
    )
    args = {
        "token": SAMPLE_TOKEN,
        "timestamp": SAMPLE_TIMESTAMP,
        "nonce": SAMPLE_NONCE,
        "encrypt": SAMPLE_ENCRYPT,
    }
    assert not verify_push_msg_signature(
        **(args | {"encrypt": SAMPLE_ENCRYPT[:-4] + "AAA="}), msg_signature=SAMPLE_MSG_SIGNATURE
    )
    assert not verify_push_msg_signature(
        **(args | {"nonce": "1320562133"}), msg_signature=SAMPLE_MSG_SIGNATURE
    )
    assert not verify_push_msg_signature(**args, msg_signature="0" * 40)


def test_signature_of_non_string_values_raises_signature_error():
    with pytest.raises(SignatureError, match="timestamp must be a string"):
        push_signature("token", 1409304348, "nonce")
    with pytest.raises(SignatureError, match="session_key must be a string"):
        raw_data_signature(RAW_DATA, None)


def test_every_signature_comparison_goes_through_compare_digest(monkeypatch):
    calls = []
    real = crypto.hmac.compare_digest

    def counting(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(crypto.hmac, "compare_digest", counting)
    raw_sig = raw_data_signature(RAW_DATA, DEMO_SESSION_KEY)
    push_sig = push_signature("t", "1", "n")

    assert verify_raw_data_signature(
        raw_data=RAW_DATA, signature=raw_sig, session_key=DEMO_SESSION_KEY
    )
    assert not verify_raw_data_signature(
        raw_data=RAW_DATA, signature="x", session_key=DEMO_SESSION_KEY
    )
    assert verify_push_signature(token="t", timestamp="1", nonce="n", signature=push_sig)
    assert not verify_push_signature(token="t", timestamp="1", nonce="n", signature="x")
    assert verify_push_msg_signature(
        token=SAMPLE_TOKEN,
        timestamp=SAMPLE_TIMESTAMP,
        nonce=SAMPLE_NONCE,
        encrypt=SAMPLE_ENCRYPT,
        msg_signature=SAMPLE_MSG_SIGNATURE,
    )
    assert not verify_push_msg_signature(
        token=SAMPLE_TOKEN,
        timestamp=SAMPLE_TIMESTAMP,
        nonce=SAMPLE_NONCE,
        encrypt=SAMPLE_ENCRYPT,
        msg_signature="x",
    )
    assert len(calls) == 6
    assert calls[0] == (raw_sig.encode(), raw_sig.encode())


# --- 4. emoji and CJK -----------------------------------------------------------------------

UNICODE_FIELDS = {
    "nickName": "小明😀🎉",
    "city": "广州",
    "province": "广东",
    "country": "中国",
    "signature": "𠮷野家 👨‍👩‍👧 \u200b tab\t newline\n",
}


def test_emoji_and_cjk_round_trip_through_our_functions():
    _, session_key = new_session_key()
    iv = os.urandom(16)
    expected = user_data(**UNICODE_FIELDS)
    encrypted = encrypt_user_data(data=expected, iv=iv, session_key=session_key)
    data = decrypt_user_data(
        encrypted_data=encrypted, iv=b64(iv), session_key=session_key, appid=APPID
    )
    assert data == expected


def test_emoji_and_cjk_encrypted_by_openssl_as_raw_utf8():
    key, session_key = new_session_key()
    iv = os.urandom(16)
    expected = user_data(**UNICODE_FIELDS)
    plaintext = json.dumps(expected, ensure_ascii=False).encode("utf-8")
    encrypted = openssl_user_data(plaintext, key, iv)
    data = decrypt_user_data(
        encrypted_data=encrypted, iv=b64(iv), session_key=session_key, appid=APPID
    )
    assert data == expected


def test_encrypt_user_data_writes_raw_utf8_like_wechat():
    key, session_key = new_session_key()
    iv = os.urandom(16)
    encrypted = encrypt_user_data(data=user_data(**UNICODE_FIELDS), iv=iv, session_key=session_key)
    plaintext = openssl_enc("aes-128-cbc", key, iv, base64.b64decode(encrypted), decrypt=True)
    assert "小明😀🎉".encode() in plaintext


def test_emoji_and_cjk_push_message_round_trip():
    _, encoding_aes_key = new_encoding_aes_key()
    message = '{"Content":"你好，世界 🌏🚀","FromUserName":"o-测试"}'
    encrypted = encrypt_push_message(
        message=message, encoding_aes_key=encoding_aes_key, appid=APPID
    )
    assert (
        decrypt_push_message(encrypt=encrypted, encoding_aes_key=encoding_aes_key, appid=APPID)
        == message
    )
