"""The composer's token meter: what the next request would send against the model's window.

As the person types (debounced), the open conversation and the draft are planned off the Qt
thread (``ChatService.context_preview``; the planner itself for a chat not saved yet) and the
meter shows "1,240 / 128,000 tokens", "≈" when the count is an estimate, a warning colour near
the limit and the reason when the message will not fit. Messages the plan leaves out are dimmed
in the chat view. Estimates give way to the provider's own figure: when the last reply reported
its usage, the next request is that reply's prompt plus the reply plus the draft.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, Protocol

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QWidget

from desktop_llm.core.theme import palette_for
from desktop_llm.services.context_planner import DRAFT_ID, ContextPlan, ContextPlanner
from desktop_llm.storage.records import Conversation, StoredMessage
from desktop_llm.ui.common.plain_text import plain_tooltip

if TYPE_CHECKING:  # the composer imports the meter; keep its imports light
    from desktop_llm.providers import Attachment
    from desktop_llm.services.chat import ChatService
    from desktop_llm.services.chat_attachments import ChatAttachments
    from desktop_llm.ui.chat.chat_sessions import ChatSession, ChatSettings
    from desktop_llm.ui.common.tasks import TaskKeeper

DEBOUNCE_MS = 300
WARNING_SHARE = 0.85  # of the budget: from here on the meter turns amber
WARNING_COLOURS = {False: "#9a6700", True: "#d29922"}  # light, dark: AA contrast on the composer
Level = Literal["ok", "warning", "error"]


@dataclass(frozen=True)
class MeterReading:
    """What the meter says about the next request.

    Attributes:
        tokens: what it would send (reported by the provider where possible).
        window: the model's context window; ``budget`` is what is left once the reply's room is kept.
        exact: False when any part of ``tokens`` is an estimate ("≈").
        excluded: how many stored messages will not be sent.
        reason: the planner's sentence (why it fits, or what to do when it does not).
    """

    tokens: int
    window: int
    budget: int
    exact: bool
    fits: bool
    excluded: int
    reason: str
    model: str
    model_known: bool = True
    dollars: Decimal | None = None  # the prompt at list price, when the model's price is known

    @property
    def level(self) -> Level:
        """Return how worried the meter should look."""
        if not self.fits:
            return "error"
        if self.excluded or self.tokens >= WARNING_SHARE * self.budget:
            return "warning"
        return "ok"

    def text(self) -> str:
        """Return the meter's line: "≈1,240 / 128,000 tokens", or why the message won't fit."""
        if not self.fits:
            return f"⚠ {self.reason}"
        text = f"{'' if self.exact else '≈'}{self.tokens:,} / {self.window:,} tokens"
        if self.excluded:
            noun = "message" if self.excluded == 1 else "messages"
            text += f" · {self.excluded:,} earlier {noun} not sent"
        return text

    def tooltip(self) -> str:
        """Return the explanation behind the figure."""
        lines = [
            f"The next request sends about {self.tokens:,} tokens. {self.model or 'The model'}'s window is "
            f"{self.window:,} tokens, {self.window - self.budget:,} of them kept for the reply.",
            self.reason,
        ]
        if self.dollars is not None:
            lines.append(f"Sending it costs about ${self.dollars:.4f} at list prices, before the reply.")
        if not self.exact:
            lines.append(
                "≈: an estimate for this model (images by the provider's published rule) "
                "until the provider reports usage."
            )
        if not self.model_known:
            lines.append(
                f"{self.model or 'This model'} is not in the model catalog, so its window is assumed; "
                "add it to models.json in your data folder to set it."
            )
        return "\n".join(lines)


def meter_reading(plan: ContextPlan, path: Sequence[StoredMessage]) -> MeterReading:
    """Return the meter's reading for ``plan`` (made from ``path`` and the draft).

    When the count is an estimate but the newest message is a reply whose usage the provider
    reported, and the next request sends everything that request sent, the provider's figure
    replaces the estimate: its prompt and output (less the thinking, which is not sent back),
    plus the draft, the only part still estimated.
    """
    fit = plan.fit
    tokens, exact = fit.total_tokens, plan.exact
    last = path[-1] if path else None
    sent_ids = {message.id for message in fit.messages_to_send}
    if (
        not exact
        and fit.fits
        and not plan.excluded_ids
        and not fit.summary_used
        and last is not None
        and last.role == "assistant"
        and last.id in sent_ids
        and last.input_tokens is not None
        and last.output_tokens is not None
        and (last.model or "") == plan.request.model
    ):
        draft = sum(message.tokens for message in fit.messages_to_send if message.id == DRAFT_ID)
        tokens = last.input_tokens + last.output_tokens - (last.reasoning_tokens or 0) + draft
        exact = draft == 0
    return MeterReading(
        tokens=tokens,
        window=plan.context_window,
        budget=fit.budget,
        exact=exact,
        fits=fit.fits,
        excluded=len(plan.excluded_ids),
        reason=fit.reason,
        model=plan.request.model,
        model_known=plan.model_known,
        dollars=plan.prompt_dollars(tokens),
    )


class TokenMeter(QLabel):
    """The meter under the message box; empty (and hidden) when there is nothing to plan."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenMeter")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.reading: MeterReading | None = None
        self.setVisible(False)

    def show_reading(self, reading: MeterReading) -> None:
        """Show ``reading`` in the colour its level calls for."""
        self.reading = reading
        self.setText(reading.text())
        self.setToolTip(plain_tooltip(reading.tooltip()))  # names the model, which a server chose
        self._colour()
        self.setVisible(True)

    def clear_reading(self) -> None:
        """Show nothing (no chat open, or no model chosen)."""
        self.reading = None
        self.clear()
        self.setToolTip("")
        self.setVisible(False)

    def colour_name(self) -> str:
        """Return the text colour for the current reading in the current theme."""
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        level = self.reading.level if self.reading else "ok"
        if level == "error":
            return palette_for(dark).error
        if level == "warning":
            return WARNING_COLOURS[dark]
        return palette_for(dark).muted

    def _colour(self) -> None:
        style = f"QLabel#tokenMeter {{ color: {self.colour_name()}; }}"
        if self.styleSheet() != style:
            self.setStyleSheet(style)

    def changeEvent(self, event: QEvent) -> None:
        """Follow the theme: the level colours differ between light and dark."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._colour()


class ContextPreview(Protocol):
    """Plans the next request of a chat with a draft, off the Qt thread; None when there is no model."""

    def __call__(self, session: ChatSession, draft: str) -> Awaitable[ContextPlan | None]: ...


def unsaved_conversation(settings: ChatSettings) -> Conversation:
    """Return a stand-in for a new chat's conversation, so its first message can be planned."""
    return Conversation(
        id="",
        title="",
        created_at="",
        updated_at="",
        pinned=False,
        folder_id=None,
        archived=False,
        deleted_at=None,
        provider_id=settings.provider_id,
        model=settings.model,
        system_prompt=settings.system_prompt,
        params=dict(settings.params),
        current_leaf_id=None,
    )


