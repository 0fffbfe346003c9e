"""Base64 in pieces: what the exporter writes joins into the standard encoding; the decoder is strict."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_llm.storage.attachment_stream import Base64Decoder, Base64Error, encode_pieces


@given(st.lists(st.binary(max_size=40), max_size=8))
def test_encoded_pieces_join_into_the_standard_encoding(pieces: list[bytes]) -> None:
    assert "".join(encode_pieces(pieces)) == base64.b64encode(b"".join(pieces)).decode()


@given(st.binary(max_size=200), st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=50))
def test_the_decoder_reads_any_cut_and_hashes_the_bytes(data: bytes, cuts: list[int]) -> None:
    text = base64.b64encode(data).decode()
    decoder = Base64Decoder(keep=True)
    position = 0
    for cut in cuts * (len(text) // len(cuts) + 1):
        decoder.feed(text[position : position + cut])
        position += cut
    assert decoder.finish() == hashlib.sha256(data).hexdigest()
    assert decoder.size == len(data)
    assert decoder.spool is not None and decoder.spool.read() == data
    decoder.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("QUJD\nREVG", "not valid base64"),  # a line break
        ("QUJD REVG", "not valid base64"),
        ("QUJ", "not a multiple of 4"),
        ("QQ==QUJD", "not valid base64"),
        ("QQ=AQUJD", "not valid base64"),
        ("QUJD-_8=", "not valid base64"),  # the URL-safe alphabet is not the standard one
    ],
)
def test_the_decoder_refuses_what_is_not_standard_base64(text: str, expected: str) -> None:
    decoder = Base64Decoder(keep=False)
    with pytest.raises(Base64Error, match=expected):
        decoder.feed(text)
        decoder.finish()


def test_padding_then_more_text_in_a_later_piece_is_refused() -> None:
    decoder = Base64Decoder(keep=False)
    decoder.feed("QQ==")
    with pytest.raises(Base64Error, match="text after the padding"):
        decoder.feed("QUJD")
