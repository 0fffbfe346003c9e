"""Title conversations automatically: a few words by the same model, else the question's first words."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from desktop_llm.core.prompt_data import DATA_NOTICE, data_block
from desktop_llm.providers import ChatRequest, Message, ProviderError

if TYPE_CHECKING:
    # Type only: the provider base imports httpx, which loads when a provider is first built.
    from desktop_llm.providers.base import Provider

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 60
TITLE_INSTRUCTION = (
    "Write a title of at most six words for the conversation in the user message. Use the "
    "conversation's language. Reply with the title only: no quotes, no trailing punctuation. " + DATA_NOTICE
)


def fallback_title(question: str, *, max_words: int = 8) -> str:
    """Return the first words of the person's first message, shortened to a title."""
    words = question.split()
    title = " ".join(words[:max_words])
    if len(words) > max_words:
        title += "…"
    return _clip(title) or "New chat"


def clean_title(raw: str) -> str:
    """Tidy a model-written title: first line, no quotes, markup or trailing punctuation."""
    line = next((part.strip() for part in raw.splitlines() if part.strip()), "")
    line = re.sub(r"^(title\s*:\s*)", "", line, flags=re.IGNORECASE)
    line = line.strip(" \t\"'`*#_“”‘’«»").rstrip(".!?:;,")
    return _clip(line)


def _clip(title: str) -> str:
    if len(title) <= MAX_TITLE_CHARS:
        return title
    return title[: MAX_TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"


async def write_title(provider: Provider, model: str, question: str, answer: str) -> str:
    """Ask the conversation's own model for a short title; fall back to the question's first words.

    A provider failure is not the person's problem here: the fallback title is used instead.
    """
    # The question and the reply come from outside (a person, a model): data, never instructions.
    excerpt = "\n\n".join((data_block("question", question[:2000]), data_block("answer", answer[:2000])))
    request = ChatRequest(
        model=model,
        messages=[Message("system", TITLE_INSTRUCTION), Message("user", excerpt)],
        temperature=0.2,
        max_tokens=24,
    )
    try:
        result = await provider.complete(request)
    except ProviderError as error:
        log.warning("the model could not title the conversation; using its first words: %s", error)
        return fallback_title(question)
    return clean_title(result.text) or fallback_title(question)
