"""Check the fake provider server's own behaviour with plain httpx and raw sockets.

Faults (drop, silence, write size, malformed and error events, a missing terminator), HTTP/1.1
framing and keep-alive, per-protocol errors and auth, the request record, connection counting,
and a clean stop.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fakes.provider_server import ProviderServer, Reply, ServerBug

PROMPT = [{"role": "user", "content": "one two three"}]
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "k"}

# protocol -> (path, body, headers) of a streaming chat request
CHAT: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    "openai": (
        "/v1/chat/completions",
        {"model": "m", "messages": PROMPT, "stream": True},
        {"authorization": "Bearer k"},
    ),
    "anthropic": (
        "/v1/messages",
        {"model": "m", "messages": PROMPT, "max_tokens": 50, "stream": True},
        ANTHROPIC_HEADERS,
    ),
    "gemini": (
        "/v1beta/models/m:streamGenerateContent?alt=sse",
        {"contents": [{"role": "user", "parts": [{"text": "one two three"}]}]},
        {"x-goog-api-key": "k"},
    ),
    "ollama": ("/api/chat", {"model": "m", "messages": PROMPT}, {"authorization": "Bearer k"}),
}


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as running:
        yield running


@pytest.fixture
def http(server: ProviderServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
        yield client


def stream_chat(http: httpx.Client, protocol: str, **overrides: Any) -> httpx.Response:
    """Send a streaming chat request of a protocol and read the whole response."""
    path, body, headers = CHAT[protocol]
    return http.post(path, json={**body, **overrides}, headers=headers)


def events(body: str) -> list[tuple[str | None, str]]:
    """Split an SSE body into (event name, data) pairs."""
    found = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        found.append((fields.get("event"), fields["data"]))
    return found


def openai_text(body: str) -> str:
    """Join the content deltas of an OpenAI SSE body."""
    chunks = [json.loads(data) for _, data in events(body) if data != "[DONE]"]
    return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])


def wait_until(condition: Any, timeout: float = 5.0) -> bool:
    """Poll a condition (not a timing assertion: it only bounds how long a test may hang)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# -- faults ----------------------------------------------------------------------------------


def test_drop_after_aborts_the_connection_after_exactly_n_tokens(
    server: ProviderServer, http: httpx.Client
) -> None:
    server.push(Reply(text="a b c d e", tokens_per_event=2, drop_after=3))
    received = b""
    path, body, headers = CHAT["openai"]
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", path, json=body, headers=headers) as response,
    ):
        for piece in response.iter_bytes():
            received += piece
    assert openai_text(received.decode()) == "a b c"
    assert b"finish_reason" not in received.replace(b'"finish_reason":null', b"")
    assert wait_until(lambda: server.open_connections == 0)


def test_drop_after_on_a_complete_request_cuts_the_body(server: ProviderServer, http: httpx.Client) -> None:
    server.push(Reply(drop_after=0))
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/v1/chat/completions", json={"model": "m", "messages": PROMPT})


def test_silence_before_stalls_after_the_headers(server: ProviderServer) -> None:
    server.push(Reply(silence_before=30))
    path, body, headers = CHAT["openai"]
    timeout = httpx.Timeout(5.0, read=0.2)
    with (
        httpx.Client(base_url=server.base_url, timeout=timeout) as client,
        client.stream("POST", path, json=body, headers=headers) as response,
    ):
        assert response.status_code == 200  # the headers came at once
        with pytest.raises(httpx.ReadTimeout):
            response.read()
    assert wait_until(lambda: server.open_connections == 0)


def test_silence_after_n_tokens_then_the_rest(server: ProviderServer, http: httpx.Client) -> None:
    server.push(Reply(text="a b c", silence_after=2, silence_seconds=30))
    path, body, headers = CHAT["openai"]
    received = b""
    timeout = httpx.Timeout(5.0, read=0.2)
    with (
        pytest.raises(httpx.ReadTimeout),
        http.stream("POST", path, json=body, headers=headers, timeout=timeout) as response,
    ):
        for piece in response.iter_bytes():
            received += piece
    assert openai_text(received.decode()) == "a b"
    server.push(Reply(text="a b c", silence_after=2, silence_seconds=0.01))
    assert openai_text(stream_chat(http, "openai").text) == "a b c"


