"""Export one conversation's branch on screen (root to current leaf) as Markdown, for reading and sharing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from desktop_llm.storage.atomic_write import atomic_text_file
from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.export_json import read_snapshot
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.records import Conversation, StoredMessage

_ROLE_HEADINGS = {"system": "System", "user": "User", "assistant": "Assistant", "tool": "Tool result"}


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _usage(message: StoredMessage) -> str:
    counts = [
        f"{value:,} {label}"
        for value, label in (
            (message.input_tokens, "in"),
            (message.output_tokens, "out"),
            (message.cached_input_tokens, "cached"),
            (message.reasoning_tokens, "reasoning"),
        )
        if value
    ]
    return " / ".join(counts) + " tokens" if counts else ""


def _fenced(text: str) -> str:
    fence = "```"
    while fence in text:  # a fence longer than any run of backticks inside
        fence += "`"
    return f"{fence}\n{text}\n{fence}"


def _extras(message: StoredMessage) -> list[str]:
    """Return the message's files and tool calls as Markdown blocks (the files' bytes stay out)."""
    parts: list[str] = []
    if message.attachments:
        parts.append(
            "\n".join(
                f"- Attached: {ref.name} ({ref.media_type}, {ref.size:,} bytes)"
                for ref in message.attachments
            )
        )
    for call in message.tool_calls:
        parts.append(f"Called `{call.name}`:\n\n" + _fenced(call.arguments))
    return parts


def _message_markdown(message: StoredMessage) -> str:
    heading = _ROLE_HEADINGS.get(message.role, message.role)
    if message.role == "assistant" and message.model:
        heading += f" · {message.model}"
    if message.role == "tool":
        heading += f" · {message.tool_name}" + (f" ({message.tool_server})" if message.tool_server else "")
        if message.tool_is_error:
            heading += " · failed"
    parts = [f"## {heading}"]
    if message.reasoning.strip():
        parts.append("> **Reasoning**\n>\n" + _quote(message.reasoning.strip()))
    if message.content.strip() or not (message.attachments or message.tool_calls):
        parts.append(message.content.rstrip() or "*(empty)*")
    parts.extend(_extras(message))
    notes: list[str] = []
    if message.status != "complete":
        notes.append(message.status)
    if message.error:
        notes.append(f"error: {message.error}")
    if usage := _usage(message):
        notes.append(usage)
    if notes:
        parts.append("*" + " · ".join(notes).replace("*", "\\*") + "*")
    return "\n\n".join(parts)


def conversation_markdown(conversation: Conversation, path: Sequence[StoredMessage]) -> str:
    """Return the conversation's active branch ``path`` (root first) as a Markdown document."""
    title = conversation.title.strip() or "Untitled conversation"
    facts = [f"- Started: {conversation.created_at}"]
    if conversation.model:
        facts.append(f"- Model: {conversation.model}")
    sections = [f"# {title}", "\n".join(facts)]
    if conversation.system_prompt.strip() and not any(m.role == "system" for m in path):
        sections.append("## System\n\n" + conversation.system_prompt.strip())
    sections.extend(_message_markdown(message) for message in path)
    return "\n\n".join(sections) + "\n"


def export_markdown_file(db: Database, conversation_id: str, out_path: Path) -> int:
    """Write one conversation's active branch to ``out_path`` as Markdown; return how many messages.

    Raises:
        NotFound: there is no such conversation (``out_path`` is left alone).
    """
    with read_snapshot(db):
        conversation = ConversationRepository(db).get(conversation_id)
        path = MessageRepository(db).active_path(conversation_id)
    with atomic_text_file(out_path) as out:
        out.write(conversation_markdown(conversation, path))
    return len(path)
