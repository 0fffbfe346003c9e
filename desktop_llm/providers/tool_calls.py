"""Assemble the tool calls of one reply from pieces, whatever order the pieces arrive in.

OpenAI sends a call's id and name in its first piece and its arguments in pieces keyed by
``index``; Anthropic keys them by content block; Gemini and Ollama send each call whole. The
builder keeps them in first-seen order and gives every call an id unique in the reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desktop_llm.providers.types import ToolCall


@dataclass
class _Partial:
    id: str = ""
    name: str = ""
    arguments: str = ""
    provider_data: Any = None


class ToolCallBuilder:
    """Collect calls (whole or in pieces) and return them with ids unique in the reply."""

    def __init__(self) -> None:
        self._calls: dict[object, _Partial] = {}

    def __bool__(self) -> bool:
        return bool(self._calls)

    def piece(
        self, key: object, *, id: str | None = None, name: str | None = None, arguments: str = ""
    ) -> None:
        """Add one piece of the call ``key``: its id and name when they come, more argument text."""
        call = self._calls.setdefault(key, _Partial())
        if id and not call.id:
            call.id = id
        # Some servers repeat the whole name in every piece instead of sending it once.
        if name and name != call.name:
            call.name += name
        call.arguments += arguments

    def add(self, name: str, arguments: str, *, id: str | None = None, provider_data: Any = None) -> None:
        """Add one whole call."""
        self._calls[len(self._calls), "whole"] = _Partial(id or "", name, arguments, provider_data)

    def build(self) -> list[ToolCall]:
        """Return the calls in order; a call without an id (or with a repeated one) gets ``call_<n>``."""
        taken = {call.id for call in self._calls.values() if call.id}
        seen: set[str] = set()
        result = []
        counter = 0
        for call in self._calls.values():
            call_id = call.id
            if not call_id or call_id in seen:
                counter += 1
                while f"call_{counter}" in taken or f"call_{counter}" in seen:
                    counter += 1
                call_id = f"call_{counter}"
            seen.add(call_id)
            result.append(ToolCall(call_id, call.name, call.arguments or "{}", call.provider_data))
        return result
