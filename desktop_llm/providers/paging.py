"""Follow a model listing's pages, and stop when a server would keep the client paging forever."""

from __future__ import annotations

import logging
from typing import Any

from desktop_llm.providers.types import ModelInfo

log = logging.getLogger(__name__)

# Real listings fit in a few pages (Gemini: 1,000 models a page; Anthropic: 100).
MAX_PAGES = 50


def unique(models: list[ModelInfo]) -> list[ModelInfo]:
    """Return ``models`` without repeats of an id (a page served twice), first one kept."""
    kept: dict[str, ModelInfo] = {}
    for model in models:
        kept.setdefault(model.id, model)
    return list(kept.values())


class PageCursor:
    """Decide whether to ask for another page: only for a new cursor, and at most ``max_pages`` in all.

    A cursor that comes back a second time (or a listing that never ends) would loop forever;
    the models listed so far are kept and a warning is logged instead.

    Args:
        name: the provider's display name, for the log.
        max_pages: the most pages one listing may take.
    """

    def __init__(self, name: str, max_pages: int = MAX_PAGES) -> None:
        self._name = name
        self._max_pages = max_pages
        self._pages = 0
        self._seen: set[str] = set()

    def follow(self, cursor: Any) -> str | None:
        """Note that a page arrived; return ``cursor`` if the next page should be fetched, else None."""
        self._pages += 1
        if not isinstance(cursor, str | int) or isinstance(cursor, bool) or cursor == "":
            return None
        text = str(cursor)
        if text in self._seen:
            log.warning("%s: the model list repeated page cursor %r; stopped paging", self._name, text[:80])
            return None
        if self._pages >= self._max_pages:
            log.warning("%s: the model list went past %d pages; stopped paging", self._name, self._max_pages)
            return None
        self._seen.add(text)
        return text
