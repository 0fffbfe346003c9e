"""NDJSONDecoder: any chunking, CRLF, UTF-8 split anywhere, blank lines, errors that say where."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_llm.providers.ndjson import DEFAULT_MAX_LINE_BYTES, NDJSONDecodeError, NDJSONDecoder

MiB = 1024 * 1024

# Recorded the way Ollama's /api/chat streams a reply (timestamps trimmed), with non-ASCII text.
OLLAMA_STREAM = (
    '{"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant",'
    '"content":"Héllo"},"done":false}\n'
    '{"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant",'
    '"content":" wörld 😀"},"done":false}\n'
    '{"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant",'
    '"content":" 中文\u2028"},"done":false}\n'
    '{"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant",'
    '"content":""},"done":true,"done_reason":"stop","prompt_eval_count":26,"eval_count":3}\n'
).encode()
OLLAMA_VALUES = [json.loads(line) for line in OLLAMA_STREAM.decode().split("\n") if line]


def decode(*chunks: bytes, decoder: NDJSONDecoder | None = None) -> list[Any]:
    """Feed the chunks one by one, then close."""
    decoder = decoder or NDJSONDecoder()
    values: list[Any] = []
    for chunk in chunks:
        values += decoder.feed(chunk)
    return values + decoder.close()


@pytest.mark.parametrize("line_ending", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_every_two_chunk_split_gives_the_same_values(line_ending: str) -> None:
    stream = OLLAMA_STREAM.replace(b"\n", line_ending.encode())
    assert decode(stream) == OLLAMA_VALUES
    for offset in range(len(stream) + 1):
        assert decode(stream[:offset], stream[offset:]) == OLLAMA_VALUES, f"split at {offset}"


def test_recorded_stream_contents() -> None:
    values = decode(OLLAMA_STREAM)
    assert "".join(value["message"]["content"] for value in values) == "Héllo wörld 😀 中文\u2028"
    assert values[-1]["done_reason"] == "stop"


@pytest.mark.parametrize("text", ["é", "😀", "中文字"])
def test_multibyte_characters_split_between_chunks(text: str) -> None:
    stream = json.dumps({"content": text}, ensure_ascii=False).encode() + b"\n"
    for offset in range(len(stream) + 1):
        assert decode(stream[:offset], stream[offset:]) == [{"content": text}]


def test_u2028_inside_a_value_is_not_a_line_end() -> None:
    line = json.dumps({"content": "a\u2028b\u2029c\x85d"}, ensure_ascii=False).encode()
    assert decode(line + b"\n") == [{"content": "a\u2028b\u2029c\x85d"}]


def test_two_thousand_values_in_one_chunk() -> None:
    stream = b"".join(b'{"n": %d}\n' % n for n in range(2000))
    assert [value["n"] for value in NDJSONDecoder().feed(stream)] == list(range(2000))


def test_blank_and_whitespace_lines_are_skipped() -> None:
    assert decode(b'\n\n{"a": 1}\n   \n\t\r\n{"b": 2}\n\n') == [{"a": 1}, {"b": 2}]


def test_final_line_without_newline_is_parsed_on_close() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a": 1}\n{"done": tr') == [{"a": 1}]
    assert decoder.feed(b"ue}") == []
    assert decoder.close() == [{"done": True}]
    assert decoder.close() == []


def test_any_json_value_per_line() -> None:
    assert decode(b'1\n"two"\n[3]\nnull\n{"five": 5.5}\n') == [1, "two", [3], None, {"five": 5.5}]


def test_invalid_json_names_the_line_and_shows_an_excerpt() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"ok": 1}\n\n') == [{"ok": 1}]
    with pytest.raises(NDJSONDecodeError) as caught:
        decoder.feed(b'{"broken": \n')
    error = caught.value
    assert error.line_number == 3  # blank lines count: the number matches an editor's
    assert "Line 3" in str(error)
    assert "Expecting value (column 12)" in str(error)
    assert "'{\"broken\": '" in str(error)


def test_excerpt_of_a_long_bad_line_is_short() -> None:
    with pytest.raises(NDJSONDecodeError) as caught:
        decode(b'{"text": "' + b"z" * 5000 + b"\n")
    message = str(caught.value)
    assert len(message) < 300
    assert message.count("z") == 80 - len('{"text": "')
    assert "…" in message


def test_invalid_utf8_is_an_error_not_replaced() -> None:
    with pytest.raises(NDJSONDecodeError, match=r"Line 1 .*byte 10 is not valid UTF-8"):
        decode(b'{"text": "\xff"}\n')


def test_utf16_is_not_sniffed() -> None:
    # json.loads(bytes) would quietly accept UTF-16; an NDJSON stream is UTF-8.
    with pytest.raises(NDJSONDecodeError, match="Line 1"):
        decode('{"a": 1}\n'.encode("utf-16-le"))


def test_deep_nesting_is_reported_not_crashing() -> None:
    with pytest.raises(NDJSONDecodeError, match="nested too deeply"):
        decode(b"[" * 200_000 + b"]" * 200_000 + b"\n")


def test_line_over_the_limit_raises_before_it_ends() -> None:
    block = b"x" * MiB  # built once; the decoder holds references, the test holds one MiB
    decoder = NDJSONDecoder()
    decoder.feed(b'{"text": "')
    fed = 0
    with pytest.raises(NDJSONDecodeError) as caught:
        while fed < DEFAULT_MAX_LINE_BYTES + 2 * MiB:
            decoder.feed(block)
            fed += MiB
    assert fed <= DEFAULT_MAX_LINE_BYTES
    assert caught.value.line_number == 1
    assert f"limit of {DEFAULT_MAX_LINE_BYTES:,} bytes" in str(caught.value)


def test_line_at_the_limit_is_accepted_and_one_over_is_not() -> None:
    line = b'["' + b"x" * 16 + b'"]'  # 20 bytes
    assert decode(line + b"\n", decoder=NDJSONDecoder(max_line_bytes=20)) == [["x" * 16]]
    assert decode(line + b"\r\n", decoder=NDJSONDecoder(max_line_bytes=20)) == [["x" * 16]]
    with pytest.raises(NDJSONDecodeError, match=r"Line 2 .*longer than the limit of 19 bytes"):
        decode(b"[]\n" + line + b"\n", decoder=NDJSONDecoder(max_line_bytes=19))


def test_sixty_four_mib_line_under_the_limit() -> None:
    block = b"x" * MiB
    decoder = NDJSONDecoder(max_line_bytes=64 * MiB + 16)
    values = decoder.feed(b'["')
    for _ in range(64):
        values += decoder.feed(block)
    values += decoder.feed(b'"]\n')
    assert len(values) == 1
    assert len(values[0][0]) == 64 * MiB


@pytest.mark.timeout(60)
def test_one_byte_chunks_of_a_two_mib_line_stay_linear() -> None:
    # Re-scanning the buffered line per feed would be ~2 TB of work and hit the timeout.
    stream = b'{"text": "' + b"y" * (2 * MiB) + b'"}\n'
    decoder = NDJSONDecoder()
    values: list[Any] = []
    for index in range(len(stream)):
        values += decoder.feed(stream[index : index + 1])
    assert [len(value["text"]) for value in values] == [2 * MiB]


@given(st.data(), st.sampled_from(["\n", "\r\n"]))
def test_any_chunking_gives_the_same_values(data: st.DataObject, line_ending: str) -> None:
    stream = OLLAMA_STREAM.replace(b"\n", line_ending.encode())
    bounds = [0, *sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=40))), len(stream)]
    chunks = [stream[start:end] for start, end in pairwise(bounds)]
    assert decode(*chunks) == OLLAMA_VALUES


def test_good_lines_before_a_bad_one_in_the_same_chunk_come_first() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a": 1}\n{"done": true}\nnot json\n{"b": 2}\n') == [{"a": 1}, {"done": True}]
    with pytest.raises(NDJSONDecodeError, match="Line 3"):
        decoder.feed(b"")
    with pytest.raises(NDJSONDecodeError, match="Line 3"):
        decoder.close()


def test_a_bad_first_line_still_fails_at_once() -> None:
    with pytest.raises(NDJSONDecodeError, match="Line 1"):
        NDJSONDecoder().feed(b"not json\n{}\n")
