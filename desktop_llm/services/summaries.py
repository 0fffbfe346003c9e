"""Summarise older turns with the conversation's own model, to keep long chats in the window."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from desktop_llm.core.prompt_data import DATA_NOTICE, data_block
from desktop_llm.providers import ChatRequest, Message
from desktop_llm.storage.records import StoredMessage

if TYPE_CHECKING:
    # Type only: the provider base imports httpx, which loads when a provider is first built.
    from desktop_llm.providers.base import Provider

SUMMARY_INSTRUCTION = (
    "Summarise the conversation in the user message (and the earlier summary, if there is one) so "
    "it can stand in for it later. Keep every fact, decision, name, number, code identifier and "
    "open question; drop pleasantries. Write in the conversation's language, as compact notes, at "
    "most about 300 words. " + DATA_NOTICE
)
# Enough text to summarise well without the summary request itself overflowing small windows.
MAX_SOURCE_CHARS = 24_000


def summary_source(previous: str, older: Sequence[StoredMessage]) -> str:
    """Return the text handed to the model: the earlier summary, then the turns it must now cover.

    Each is a data block (``core.prompt_data``): the turns hold whatever people and models wrote.
    """
    turns = "\n\n".join(f"{m.role.capitalize()}: {m.content}" for m in older if m.content)
    # Keep the newest part if it is too long: the earlier summary already covers the oldest.
    budget = max(MAX_SOURCE_CHARS - len(previous), MAX_SOURCE_CHARS // 2)
    turns = turns if len(turns) <= budget else turns[-budget:]
    blocks = [data_block("earlier-summary", previous[-MAX_SOURCE_CHARS // 2 :])] if previous else []
    return "\n\n".join([*blocks, data_block("conversation", turns)])


async def write_summary(provider: Provider, model: str, previous: str, older: Sequence[StoredMessage]) -> str:
    """Ask the model for a summary of ``older`` (and the ``previous`` summary); errors propagate."""
    request = ChatRequest(
        model=model,
        messages=[
            Message("system", SUMMARY_INSTRUCTION),
            Message("user", summary_source(previous, older)),
        ],
        temperature=0.2,
        max_tokens=600,
    )
    result = await provider.complete(request)
    return result.text.strip()