class ChatContextPreview:
    """Preview through the chat service (saved chats) or the planner (a new chat not saved yet).

    Args:
        draft_files: returns the files attached to the draft (counted by each provider's rule).
        attachments: prepares those files for the model of a chat not saved yet.
    """

    def __init__(
        self,
        chat: ChatService,
        planner: ContextPlanner,
        *,
        draft_files: Callable[[], Sequence[Attachment]] = tuple,
        attachments: ChatAttachments | None = None,
    ) -> None:
        self._chat = chat
        self._planner = planner
        self._draft_files = draft_files
        self._attachments = attachments

    async def __call__(self, session: ChatSession, draft: str) -> ContextPlan | None:
        files = self._draft_files()
        if session.conversation is not None:
            return await self._chat.context_preview(session.conversation.id, draft, files)
        if not session.settings.model:
            return None
        conversation = unsaved_conversation(session.settings)
        prepared = None
        if files and self._attachments is not None:
            prepared = await self._attachments.prepare_path(
                conversation, [], draft=draft, draft_attachments=files, draft_id=DRAFT_ID
            )
        return await self._planner.plan(conversation, [], draft=draft, prepared=prepared)


class ContextMeter(QObject):
    """Keep the meter and the view's dimming in step with the open chat, its settings and the draft.

    Args:
        meter: the composer's meter.
        draft: returns the composer's text.
        preview: plans a chat's next request.
        tasks: runs the previews (known failures just empty the meter).
        delay_ms: how long typing must pause before a preview.

    Signals:
        plan_shown(object): the ``ContextPlan`` (or None) now reflected on screen.
    """

    plan_shown = Signal(object)

    def __init__(
        self,
        meter: TokenMeter,
        draft: Callable[[], str],
        preview: ContextPreview,
        tasks: TaskKeeper,
        *,
        delay_ms: int = DEBOUNCE_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._meter = meter
        self._draft = draft
        self._preview = preview
        self._tasks = tasks
        self._session: ChatSession | None = None
        self._generation = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.refresh_now)

    def follow(self, session: ChatSession | None) -> None:
        """Meter ``session`` from now on (None: no chat open)."""
        if session is not self._session:
            self._session = session
            self._generation += 1  # a preview of the previous chat must not land here
            if session is None:
                self._timer.stop()
                self._meter.clear_reading()
                return
        self.schedule()

    def schedule(self, *_args: object) -> None:
        """Preview again once typing pauses (connect any "something changed" signal here)."""
        if self._session is not None:
            self._timer.start()

    def refresh_now(self) -> None:
        """Preview the followed chat with the current draft now."""
        session = self._session
        if session is None:
            return
        self._generation += 1
        generation = self._generation
        self._tasks.run(self._refresh(session, self._draft(), generation), on_error=self._on_failure)

    async def _refresh(self, session: ChatSession, draft: str, generation: int) -> None:
        plan = await self._preview(session, draft)
        if generation != self._generation or session is not self._session:
            return  # stale: the person typed on or switched chats meanwhile
        if plan is None:
            self._meter.clear_reading()
            session.view.set_excluded(frozenset())
        else:
            self._meter.show_reading(meter_reading(plan, session.path))
            session.view.set_excluded(plan.excluded_ids)
        self.plan_shown.emit(plan)

    def _on_failure(self, _message: str) -> None:
        # The conversation went away (trashed) or the database is closing: nothing to meter.
        self._meter.clear_reading()
