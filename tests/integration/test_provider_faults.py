"""Every fault maps to the right error, with a message a person can act on and never the key."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
from fakes.provider_server import ProviderServer, Reply
from provider_kit import (
    KEY,
    KINDS_ON_SERVER,
    chat,
    closed_port,
    collect,
    error_of,
    make_provider,
    server_fixture,  # noqa: F401  (the ``server`` fixture)
)

from desktop_llm.providers import (
    AuthenticationError,
    ConnectionFailed,
    ContentFiltered,
    ContextLengthExceeded,
    InvalidRequestError,
    NotFoundError,
    ProviderConfig,
    ProviderError,
    ProviderTimeout,
    RateLimitError,
    ServerError,
    StreamInterrupted,
    TextDelta,
    create_provider,
)
from desktop_llm.providers.base import CallState
from desktop_llm.providers.gemini import GeminiStreamReader
from desktop_llm.providers.http_errors import Origin, error_from_response

KEY_PLACES = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GOOGLE_API_KEY or GEMINI_API_KEY",
}


# -- HTTP statuses -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
@pytest.mark.parametrize(
    ("status", "error_class", "retryable"),
    [
        (400, InvalidRequestError, False),
        (401, AuthenticationError, False),
        (403, AuthenticationError, False),
        (404, NotFoundError, False),
        (422, InvalidRequestError, False),
        (429, RateLimitError, True),
        (500, ServerError, True),
        (503, ServerError, True),
        (529, ServerError, True),
    ],
)
async def test_status_maps_to_error_class(
    server: ProviderServer, kind: str, status: int, error_class: type[ProviderError], retryable: bool
) -> None:
    error = await error_of(server, kind, Reply(status=status, error_message="the server's own words"))
    assert type(error) is error_class
    assert error.status_code == status
    assert error.retryable is retryable
    assert f"({status})" in str(error)
    assert "the server's own words" in str(error)


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_rejected_key_message_says_where_to_fix_it(server: ProviderServer, kind: str) -> None:
    error = await error_of(
        server, kind, Reply(status=401, error_message=f"Incorrect API key provided: {KEY}.")
    )
    assert isinstance(error, AuthenticationError)
    message = str(error)
    assert "rejected the API key (401)" in message
    assert "Settings > Providers" in message
    assert KEY_PLACES[kind] in message
    assert KEY not in message
    assert "Incorrect API key provided: [redacted]" in message


async def test_a_wrong_key_refused_by_the_server_is_an_authentication_error(server: ProviderServer) -> None:
    server.api_key = "the-right-key"
    async with make_provider(server, "openai", max_retries=0) as provider:
        with pytest.raises(AuthenticationError, match="OPENAI_API_KEY"):
            await provider.list_models()


@pytest.mark.parametrize(
    ("kind", "reply"),
    [
        ("openai", Reply(status=400, error_type="context_length_exceeded", error_message="too long")),
        ("openai-compatible", Reply(status=400, error_message="This model's maximum context length is 8192")),
        ("anthropic", Reply(status=400, error_message="prompt is too long: 210000 tokens > 200000 maximum")),
        (
            "gemini",
            Reply(
                status=400,
                error_message="The input token count (1200000) exceeds the maximum number of tokens allowed.",
            ),
        ),
        ("ollama", Reply(status=400, error_message="input length exceeds the context length")),
    ],
)
async def test_context_overflow_is_recognised(server: ProviderServer, kind: str, reply: Reply) -> None:
    error = await error_of(server, kind, reply)
    assert isinstance(error, ContextLengthExceeded)
    assert "too long for this model" in str(error)
    assert not error.retryable


async def test_rate_limit_carries_retry_after(server: ProviderServer) -> None:
    error = await error_of(server, "openai", Reply(status=429, headers={"retry-after": "7"}))
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0
    assert "wait 7 s" in str(error)


async def test_exhausted_quota_is_not_retryable(server: ProviderServer) -> None:
    error = await error_of(server, "openai", Reply(status=429, error_type="insufficient_quota"))
    assert isinstance(error, RateLimitError)
    assert not error.retryable
    assert "quota" in str(error)


async def test_not_found_names_the_base_url(server: ProviderServer) -> None:
    error = await error_of(server, "anthropic", Reply(status=404, error_message="model: nope"))
    assert server.base_url in str(error)
    assert "model name" in str(error)


def test_a_body_that_is_not_json_is_quoted_as_text() -> None:
    origin = Origin(name="Proxy test", base_url="http://127.0.0.1:9")
    error = error_from_response(502, b"<html><body>Bad   gateway</body></html>", {}, origin)
    assert isinstance(error, ServerError)
    assert '"<html><body>Bad gateway</body></html>"' in str(error)
    assert error.retryable


def test_a_redirect_points_at_the_base_url() -> None:
    origin = Origin(name="LM Studio", base_url="http://127.0.0.1:1234")
    error = error_from_response(307, b"", {"location": "http://127.0.0.1:1234/v1/models"}, origin)
    assert isinstance(error, NotFoundError)
    assert "redirected the request (307) to http://127.0.0.1:1234/v1/models" in str(error)
    assert "Check the base URL (http://127.0.0.1:1234)" in str(error)


# -- mid-stream faults ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_malformed_event_before_output_is_a_server_error(server: ProviderServer, kind: str) -> None:
    error = await error_of(server, kind, Reply(malformed_after=0))
    assert isinstance(error, ServerError)
    assert "could not be read" in str(error)


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_faults_after_output_interrupt_the_stream_keeping_the_text(
    server: ProviderServer, kind: str
) -> None:
    faults = [
        (Reply(text="one two three four", drop_after=2), ConnectionFailed),
        (Reply(text="one two three four", malformed_after=2), ServerError),
        (Reply(text="one two three four", error_event_after=2), ServerError),
    ]
    async with make_provider(server, kind) as provider:
        for reply, cause in faults:
            server.push(reply)
            received = []
            with pytest.raises(StreamInterrupted) as caught:
                async for event in provider.stream(chat()):
                    received.append(event)
            assert caught.value.partial_text == "one two"
            assert "".join(e.text for e in received if isinstance(e, TextDelta)) == "one two"
            assert isinstance(caught.value.cause, cause)
            assert "The text received so far is kept" in str(caught.value)
    assert len(server.chat_requests) == 3  # never retried once output had started


async def test_a_clean_end_before_any_finish_reason_is_interrupted() -> None:
    """A body that ends in good order but before the finish reason is not a finished reply."""
    body = b'data: {"choices":[{"index":0,"delta":{"content":"Half a"}}]}\n\n'
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n"

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"content-length: *(\d+)", request_head, re.IGNORECASE)
        await reader.readexactly(int(length.group(1)) if length else 0)  # read all: no reset on close
        writer.write(head % len(body) + body)
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    config = ProviderConfig("openai-compatible", base_url=f"http://127.0.0.1:{port}/v1")
    async with listener, create_provider(config) as provider:
        with pytest.raises(StreamInterrupted, match="ended before it was finished") as caught:
            await collect(provider)
    assert caught.value.partial_text == "Half a"


async def test_anthropic_overloaded_error_event_before_output(server: ProviderServer) -> None:
    error = await error_of(server, "anthropic", Reply(error_event_after=0, error_message="Overloaded"))
    assert isinstance(error, ServerError)
    assert error.status_code == 529
    assert "overloaded" in str(error)
    assert error.retryable


async def test_gemini_blocked_prompt_before_output_is_content_filtered() -> None:
    reader = GeminiStreamReader(CallState(model="m"), Origin(name="Google Gemini", base_url="http://x"))
    body = b'data: {"promptFeedback": {"blockReason": "SAFETY"}}\n\n'
    with pytest.raises(ContentFiltered, match="SAFETY"):
        list(reader.feed(body))


# -- timeouts and connections ---------------------------------------------------------------


async def test_read_timeout_before_output(server: ProviderServer) -> None:
    error = await error_of(server, "openai", Reply(silence_before=2.0), read_timeout=0.3)
    assert isinstance(error, ProviderTimeout)
    assert error.retryable
    assert "sent nothing for 0.3 s" in str(error)


async def test_read_timeout_after_output(server: ProviderServer) -> None:
    reply = Reply(text="one two three", silence_after=1, silence_seconds=2.0)
    error = await error_of(server, "anthropic", reply, read_timeout=0.3)
    assert isinstance(error, StreamInterrupted)
    assert error.partial_text == "one"
    assert isinstance(error.cause, ProviderTimeout)


async def test_refused_connection_is_connection_failed(server: ProviderServer) -> None:
    base = f"http://127.0.0.1:{closed_port()}/v1"
    async with make_provider(server, "openai", max_retries=0, base_url=base) as provider:
        with pytest.raises(ConnectionFailed) as caught:
            await collect(provider)
    assert base in str(caught.value)
    assert "Check that the server is running" in str(caught.value)
    assert caught.value.retryable


async def test_a_base_url_without_http_scheme_is_reported() -> None:
    provider = create_provider(ProviderConfig("openai-compatible", base_url="ftp://127.0.0.1:9/v1"))
    async with provider:
        with pytest.raises(ConnectionFailed, match="not an http"):
            await collect(provider)


# -- keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_missing_key_fails_before_any_request(server: ProviderServer, kind: str) -> None:
    async with make_provider(server, kind, api_key=None) as provider:
        with pytest.raises(AuthenticationError) as caught:
            await collect(provider)
        with pytest.raises(AuthenticationError):
            await provider.complete(chat())
        with pytest.raises(AuthenticationError):
            await provider.list_models()
    assert "needs an API key" in str(caught.value)
    assert "Settings > Providers" in str(caught.value)
    assert KEY_PLACES[kind] in str(caught.value)
    assert server.requests == []


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_key_never_appears_in_errors_reprs_or_logs(
    server: ProviderServer, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"Incorrect API key provided: {KEY}"
    server.push(
        Reply(status=500, error_message=echo),  # retried, logged
        Reply(status=401, error_message=echo),
        Reply(text="fine"),
        Reply(text="one two", error_event_after=1, error_message=echo),
    )
    errors: list[BaseException] = []
    async with make_provider(server, kind, max_retries=1) as provider:
        texts = [repr(provider), repr(provider.config), str(provider.origin)]
        for _ in range(3):
            try:
                await collect(provider)
            except ProviderError as error:
                errors.append(error)
        await provider.list_models()
    assert len(errors) == 2
    texts += [str(e) for e in errors] + [repr(e) for e in errors] + [str(errors[1].cause)]
    for text in texts:
        assert KEY not in text
    assert KEY not in caplog.text
    assert "[redacted]" in caplog.text  # the auth header was logged, without its value
