"""Group a conversation into alternating turns, and read tool-call arguments as an object.

Anthropic and Gemini take the system prompt apart from the turns and want the turns to
alternate between the person and the model; tool results travel in the person's turn. Each
wire module encodes a ``Turn`` its own way; what they share lives here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from desktop_llm.providers.types import Message, ToolCall

# Where a call's arguments were not a JSON object, kinds that need an object get this wrapper
# instead (the model sees exactly what it sent), and the result tells it so (``INVALID_NOTE``).
INVALID_ARGUMENTS_KEY = "invalid_json_arguments"
INVALID_NOTE = (
    "(Note: the arguments of this call were not a valid JSON object; they are shown back to you "
    f'as {{"{INVALID_ARGUMENTS_KEY}": <the text you sent>}}.)'
)


@dataclass
class Turn:
    """Consecutive messages of one side: "user" (the person and tool results) or "assistant"."""

    role: Literal["user", "assistant"]
    messages: list[Message] = field(default_factory=list)

    @property
    def plain(self) -> bool:
        """Whether every message is bare text (no files, calls or results): sent as one string."""
        return all(
            message.role != "tool" and not message.attachments and not message.tool_calls
            for message in self.messages
        )

    def text(self) -> str:
        """Return the messages' texts joined by blank lines."""
        return "\n\n".join(message.content for message in self.messages)


def group_turns(messages: Sequence[Message]) -> tuple[str, list[Turn]]:
    """Return the system messages joined, and the other messages grouped into alternating turns."""
    system = [message.content for message in messages if message.role == "system"]
    turns: list[Turn] = []
    for message in messages:
        if message.role == "system":
            continue
        role: Literal["user", "assistant"] = "assistant" if message.role == "assistant" else "user"
        if not turns or turns[-1].role != role:
            turns.append(Turn(role))
        turns[-1].messages.append(message)
    return "\n\n".join(system), turns


def arguments_object(arguments: str) -> dict[str, Any] | None:
    """Return the arguments' JSON object, or None when they are not one."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def call_input(call: ToolCall) -> dict[str, Any]:
    """Return the call's arguments as an object, wrapped (``INVALID_ARGUMENTS_KEY``) when invalid."""
    value = arguments_object(call.arguments)
    return {INVALID_ARGUMENTS_KEY: call.arguments} if value is None else value


def calls_by_id(messages: Iterable[Message]) -> dict[str, ToolCall]:
    """Return every call the model made in ``messages``, by id."""
    return {call.id: call for message in messages for call in message.tool_calls}


def result_text(message: Message, calls: dict[str, ToolCall]) -> str:
    """Return a tool result's text, with ``INVALID_NOTE`` when its call's arguments were wrapped."""
    call = calls.get(message.tool_call_id or "")
    if call is not None and arguments_object(call.arguments) is None:
        return f"{message.content}\n\n{INVALID_NOTE}" if message.content else INVALID_NOTE
    return message.content


def tool_name(message: Message, calls: dict[str, ToolCall]) -> str:
    """Return the tool a result answers: its own ``name``, else its call's."""
    if message.name:
        return message.name
    call = calls.get(message.tool_call_id or "")
    return call.name if call is not None else ""