def test_write_size_cuts_the_body_into_chunks_of_that_size(server: ProviderServer) -> None:
    server.push(Reply(text="héllo wörld ✓", write_size=3))
    path, body, _ = CHAT["ollama"]
    raw = raw_exchange(server, [request_bytes("POST", path, body, {"connection": "close"})])
    head, _, chunked = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    sizes, payload = parse_chunked(chunked)
    assert sizes[-1] == 0 and max(sizes) == 3
    lines = [json.loads(line) for line in payload.decode().splitlines()]
    assert "".join(line["message"]["content"] for line in lines) == "héllo wörld ✓"


def test_malformed_after_sends_broken_json_and_ends(server: ProviderServer, http: httpx.Client) -> None:
    server.push(Reply(text="a b c", malformed_after=1))
    found = events(stream_chat(http, "openai").text)
    with pytest.raises(json.JSONDecodeError):
        json.loads(found[-1][1])
    assert [json.loads(d)["choices"][0]["delta"].get("content") for _, d in found[1:-1]] == ["a"]


@pytest.mark.parametrize("protocol", ["openai", "anthropic", "gemini", "ollama"])
def test_malformed_after_in_every_protocol(server: ProviderServer, http: httpx.Client, protocol: str) -> None:
    server.push(Reply(text="a b", malformed_after=1))
    last = stream_chat(http, protocol).text.replace("\r\n", "\n").strip().split("\n")[-1]
    with pytest.raises(json.JSONDecodeError):
        json.loads(last.removeprefix("data: "))


@pytest.mark.parametrize(
    ("protocol", "expected"),
    [
        ("openai", {"error": {"message": "m1", "type": "server_error", "param": None, "code": None}}),
        ("anthropic", {"type": "error", "error": {"type": "overloaded_error", "message": "m1"}}),
        ("gemini", {"error": {"code": 500, "message": "m1", "status": "INTERNAL"}}),
        ("ollama", {"error": "m1"}),
    ],
)
def test_error_event_mid_stream_in_each_protocols_shape(
    server: ProviderServer, http: httpx.Client, protocol: str, expected: dict[str, Any]
) -> None:
    server.push(Reply(text="a b c", error_event_after=1, error_message="m1"))
    text = stream_chat(http, protocol).text
    if protocol == "ollama":
        assert json.loads(text.splitlines()[-1]) == expected
    else:
        name, data = events(text)[-1]
        assert json.loads(data) == expected
        assert name == ("error" if protocol == "anthropic" else None)


def test_omit_terminator_keeps_the_finish_but_drops_the_marker(
    server: ProviderServer, http: httpx.Client
) -> None:
    server.push(Reply(text="a", omit_terminator=True), Reply(text="a", omit_terminator=True))
    openai_events = events(stream_chat(http, "openai").text)
    assert json.loads(openai_events[-1][1])["choices"][0]["finish_reason"] == "stop"
    assert all(data != "[DONE]" for _, data in openai_events)
    anthropic_events = events(stream_chat(http, "anthropic").text)
    assert anthropic_events[-1][0] == "message_delta"


def test_raw_bodies_are_sent_as_scripted(server: ProviderServer, http: httpx.Client) -> None:
    server.push(Reply(status=502, raw_body=b"<html>", raw_repeat=3, content_type="text/html"))
    response = stream_chat(http, "openai")
    assert (response.status_code, response.headers["content-type"], response.content) == (
        502,
        "text/html",
        b"<html>" * 3,
    )
    assert server.wait_for_responses(1)[0] > len(b"<html>" * 3)


def test_a_streaming_request_can_get_the_whole_json_reply(server: ProviderServer, http: httpx.Client) -> None:
    server.push(Reply(text="at once", whole_json=True))
    response = stream_chat(http, "openai")
    assert response.headers["content-type"] == "application/json"
    assert response.json()["choices"][0]["message"]["content"] == "at once"


def _read_until(response: httpx.Response, marker: bytes) -> bytes:
    seen = b""
    for chunk in response.iter_bytes():
        seen += chunk
        if marker in seen:
            return seen
    raise AssertionError(f"{marker!r} never came; got {seen[-200:]!r}")


