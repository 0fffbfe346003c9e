"""A provider that plays back scripted replies and records each request: the model in tool-loop tests.

Each reply is a list of stream events (``TextDelta``, ``ToolCall``, ``Finish``...). It speaks the
``stream(request)`` contract of ``Provider`` without HTTP: the wire formats of tool calls are the
provider layer's business, proved by its own tests against the fake server and the SDKs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence

from desktop_llm.providers import ChatRequest, Finish, StreamEvent, TextDelta, ToolCall


def calls_reply(*calls: ToolCall, text: str = "") -> list[StreamEvent]:
    """Return a reply that asks for ``calls`` (after ``text``, if any)."""
    events: list[StreamEvent] = [TextDelta(text)] if text else []
    return [*events, *calls, Finish("tool_calls")]


def text_reply(text: str) -> list[StreamEvent]:
    """Return a reply that answers with ``text``."""
    return [TextDelta(text), Finish("stop")]


class ScriptedProvider:
    """Play ``replies`` in order (the last one again when they run out); record every request.

    Args:
        replies: one list of events per request, or a function of the request returning one.
        clock: records ``request_times`` (perf_counter by default) for the round-overhead benchmark.
    """

    def __init__(
        self,
        replies: Sequence[list[StreamEvent]] | Callable[[ChatRequest], list[StreamEvent]],
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._replies = replies
        self._clock = clock
        self.requests: list[ChatRequest] = []
        self.request_times: list[float] = []
        self.finished_times: list[float] = []

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        self.request_times.append(self._clock())
        self.requests.append(request)
        if callable(self._replies):
            events = self._replies(request)
        else:
            events = self._replies[min(len(self.requests), len(self._replies)) - 1]
        for event in events:
            await asyncio.sleep(0)
            yield event
        self.finished_times.append(self._clock())
