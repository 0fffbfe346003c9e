"""SSEDecoder: spec rules, any chunking, any line ending, UTF-8 split anywhere, size limit, linearity."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_llm.providers.sse import DEFAULT_MAX_EVENT_BYTES, EventTooLarge, SSEDecoder, SSEEvent

MiB = 1024 * 1024

# Recorded the way api.openai.com sends a chat completion stream (trimmed ids), with a
# keep-alive comment as some proxies insert, and non-ASCII text in the deltas.
OPENAI_STREAM = (
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    '"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n'
    "\n"
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    '"choices":[{"index":0,"delta":{"content":"Héllo"},"finish_reason":null}]}\n'
    "\n"
    ": keep-alive\n"
    "\n"
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    '"choices":[{"index":0,"delta":{"content":" wörld 😀 中文"},"finish_reason":null}]}\n'
    "\n"
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    '"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n'
    "\n"
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    '"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}\n'
    "\n"
    "data: [DONE]\n"
    "\n"
).encode()

# Recorded the way api.anthropic.com sends a Messages stream: named events, a ping.
ANTHROPIC_STREAM = (
    "event: message_start\n"
    'data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",'
    '"model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":12,'
    '"output_tokens":1}}}\n'
    "\n"
    "event: content_block_start\n"
    'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n'
    "\n"
    "event: ping\n"
    'data: {"type": "ping"}\n'
    "\n"
    "event: content_block_delta\n"
    'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Bonjour 😀"}}\n'
    "\n"
    "event: content_block_delta\n"
    'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" 日本語"}}\n'
    "\n"
    "event: content_block_stop\n"
    'data: {"type":"content_block_stop","index":0}\n'
    "\n"
    "event: message_delta\n"
    'data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}\n'
    "\n"
    "event: message_stop\n"
    'data: {"type":"message_stop"}\n'
    "\n"
).encode()

RECORDED = {"openai": OPENAI_STREAM, "anthropic": ANTHROPIC_STREAM}

# Every field the spec knows, written with "\n"; the line-ending tests rewrite the endings.
SPEC_STREAM_LINES = [
    "\ufeff: a comment right after the byte order mark",
    "retry: 2500",
    "id: 7",
    "event: update",
    "data: first line",
    "data:second line, no space",
    "data:  two spaces keep one",
    "",
    "event: ignored, no data follows",
    "",
    "data",
    "",
    "id",
    "data: after an empty id",
    "colour: unknown fields are ignored",
    "",
    "event: custom-type",
    'data: {"text": "café 😀"}',
    "",
]
SPEC_STREAM_EVENTS = [
    SSEEvent(
        event="update",
        data="first line\nsecond line, no space\n two spaces keep one",
        id="7",
        retry=2500,
    ),
    SSEEvent(event="message", data="", id="7"),
    SSEEvent(event="message", data="after an empty id", id=None),
    SSEEvent(event="custom-type", data='{"text": "café 😀"}', id=None),
]


def decode(*chunks: bytes) -> list[SSEEvent]:
    """Feed the chunks one by one, then close."""
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.close()


def spec_stream(line_ending: str) -> bytes:
    return "".join(line + line_ending for line in SPEC_STREAM_LINES).encode()


@pytest.mark.parametrize("line_ending", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_every_two_chunk_split_gives_the_same_events(line_ending: str) -> None:
    stream = spec_stream(line_ending)
    assert decode(stream) == SPEC_STREAM_EVENTS
    for offset in range(len(stream) + 1):
        assert decode(stream[:offset], stream[offset:]) == SPEC_STREAM_EVENTS, f"split at {offset}"


@pytest.mark.parametrize("name", sorted(RECORDED))
@pytest.mark.parametrize("line_ending", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_recorded_streams_split_at_every_offset(name: str, line_ending: str) -> None:
    stream = RECORDED[name].replace(b"\n", line_ending.encode())
    whole = decode(stream)
    assert len(whole) == stream.count(b"data:")
    for offset in range(len(stream) + 1):
        assert decode(stream[:offset], stream[offset:]) == whole, f"split at {offset}"


def test_recorded_openai_stream_decodes_to_its_json_payloads() -> None:
    events = decode(OPENAI_STREAM)
    assert [event.event for event in events] == ["message"] * 6
    contents = [json.loads(event.data)["choices"][0]["delta"].get("content") for event in events[:3]]
    assert contents == ["", "Héllo", " wörld 😀 中文"]
    assert events[-1].data == "[DONE]"


def test_recorded_anthropic_stream_keeps_event_names() -> None:
    events = decode(ANTHROPIC_STREAM)
    assert [event.event for event in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert json.loads(events[3].data)["delta"]["text"] == "Bonjour 😀"


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    # "\r" ends one chunk and "\n" starts the next: one line end, so no extra blank line
    # may dispatch "a" early or split "b" into its own event.
    assert decode(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [SSEEvent(data="a\nb")]
    assert decode(b"data: a\r", b"\r") == [SSEEvent(data="a")]
    assert decode(b"data: a\r", b"", b"\n", b"\r\n") == [SSEEvent(data="a")]


@pytest.mark.parametrize("text", ["é", "😀", "中文字", "ÿ€😀中"])
def test_multibyte_characters_split_between_chunks(text: str) -> None:
    stream = f'data: {{"content": "{text}"}}\n\n'.encode()
    expected = [SSEEvent(data=f'{{"content": "{text}"}}')]
    for offset in range(len(stream) + 1):
        assert decode(stream[:offset], stream[offset:]) == expected
    assert decode(*(stream[i : i + 1] for i in range(len(stream)))) == expected


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c"])
def test_unicode_line_separators_are_data_not_line_ends(separator: str) -> None:
    # JSON allows U+2028 unescaped in strings; str.splitlines() would wrongly split on it.
    payload = json.dumps({"content": f"one{separator}two"}, ensure_ascii=False)
    events = decode(f"data: {payload}\n\n".encode())
    assert events == [SSEEvent(data=payload)]
    assert json.loads(events[0].data)["content"] == f"one{separator}two"


def test_two_thousand_events_in_one_chunk() -> None:
    stream = b"".join(b'data: {"n": %d}\n\n' % n for n in range(2000))
    events = SSEDecoder().feed(stream)
    assert [json.loads(event.data)["n"] for event in events] == list(range(2000))


def test_comments_and_pings_dispatch_nothing() -> None:
    assert decode(b": ping\n\n:\n\n: another\n\n") == []
    assert decode(b": ping\ndata: x\n: between\n\n") == [SSEEvent(data="x")]


def test_event_id_and_retry_fields() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"event: delta\nid: 41\nretry: 3000\ndata: a\n\ndata: b\n\n")
    assert events == [
        SSEEvent(event="delta", data="a", id="41", retry=3000),
        # The type and retry belong to one block; the last event id persists.
        SSEEvent(event="message", data="b", id="41", retry=None),
    ]
    assert decoder.reconnection_time == 3000


def test_retry_that_is_not_all_digits_is_ignored() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: 12a\ndata: a\n\nretry: -5\ndata: b\n\nretry: 1.5\ndata: c\n\n") == [
        SSEEvent(data="a"),
        SSEEvent(data="b"),
        SSEEvent(data="c"),
    ]
    assert decoder.reconnection_time is None


def test_retry_without_data_still_sets_the_reconnection_time() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: 900\n\n") == []
    assert decoder.reconnection_time == 900


def test_id_containing_nul_is_ignored() -> None:
    assert decode(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n") == [
        SSEEvent(data="a", id="1"),
        SSEEvent(data="b", id="1"),
    ]


def test_unknown_event_types_and_fields_pass_through_or_are_ignored() -> None:
    assert decode(b"event: something_new\nfoo: bar\nDATA: shouted\ndata: x\n\n") == [
        SSEEvent(event="something_new", data="x")
    ]


def test_block_without_data_is_not_dispatched_and_resets_the_type() -> None:
    assert decode(b"event: lonely\n\ndata: x\n\n") == [SSEEvent(event="message", data="x")]


@pytest.mark.parametrize("split", [0, 1, 2, 3, 4])
def test_leading_bom_is_dropped_even_when_split(split: int) -> None:
    stream = b"\xef\xbb\xbfdata: x\n\n"
    assert decode(stream[:split], stream[split:]) == [SSEEvent(data="x")]


def test_only_the_first_bom_is_dropped() -> None:
    # A second BOM is content; with it, the first line's field name is not "data".
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: \xef\xbb\xbfy\n\n") == [SSEEvent(data="\ufeffy")]


def test_truncated_bom_at_end_of_input_is_text() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef\xbb") == []
    assert decoder.close() == []


def test_invalid_utf8_becomes_replacement_characters() -> None:
    assert decode(b"data: a\xffb\xe2\x82\n\n") == [SSEEvent(data="a\ufffdb\ufffd")]


def test_unterminated_final_event_is_dispatched_on_close() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: done\n\nevent: last\ndata: {"finish": true}') == [SSEEvent(data="done")]
    assert decoder.close() == [SSEEvent(event="last", data='{"finish": true}')]
    assert decode(b"data: a\ndata: b\n") == [SSEEvent(data="a\nb")]


def test_close_without_pending_data_dispatches_nothing() -> None:
    assert decode(b"data: a\n\n") == [SSEEvent(data="a")]
    assert decode(b"event: x\nid: 3\n") == []
    assert decode() == []


def test_sixty_four_mib_event_under_the_limit() -> None:
    block = b"x" * MiB  # built once and fed 64 times: the test holds one MiB, the decoder the event
    decoder = SSEDecoder()
    assert 64 * MiB < DEFAULT_MAX_EVENT_BYTES
    events = decoder.feed(b"data: ")
    for _ in range(64):
        events += decoder.feed(block)
    events += decoder.feed(b"\n\n")
    assert len(events) == 1
    data = events[0].data
    assert len(data) == 64 * MiB
    assert data.count("x") == 64 * MiB


def test_event_over_the_limit_raises_before_it_ends() -> None:
    block = b"x" * MiB
    decoder = SSEDecoder()
    decoder.feed(b"data: ")
    fed = 0
    with pytest.raises(EventTooLarge) as caught:
        # Never terminated: the decoder must stop buffering by itself, about a MiB past the limit.
        while fed < DEFAULT_MAX_EVENT_BYTES + 2 * MiB:
            decoder.feed(block)
            fed += MiB
    assert fed <= DEFAULT_MAX_EVENT_BYTES
    error = caught.value
    assert error.limit == DEFAULT_MAX_EVENT_BYTES
    assert error.size > error.limit
    assert f"{error.limit:,} bytes" in str(error)
    assert f"{error.size:,} bytes" in str(error)


def test_limit_counts_data_lines_across_chunks_and_refuses_further_input() -> None:
    decoder = SSEDecoder(max_event_bytes=20)
    assert decoder.feed(b"data: 0123456789\n\ndata: 0123456789\n\n") == [
        SSEEvent(data="0123456789"),
        SSEEvent(data="0123456789"),
    ]
    decoder.feed(b"data: 0123456789\n")
    with pytest.raises(EventTooLarge, match="limit of 20 bytes"):
        decoder.feed(b"data: 0123456789\n")
    with pytest.raises(EventTooLarge):
        decoder.feed(b"\n")
    with pytest.raises(EventTooLarge):
        decoder.close()


def test_limit_applies_inside_one_large_chunk() -> None:
    with pytest.raises(EventTooLarge):
        SSEDecoder(max_event_bytes=10).feed(b"data: 0123456789ABCDEF\n\n")


@pytest.mark.timeout(60)
def test_one_byte_chunks_of_a_two_mib_line_stay_linear() -> None:
    # Re-scanning or re-copying the buffered line on every feed would take about
    # 2 Mi * 1 MiB = 2 TB of work here and hit the timeout; linear decoding takes seconds.
    stream = b"data: " + b"y" * (2 * MiB) + b"\n\n"
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for index in range(len(stream)):
        events += decoder.feed(stream[index : index + 1])
    assert len(events) == 1
    assert len(events[0].data) == 2 * MiB


def split_at(stream: bytes, offsets: list[int]) -> list[bytes]:
    """Cut ``stream`` at the given offsets, in any order; a repeated offset gives an empty chunk."""
    bounds = [0, *sorted(offsets), len(stream)]
    return [stream[start:end] for start, end in pairwise(bounds)]


@given(
    data=st.data(),
    name=st.sampled_from(sorted(RECORDED)),
    line_ending=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_any_chunking_of_a_recorded_stream_gives_the_same_events(
    data: st.DataObject, name: str, line_ending: str
) -> None:
    stream = RECORDED[name].replace(b"\n", line_ending.encode())
    chunks = split_at(stream, data.draw(st.lists(st.integers(0, len(stream)), max_size=40)))
    assert b"".join(chunks) == stream
    assert decode(*chunks) == decode(stream)