@pytest.mark.parametrize(("protocol", "ping"), [("openai", b": ping"), ("anthropic", b"event: ping")])
def test_ping_every_sends_keepalives_until_the_client_leaves(
    server: ProviderServer, http: httpx.Client, protocol: str, ping: bytes
) -> None:
    server.push(Reply(ping_every=0.01))
    path, body, headers = CHAT[protocol]
    with http.stream("POST", path, json=body, headers=headers) as response:
        assert ping in _read_until(response, ping)
    assert wait_until(lambda: server.open_connections == 0)


def test_after_terminator_and_hold_open_keep_the_response_going(
    server: ProviderServer, http: httpx.Client
) -> None:
    server.push(Reply(text="a", after_terminator=b"junk!", hold_open=True))
    path, body, headers = CHAT["openai"]
    with http.stream("POST", path, json=body, headers=headers) as response:
        assert b"data: [DONE]\n\njunk!" in _read_until(response, b"junk!")
    assert wait_until(lambda: server.open_connections == 0)


def test_a_listing_callable_answers_model_listings(server: ProviderServer, http: httpx.Client) -> None:
    server.listing = lambda query: json.dumps({"data": [], "asked": dict(query)}).encode()
    assert http.get("/v1/models", params={"after": "x"}).json() == {"data": [], "asked": {"after": "x"}}
    server.reset()
    assert http.get("/v1/models").json()["data"][0]["id"] == "model-a"


def test_fault_count_past_the_end_fires_before_the_finish(server: ProviderServer, http: httpx.Client) -> None:
    server.push(Reply(text="a b", error_event_after=99))
    found = events(stream_chat(http, "openai").text)
    assert "error" in json.loads(found[-1][1])
    assert all(json.loads(d).get("choices", [{}])[0].get("finish_reason") is None for _, d in found[:-1])


# -- event sequences -------------------------------------------------------------------------


def test_anthropic_event_sequence(server: ProviderServer, http: httpx.Client) -> None:
    server.push(Reply(text="a b", reasoning="r"))
    names = [name for name, _ in events(stream_chat(http, "anthropic").text)]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",  # thinking_delta
        "content_block_delta",  # signature_delta
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_tokens_per_event_groups_tokens(server: ProviderServer, http: httpx.Client) -> None:
    server.push(Reply(text="a b c d e", tokens_per_event=2))
    chunks = [json.loads(d) for _, d in events(stream_chat(http, "openai").text) if d != "[DONE]"]
    contents = [c["choices"][0]["delta"].get("content") for c in chunks]
    assert contents == ["", "a b", " c d", " e", None]


def test_ollama_streams_by_default_and_completes_with_stream_false(
    server: ProviderServer, http: httpx.Client
) -> None:
    streamed = stream_chat(http, "ollama")
    assert streamed.headers["content-type"] == "application/x-ndjson"
    assert json.loads(streamed.text.splitlines()[-1])["done"] is True
    whole = stream_chat(http, "ollama", stream=False)
    assert whole.json()["message"]["content"] == "Hello from the fake server."


def test_gemini_accepts_the_key_in_the_query(server: ProviderServer, http: httpx.Client) -> None:
    server.api_key = "secret"
    response = http.post("/v1beta/models/m:generateContent?key=secret", json=CHAT["gemini"][1])
    assert response.json()["candidates"][0]["content"]["parts"] == [{"text": "Hello from the fake server."}]


def test_gemini_stream_needs_alt_sse(server: ProviderServer, http: httpx.Client) -> None:
    response = http.post("/v1beta/models/m:streamGenerateContent", json=CHAT["gemini"][1])
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


