"""Fit each request into its model's context window, and tell the UI what will be sent.

Counting a long conversation's tokens takes time the first time (the tokenizer, then every
message once), so planning runs off the event loop's thread; the per-message cache makes every
later plan cost only the new text. The strategy is per conversation (``params["context"]``:
"sliding" or "summarise"); a summary the model wrote is kept in ``params["summary"]`` and
reused until it no longer fits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from desktop_llm.core.catalog import Catalog
from desktop_llm.core.context import ContextMessage, ContextRequest, FitResult, Summary, fit_context
from desktop_llm.core.prompt_data import DATA_NOTICE, data_block
from desktop_llm.core.tokens import TokenCounter
from desktop_llm.providers import ChatRequest, Message
from desktop_llm.services.attachment_prep import PreparedMessage
from desktop_llm.storage.records import Conversation, StoredMessage

SYSTEM_PROMPT_ID = "system-prompt"
SUMMARY_ID = "summary"
DRAFT_ID = "draft"
SUMMARY_PREFIX = "Summary of the earlier part of this conversation:\n\n"
# Reply priming plus a little room: our counts are estimates for most non-OpenAI models.
DEFAULT_MARGIN = 32


class ContextTooLong(ValueError):
    """Even the messages that must be sent do not fit the model's window; the text says what to do."""


@dataclass(frozen=True)
class ContextPlan:
    """A fitted request and what the person should see about it."""

    request: ChatRequest
    fit: FitResult
    context_window: int
    exact: bool
    model_known: bool
    input_rate: Decimal | None = None  # list dollars per million prompt tokens, when known

    def prompt_dollars(self, tokens: int) -> Decimal | None:
        """Return what ``tokens`` of prompt cost at the model's list price (images by their rule)."""
        return None if self.input_rate is None else self.input_rate * tokens / 1_000_000

    @property
    def excluded_ids(self) -> frozenset[str]:
        """Stored messages that will not be sent (dimmed in the chat view)."""
        return frozenset(self.fit.dropped_ids) - {SYSTEM_PROMPT_ID, SUMMARY_ID, DRAFT_ID}


def is_sendable(message: StoredMessage) -> bool:
    """Return whether a stored turn goes to the model: any with text, and every complete one.

    A failed reply with no text is not part of the conversation the model should see; stopped
    and interrupted replies are sent as the text they have, since that is what the person saw.
    """
    return bool(message.content) or message.status == "complete"


class ContextPlanner:
    """Builds fitted requests for conversations.

    Args:
        counter: the shared, cached token counter.
        catalog: context windows and output limits by model.
        margin: tokens kept free beside the reply's maximum.
    """

    def __init__(self, counter: TokenCounter, catalog: Catalog, *, margin: int = DEFAULT_MARGIN) -> None:
        self._counter = counter
        self._catalog = catalog
        self._margin = margin

    async def plan(
        self,
        conversation: Conversation,
        history: Sequence[StoredMessage],
        *,
        budget_scale: float = 1.0,
        draft: str = "",
        prepared: Mapping[str, PreparedMessage] | None = None,
    ) -> ContextPlan:
        """Fit ``history`` (the active path before the reply) for ``conversation``'s model.

        ``draft`` is a message not yet sent (the composer's text), planned as the newest one.
        ``prepared`` holds, by message id (``DRAFT_ID`` for the draft), the messages with
        attachments as the model gets them: their text, files and estimated extra tokens.
        """
        return await asyncio.to_thread(
            self.plan_blocking, conversation, history, budget_scale, draft, prepared
        )

    def plan_blocking(
        self,
        conversation: Conversation,
        history: Sequence[StoredMessage],
        budget_scale: float = 1.0,
        draft: str = "",
        prepared: Mapping[str, PreparedMessage] | None = None,
    ) -> ContextPlan:
        """Like ``plan``, on the calling thread (tests, tools)."""
        model = conversation.model or ""
        params = conversation.params or {}
        info = self._catalog.lookup(model)
        max_output = int(params.get("max_tokens") or min(info.max_output, info.context_window // 4))
        prepared = prepared or {}
        messages, exact = self._context_messages(conversation, history, model, draft, prepared)
        request = ContextRequest(
            messages=messages,
            context_window=info.context_window,
            max_output=max_output,
            margin=self._margin,
            strategy="summarise" if params.get("context") == "summarise" else "sliding",
            summary=self._summary(params, model),
            model_label=model or "the model",
            budget_scale=budget_scale,
        )
        fit = fit_context(request)
        chat_request = ChatRequest(
            model=model,
            messages=[_message(m.id, m.role, m.text, prepared) for m in fit.messages_to_send],
            temperature=params.get("temperature"),
            max_tokens=params.get("max_tokens"),
        )
        rate = info.price.rates_for(fit.total_tokens).input if info.price is not None else None
        return ContextPlan(chat_request, fit, info.context_window, exact, info.known, rate)

    def _context_messages(
        self,
        conversation: Conversation,
        history: Sequence[StoredMessage],
        model: str,
        draft: str,
        prepared: Mapping[str, PreparedMessage],
    ) -> tuple[list[ContextMessage], bool]:
        exact = True
        messages: list[ContextMessage] = []

        def add(message_id: str, role: str, text: str, pinned: bool = False) -> None:
            nonlocal exact
            extra = 0
            if message_id in prepared:  # attachments: their text is in the content, images estimated
                text, extra = prepared[message_id].content, prepared[message_id].extra_tokens
            count = self._counter.count_message(role, text, model)
            exact = exact and count.exact and not extra
            messages.append(ContextMessage(message_id, role, text, count.count + extra, pinned))

        if conversation.system_prompt.strip():
            add(SYSTEM_PROMPT_ID, "system", conversation.system_prompt)
        for stored in history:
            if is_sendable(stored) or stored.id in prepared:
                add(stored.id, stored.role, stored.content, stored.pinned)
        if draft or DRAFT_ID in prepared:
            add(DRAFT_ID, "user", draft)
        return messages, exact

    def _summary(self, params: dict[str, Any], model: str) -> Summary | None:
        stored = params.get("summary")
        if not isinstance(stored, dict) or not stored.get("text") or not stored.get("covers_through_id"):
            return None
        # The model wrote it from what people and models said: it joins as data, not orders.
        text = f"{SUMMARY_PREFIX}{DATA_NOTICE}\n\n{data_block('summary', str(stored['text']))}"
        tokens = self._counter.count_message("system", text, model).count
        return Summary(ContextMessage(SUMMARY_ID, "system", text, tokens), str(stored["covers_through_id"]))


def _message(message_id: str, role: str, text: str, prepared: Mapping[str, PreparedMessage]) -> Message:
    """Return a provider message, with its prepared attachments when it has any."""
    files = prepared.get(message_id)
    return Message(role, text, attachments=files.attachments if files else ())  # type: ignore[arg-type]
