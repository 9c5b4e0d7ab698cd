"""Payload encryption: an AES-GCM codec keyed by ``settings.payload_key`` and the data converter.

With a key configured every payload (workflow inputs, results, messages) and every failure
message and stack trace (``encode_common_attributes``) leaves the process encrypted, so customer
data never sits in Temporal's history in clear text.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"


class PayloadKeyError(ValueError):
    """The configured payload key is not a base64 32-byte key."""


def decode_key(raw: str) -> bytes:
    """The 32 raw bytes of a base64 payload key, or :class:`PayloadKeyError`."""
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PayloadKeyError("POSVENTA_PAYLOAD_KEY must be base64") from exc
    if len(key) != 32:
        raise PayloadKeyError(f"POSVENTA_PAYLOAD_KEY must decode to 32 bytes, got {len(key)}")
    return key


def key_id(key: bytes) -> str:
    """A short, non-secret name of a key (so a rotated key is recognised)."""
    import hashlib

    return hashlib.sha256(b"posventa-payload-key:" + key).hexdigest()[:16]


class AesGcmCodec(PayloadCodec):
    """Encrypts each payload as nonce + AES-256-GCM ciphertext of the serialized payload."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        self._key_id = key_id(key).encode()

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            nonce = os.urandom(12)
            data = nonce + self._aead.encrypt(nonce, payload.SerializeToString(), None)
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID_METADATA: self._key_id},
                    data=data,
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding", b"") != ENCODING:
                out.append(payload)
                continue
            if payload.metadata.get(KEY_ID_METADATA, b"") != self._key_id:
                raise ValueError("payload was encrypted with another key")
            data = payload.data
            plain = self._aead.decrypt(data[:12], data[12:], None)
            decoded = Payload()
            decoded.ParseFromString(plain)
            out.append(decoded)
        return out


def data_converter(payload_key: str = "") -> DataConverter:
    """The default converter; with a key, payloads and failure messages are encrypted."""
    if not payload_key:
        return DataConverter.default
    return dataclasses.replace(
        DataConverter.default,
        payload_codec=AesGcmCodec(decode_key(payload_key)),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