# -- errors, auth, validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "anthropic_type", "gemini_status"),
    [
        (400, "invalid_request_error", "INVALID_ARGUMENT"),
        (401, "authentication_error", "UNAUTHENTICATED"),
        (403, "permission_error", "PERMISSION_DENIED"),
        (404, "not_found_error", "NOT_FOUND"),
        (413, "request_too_large", "INVALID_ARGUMENT"),
        (429, "rate_limit_error", "RESOURCE_EXHAUSTED"),
        (500, "api_error", "INTERNAL"),
        (503, "api_error", "UNAVAILABLE"),
        (529, "overloaded_error", "INTERNAL"),
    ],
)
def test_error_bodies_follow_each_provider(
    server: ProviderServer, http: httpx.Client, status: int, anthropic_type: str, gemini_status: str
) -> None:
    server.push(*[Reply(status=status, error_message="nope", headers={"x-should-retry": "false"})] * 4)
    answers = {protocol: stream_chat(http, protocol) for protocol in CHAT}
    assert {answer.status_code for answer in answers.values()} == {status}
    assert all(answer.headers["x-should-retry"] == "false" for answer in answers.values())
    assert answers["anthropic"].json() == {
        "type": "error",
        "error": {"type": anthropic_type, "message": "nope"},
    }
    assert answers["gemini"].json() == {"error": {"code": status, "message": "nope", "status": gemini_status}}
    assert answers["ollama"].json() == {"error": "nope"}
    openai_error = answers["openai"].json()["error"]
    assert (openai_error["message"], openai_error["param"]) == ("nope", None)
    assert set(openai_error) == {"message", "type", "param", "code"}


def test_error_type_overrides_the_default(server: ProviderServer, http: httpx.Client) -> None:
    server.push(
        Reply(status=400, error_type="context_length_exceeded"),
        Reply(status=500, error_type="overloaded_error"),
        Reply(status=503, error_type="UNAVAILABLE"),
    )
    assert stream_chat(http, "openai").json()["error"]["code"] == "context_length_exceeded"
    assert stream_chat(http, "anthropic").json()["error"]["type"] == "overloaded_error"
    assert stream_chat(http, "gemini").json()["error"]["status"] == "UNAVAILABLE"


@pytest.mark.parametrize("protocol", ["openai", "anthropic", "gemini", "ollama"])
def test_wrong_key_gets_401_and_pops_no_reply(
    server: ProviderServer, http: httpx.Client, protocol: str
) -> None:
    server.api_key = "right"
    server.push(Reply(text="kept for the right key"))
    assert stream_chat(http, protocol).status_code == 401
    path, body, headers = CHAT[protocol]
    good = {
        name: value.replace("k", "right") if value in ("k", "Bearer k") else value
        for name, value in headers.items()
    }
    answer = http.post(path, json={**body, "stream": False}, headers=good)
    assert answer.status_code == 200
    assert "kept" in answer.text


def test_anthropic_requires_version_header_and_max_tokens(server: ProviderServer, http: httpx.Client) -> None:
    path, body, _ = CHAT["anthropic"]
    no_version = http.post(path, json=body, headers={"x-api-key": "k"})
    no_max = http.post(
        path, json={k: v for k, v in body.items() if k != "max_tokens"}, headers=ANTHROPIC_HEADERS
    )
    for answer, message in ((no_version, "anthropic-version"), (no_max, "max_tokens")):
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["type"] == "invalid_request_error" and message in error["message"]
    assert len(server.chat_requests) == 2


def test_unknown_usage_fields_are_refused_at_once() -> None:
    with pytest.raises(ValueError, match="prompt_tokens"):
        Reply(usage={"prompt_tokens": 1})


def test_unknown_endpoint_is_404(http: httpx.Client) -> None:
    assert http.get("/v2/nothing").status_code == 404


