"""The incremental JSON reader reads what json.loads reads, in any chunk size, and says where it breaks."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_llm.storage.json_stream import JsonStream, JsonStreamError, ValueTooLarge

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


def stream_of(text: str | bytes, chunk: int = 1 << 20, **options: Any) -> JsonStream:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return JsonStream(io.BytesIO(data), chunk_chars=chunk, **options)


def read_document(stream: JsonStream) -> dict[str, Any]:
    """Read a top-level object, streaming its list members item by item."""
    document: dict[str, Any] = {}
    for key in stream.iter_object():
        if stream.peek_kind() == "[":
            document[key] = list(stream.iter_array())
        else:
            document[key] = stream.read_value()
    stream.finish()
    return document


@given(
    document=st.dictionaries(st.text(max_size=10), values, max_size=6),
    chunk=st.sampled_from([1, 2, 3, 7, 64, 4096]),
    indent=st.sampled_from([None, 1, 4]),
    ascii_only=st.booleans(),
)
def test_objects_and_arrays_read_piece_by_piece_equal_json_loads(
    document: dict[str, Any], chunk: int, indent: int | None, ascii_only: bool
) -> None:
    text = json.dumps(document, indent=indent, ensure_ascii=ascii_only)
    assert read_document(stream_of(text, chunk)) == json.loads(text)


@given(items=st.lists(values, max_size=20), chunk=st.sampled_from([1, 5, 4096]))
def test_a_top_level_array_yields_its_items(items: list[Any], chunk: int) -> None:
    stream = stream_of(json.dumps(items, ensure_ascii=False), chunk)
    assert list(stream.iter_array()) == items
    stream.finish()


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_a_number_cut_by_a_chunk_boundary_is_read_whole(chunk: int) -> None:
    assert stream_of("123456789", chunk).read_value() == 123456789
    assert stream_of(" -12.5e3 ", chunk).read_value() == -12.5e3


def test_a_byte_order_mark_and_multibyte_characters_split_across_reads() -> None:
    text = '{"日本": ["東京", "京都"], "emoji": "🙂"}'
    assert read_document(stream_of(b"\xef\xbb\xbf" + text.encode("utf-8"), chunk=1)) == json.loads(text)


def test_empty_containers() -> None:
    assert read_document(stream_of('{"a": [], "b": {}}')) == {"a": [], "b": {}}
    assert read_document(stream_of("{}")) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1,\n "b": [1, 2,, 3]}', "line 2 column 13: Expecting value"),
        ('{"a": 1\n\n  "b": 2}', "line 3 column 3: expected ',' or '}', found '\"'"),
        ('{"a": [1, 2', "expected ',' or ']', found the end of the file"),
        ('{"a": "unterminated', "line 1 column 7: Unterminated string"),
        ("{a: 1}", "line 1 column 2: expected a member name in quotes"),
        ('{"a": 1} {"b": 2}', "line 1 column 10: extra data after the document"),
        ('{"a": tru}', "line 1 column 7: Expecting value"),
    ],
)
@pytest.mark.parametrize("chunk", [1, 4096])
def test_broken_json_is_located(text: str, message: str, chunk: int) -> None:
    with pytest.raises(JsonStreamError, match="not valid JSON at ") as raised:
        read_document(stream_of(text, chunk))
    assert message in str(raised.value)


def test_the_position_counts_text_already_dropped_from_the_buffer() -> None:
    text = '{"items": [' + ", ".join(['"' + "x" * 50 + '"'] * 100) + ", oops]}"
    with pytest.raises(JsonStreamError) as raised:
        read_document(stream_of(text, chunk=16))
    assert f"line 1 column {text.index('oops') + 1}:" in str(raised.value)


def test_text_that_is_not_utf8() -> None:
    with pytest.raises(JsonStreamError, match="not UTF-8"):
        read_document(stream_of(b'{"a": "\xff\xfe"}', chunk=3))


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 1000])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_text_that_is_not_utf8_names_the_real_byte_offset(chunk: int, bom: bytes) -> None:
    # Two-, three- and four-byte characters before the bad byte, split across reads.
    head = bom + b'{"a": "' + "é東😀".encode() * 5
    with pytest.raises(JsonStreamError, match=f"byte {len(head)} \\(counting from 0\\) is 0xc3"):
        read_document(stream_of(head + b"\xc3(tail", chunk=chunk))


def test_json_nested_too_deeply_is_named_not_a_recursion_error() -> None:
    with pytest.raises(JsonStreamError, match="the value at line 1 column 16 is nested too deeply"):
        read_document(stream_of('{"a": 1, "b": ' + "[" * 50_000 + "]" * 50_000 + "}"))


def test_a_value_larger_than_the_limit() -> None:
    text = '{"small": [1, 2], "big": ["' + "x" * 5000 + '"]}'
    with pytest.raises(ValueTooLarge, match="larger than 1,000 characters"):
        read_document(stream_of(text, chunk=100, max_value_chars=1000))
    assert read_document(stream_of(text, chunk=100, max_value_chars=10_000))["big"] == ["x" * 5000]


@pytest.mark.parametrize("text", ["abc", 'a"b\\c/d\n', "x\U0001f600y\u00e9", "", "A" * 5000, "tab\there"])
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1000])
def test_a_string_can_be_read_in_pieces_with_escapes_decoded(text: str, chunk: int) -> None:
    document = json.dumps({"data": text, "after": 1}, ensure_ascii=True)
    stream = JsonStream(io.BytesIO(document.encode()), chunk_chars=chunk)
    read: dict[str, object] = {}
    for key in stream.iter_object():
        read[key] = "".join(stream.iter_string()) if key == "data" else stream.read_value()
    stream.finish()
    assert read == {"data": text, "after": 1}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ('{"data": "abc', "ends inside a string"),
        ('{"data": "a\x01b"}', "line 1 column 12: a control character"),
        ('{"data": "\\x"}', "a bad escape"),
    ],
)
def test_a_bad_string_read_in_pieces_is_named(document: str, expected: str) -> None:
    stream = JsonStream(io.BytesIO(document.encode()), chunk_chars=2)
    with pytest.raises(JsonStreamError, match=expected):
        for _ in stream.iter_object():
            "".join(stream.iter_string())


def test_array_items_can_be_read_one_by_one_by_the_caller() -> None:
    stream = JsonStream(io.BytesIO(b'[{"a": "x"}, {"a": "y"}]'), chunk_chars=3)
    seen = []
    for index in stream.iter_items():
        for key in stream.iter_object():
            seen.append((index, key, "".join(stream.iter_string())))
    stream.finish()
    assert seen == [(0, "a", "x"), (1, "a", "y")]
