"""Shared helpers for the provider tests: a fake server per test, configs, requests, a sleep recorder.

Imported by the ``test_provider_*.py`` files (pytest puts this folder on ``sys.path``);
``from provider_kit import server_fixture`` makes the ``server`` fixture available to a test module.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fakes.provider_server import ProviderServer

from desktop_llm.providers import (
    ChatRequest,
    Finish,
    Message,
    ProviderConfig,
    ProviderError,
    ReasoningDelta,
    RetryPolicy,
    StreamEvent,
    TextDelta,
    ToolCall,
    Usage,
    create_provider,
)
from desktop_llm.providers.base import Provider
from desktop_llm.providers.circuit import CircuitBreaker

KEY = "sk-test-SECRET-4f9a2c7e1b"
KINDS_ON_SERVER = ("openai", "anthropic", "gemini", "ollama", "openai-compatible")


@pytest.fixture(name="server")
def server_fixture() -> Iterator[ProviderServer]:
    """Run a fresh fake provider server for one test."""
    with ProviderServer() as running:
        yield running


class SleepRecorder:
    """Stand in for ``asyncio.sleep`` in ``RetryPolicy``: record each wait, return at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_provider(
    server: ProviderServer,
    kind: str,
    *,
    sleep: SleepRecorder | None = None,
    max_retries: int = 3,
    max_delay: float = 30.0,
    circuit: CircuitBreaker | None = None,
    **config: Any,
) -> Provider:
    """Return a provider of ``kind`` pointed at ``server``, with the test key and instant sleeps."""
    config.setdefault("api_key", KEY)
    config.setdefault("base_url", server.url_for(kind))
    retry = RetryPolicy(max_retries=max_retries, max_delay=max_delay, sleep=sleep or SleepRecorder())
    options = {"circuit": circuit} if circuit is not None else {}
    return create_provider(ProviderConfig(kind, **config), retry=retry, **options)


async def error_of(server: ProviderServer, kind: str, reply: Any, **options: Any) -> ProviderError:
    """Push ``reply`` and return the error one stream of a provider without retries fails with."""
    server.push(reply)
    async with make_provider(server, kind, max_retries=0, **options) as provider:
        with pytest.raises(ProviderError) as caught:
            await collect(provider)
    return caught.value


def closed_port() -> int:
    """Return a local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def chat(*texts: str, model: str = "test-model", **options: Any) -> ChatRequest:
    """Return a request of user messages (``"system: ..."`` and ``"assistant: ..."`` set the role)."""
    messages = []
    for text in texts or ("Say hello.",):
        role, _, content = text.partition(": ")
        if role in ("system", "assistant", "user") and content:
            messages.append(Message(role, content))  # type: ignore[arg-type]
        else:
            messages.append(Message("user", text))
    return ChatRequest(model=model, messages=messages, **options)


async def collect(provider: Provider, request: ChatRequest | None = None) -> list[StreamEvent]:
    """Return every event of one stream."""
    return [event async for event in provider.stream(request or chat())]


def text_of(events: list[StreamEvent]) -> str:
    """Join the text deltas."""
    return "".join(event.text for event in events if isinstance(event, TextDelta))


def reasoning_of(events: list[StreamEvent]) -> str:
    """Join the reasoning deltas."""
    return "".join(event.text for event in events if isinstance(event, ReasoningDelta))


def tool_calls_of(events: list[StreamEvent]) -> list[ToolCall]:
    """Return the tool calls of a stream."""
    return [event for event in events if isinstance(event, ToolCall)]


def assert_event_order(events: list[StreamEvent]) -> None:
    """Check the contract: deltas, then tool calls, then at most one Usage, then exactly one Finish, last."""
    assert events, "a stream must end with Finish"
    assert isinstance(events[-1], Finish)
    assert sum(isinstance(event, Finish) for event in events) == 1
    usages = [i for i, event in enumerate(events) if isinstance(event, Usage)]
    assert len(usages) <= 1
    if usages:
        assert usages[0] == len(events) - 2
    body = events[: usages[0] if usages else -1]
    calls = [i for i, event in enumerate(body) if isinstance(event, ToolCall)]
    assert all(isinstance(event, TextDelta | ReasoningDelta) for event in body[: calls[0] if calls else None])
    assert all(isinstance(event, ToolCall) for event in body[calls[0] if calls else len(body) :])