def test_a_bug_in_the_fake_is_reported_on_exit() -> None:
    with (
        pytest.raises(ServerBug),
        ProviderServer() as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        server.push(Reply(model=object()))  # type: ignore[arg-type]  # cannot be encoded as JSON
        assert client.post("/api/chat", json={"model": "m", "stream": False}).status_code == 500


# -- listings --------------------------------------------------------------------------------


def test_listings_page_in_each_protocols_way(server: ProviderServer, http: httpx.Client) -> None:
    server.models = ["a", "b", "c"]
    server.page_size = 2
    first = http.get("/v1/models", headers=ANTHROPIC_HEADERS).json()
    assert (first["has_more"], first["first_id"], first["last_id"]) == (True, "a", "b")
    second = http.get("/v1/models", params={"after_id": "b"}, headers=ANTHROPIC_HEADERS).json()
    assert ([m["id"] for m in second["data"]], second["has_more"]) == (["c"], False)
    before = http.get("/v1/models", params={"before_id": "c", "limit": 1}, headers=ANTHROPIC_HEADERS).json()
    assert ([m["id"] for m in before["data"]], before["has_more"]) == (["b"], True)
    page = http.get("/v1beta/models", params={"pageSize": 5}, headers={"x-goog-api-key": "k"}).json()
    assert [m["name"] for m in page["models"]] == ["models/a", "models/b"]
    rest = http.get("/v1beta/models", params={"pageToken": page["nextPageToken"]}).json()
    assert [m["name"] for m in rest["models"]] == ["models/c"] and "nextPageToken" not in rest
    assert [m["id"] for m in http.get("/v1/models").json()["data"]] == ["a", "b", "c"]
    assert [m["name"] for m in http.get("/api/tags").json()["models"]] == ["a", "b", "c"]
    assert server.chat_requests == []


# -- the request record, keep-alive, connections, lifecycle ----------------------------------


def test_requests_are_recorded(server: ProviderServer, http: httpx.Client) -> None:
    stream_chat(http, "gemini")
    [request] = server.wait_for_requests(1)
    assert (request.method, request.path, request.query) == (
        "POST",
        "/v1beta/models/m:streamGenerateContent",
        {"alt": "sse"},
    )
    assert request.headers["x-goog-api-key"] == "k"
    assert request.json == CHAT["gemini"][1]
    assert json.loads(request.body) == request.json
    assert server.chat_requests == [request]


def test_wait_for_requests_times_out(server: ProviderServer) -> None:
    with pytest.raises(TimeoutError):
        server.wait_for_requests(1, timeout=0.05)


def test_reset_restores_the_defaults(server: ProviderServer, http: httpx.Client) -> None:
    server.push(Reply(text="queued"))
    server.models = ["x"]
    server.page_size = 1
    server.api_key = "set"
    http.get("/api/tags")
    server.reset()
    assert server.requests == [] and server.models == ["model-a", "model-b"]
    assert (server.page_size, server.api_key) == (100, None)
    assert openai_text(stream_chat(http, "openai").text) == "Hello from the fake server."


def test_keep_alive_serves_several_requests_on_one_connection(server: ProviderServer) -> None:
    path, body, headers = CHAT["openai"]
    one = request_bytes("POST", path, {**body, "stream": False}, headers)
    raw = raw_exchange(server, [one, request_bytes("GET", "/api/tags", None, {"connection": "close"})])
    assert raw.count(b"HTTP/1.1 200 OK") == 2
    assert len(server.requests) == 2


def test_a_cancelled_stream_frees_its_connection(server: ProviderServer, http: httpx.Client) -> None:
    server.push(Reply(text="word " * 500, delay=0.01))
    path, body, headers = CHAT["anthropic"]
    with http.stream("POST", path, json=body, headers=headers) as response:
        pieces = response.iter_bytes()  # held: a dropped iterator would close the response
        next(pieces)
        assert server.open_connections == 1
    assert wait_until(lambda: server.open_connections == 0)


def test_stop_closes_idle_connections_and_the_port() -> None:
    server = ProviderServer().start()
    port = server.port
    sock = socket.create_connection(("127.0.0.1", port))
    try:
        assert wait_until(lambda: server.open_connections == 1)
        server.stop()
        assert sock.recv(1) == b""
    finally:
        sock.close()
    assert server.open_connections == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


# -- raw HTTP helpers ------------------------------------------------------------------------


def request_bytes(method: str, path: str, body: Any, headers: dict[str, str] | None = None) -> bytes:
    """Build a raw HTTP/1.1 request."""
    payload = json.dumps(body).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", "host: 127.0.0.1", f"content-length: {len(payload)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def raw_exchange(server: ProviderServer, requests: list[bytes]) -> bytes:
    """Send requests back to back on one socket (the last asks to close) and read until closed."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"".join(requests))
        received = b""
        while data := sock.recv(65536):
            received += data
    return received


def parse_chunked(data: bytes) -> tuple[list[int], bytes]:
    """Decode a chunked body; return the chunk sizes and the payload."""
    sizes, payload = [], b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        sizes.append(size)
        if size == 0:
            return sizes, payload
        payload += data[:size]
        data = data[size + 2 :]
