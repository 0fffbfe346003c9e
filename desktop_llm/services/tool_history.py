"""Turn stored tool calls and results into provider messages, and keep what is sent well formed.

A stored assistant message carries its ``tool_calls``; each result is a ``tool`` message. Every
provider refuses a call without its result and a result without its call, and context fitting
may leave out either half; ``well_formed`` mends the request: a result whose call is not sent is
dropped, and a call whose result is not sent is left out of its assistant message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from desktop_llm.providers import Attachment, Message, ToolCall
from desktop_llm.storage.records import StoredMessage, StoredToolCall


def provider_calls(calls: Sequence[StoredToolCall]) -> tuple[ToolCall, ...]:
    """Return stored calls as the provider layer takes them back."""
    return tuple(ToolCall(call.id, call.name, call.arguments, call.provider_data) for call in calls)


def stored_calls(calls: Sequence[ToolCall]) -> tuple[StoredToolCall, ...]:
    """Return a reply's calls as they are stored."""
    return tuple(StoredToolCall(call.id, call.name, call.arguments, call.provider_data) for call in calls)


def provider_message(
    stored: StoredMessage, content: str, attachments: tuple[Attachment, ...] = ()
) -> Message:
    """Return the provider message for a stored one, with its tool calls or the call it answers."""
    return Message(
        stored.role,
        content,
        attachments=attachments,
        tool_calls=provider_calls(stored.tool_calls),
        tool_call_id=stored.tool_call_id,
        name=stored.tool_name,
    )


def well_formed(messages: Sequence[Message]) -> list[Message]:
    """Return ``messages`` with every tool call answered and every result asked for.

    A result counts only after its call; an assistant message left with no text and no calls
    is dropped too (it would be an empty turn).
    """
    answered = {m.tool_call_id for m in messages if m.role == "tool" and m.tool_call_id}
    asked: set[str] = set()
    mended: list[Message] = []
    for message in messages:
        if message.role == "tool":
            if message.tool_call_id in asked:
                mended.append(message)
            continue
        if message.tool_calls:
            kept = tuple(call for call in message.tool_calls if call.id in answered)
            asked.update(call.id for call in kept)
            if kept != message.tool_calls:
                if not kept and not message.content:
                    continue
                message = replace(message, tool_calls=kept)
        mended.append(message)
    return mended
