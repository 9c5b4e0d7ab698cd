"""The AES-GCM payload codec and the data converter built from settings.payload_key."""

from __future__ import annotations

import asyncio
import base64
import os

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from workflows.codec import AesGcmCodec, PayloadKeyError, data_converter, decode_key

KEY = base64.b64encode(os.urandom(32)).decode()


def test_round_trip_and_ciphertext_hides_the_data() -> None:
    codec = AesGcmCodec(decode_key(KEY))
    plain = [Payload(metadata={"encoding": b"json/plain"}, data=b'{"phone": "+34612345678"}')]
    encoded = asyncio.run(codec.encode(plain))
    assert encoded[0].metadata["encoding"] == b"binary/encrypted"
    assert b"+34612345678" not in encoded[0].data
    assert asyncio.run(codec.decode(encoded)) == plain
    # a different key cannot read it
    other = AesGcmCodec(os.urandom(32))
    with pytest.raises(ValueError):
        asyncio.run(other.decode(encoded))


def test_converter_encrypts_failures_only_with_a_key() -> None:
    assert data_converter("") is DataConverter.default
    converter = data_converter(KEY)
    assert isinstance(converter.payload_codec, AesGcmCodec)
    assert isinstance(converter.failure_converter, DefaultFailureConverterWithEncodedAttributes)


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode()])
def test_bad_keys_are_refused(bad: str) -> None:
    with pytest.raises(PayloadKeyError):
        decode_key(bad)
