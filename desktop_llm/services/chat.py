"""Run chat sessions: send, regenerate, edit and resend, stop; every reply streamed, saved, never lost.

One reply streams per conversation; several conversations may stream at once. While a reply
streams its text is saved about once a second and at the end, so a crash loses at most a
second of it (and the next start marks it ``interrupted``, text kept). Stop keeps the text as
``stopped``. Provider failures end as ``error`` (nothing received) or ``interrupted`` (text kept),
with the provider's message, which says what to do.

The service reports what happens as typed events (``chat_events``) to one listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence

from desktop_llm.providers import (
    Attachment,
    ChatRequest,
    ContextLengthExceeded,
    Finish,
    Message,
    ProviderError,
    ReasoningDelta,
    StreamEvent,
    StreamInterrupted,
    TextDelta,
    Usage,
)
from desktop_llm.services.attachment_prep import AttachmentRefused, PreparedMessage
from desktop_llm.services.chat_attachments import ChatAttachments, store_attachments
from desktop_llm.services.chat_events import (
    ChatListener,
    ContextNotice,
    StreamDelta,
    StreamFinished,
    StreamRetrying,
    StreamStarted,
    TitleChanged,
)
from desktop_llm.services.chat_tools import ChatTools, ReplyRound, ReplyRounds, ToolRounds, with_tools
from desktop_llm.services.context_planner import (
    DRAFT_ID,
    ContextPlan,
    ContextPlanner,
    ContextTooLong,
    is_sendable,
)
from desktop_llm.services.mcp_types import McpError
from desktop_llm.services.provider_directory import (
    ProviderDirectory,
    UnknownProvider,
    retry_notice_target,
)
from desktop_llm.services.summaries import write_summary
from desktop_llm.services.titles import fallback_title, write_title
from desktop_llm.services.tool_history import provider_message, stored_calls, well_formed
from desktop_llm.services.tool_loop import Approval, Streamer
from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import DatabaseBusy, NotFound, StorageError
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.records import Conversation, StoredMessage, StoredToolCall

log = logging.getLogger(__name__)

SHRINK_FACTOR = 0.8
# A finished reply is saved even if another writer (an import) holds the database for minutes:
# each attempt already waits out SQLite's busy timeout, then we pause and try again.
FINISH_ATTEMPTS = 60
FINISH_RETRY_DELAY = 1.0
# A fast local server fills the socket faster than we read it; every few milliseconds the loop
# must get control back so the window can repaint (qasync runs on the Qt thread).
YIELD_EVERY = 0.004
# Saved with a reply that failed in a way nobody named (a bug); the exception itself goes on to
# the crash reporter and the log.
UNEXPECTED_FAILURE = "The reply failed because of an unexpected problem. The details are in the log."
TOO_LONG_RETRY_NOTICE = (
    "The provider said this conversation is too long for the model; sending less history and trying again."
)


class ChatBusy(RuntimeError):
    """The conversation already has a reply streaming."""

    def __init__(self) -> None:
        super().__init__("A reply is still streaming in this conversation. Stop it first, or wait.")


class NoModelChosen(ValueError):
    """The conversation has no provider or model yet."""

    def __init__(self) -> None:
        super().__init__("Choose a provider and a model above the chat before sending.")


def build_messages(
    conversation: Conversation,
    path: list[StoredMessage],
    prepared: Mapping[str, PreparedMessage] | None = None,
) -> list[Message]:
    """Turn the active path into provider messages: the system prompt, then every kept turn.

    Stored system messages are always kept; other turns as ``is_sendable`` says (the planner's
    rule, so both paths send the same turns). ``prepared`` holds the messages with attachments
    as the model gets them, by id.
    """
    prepared = prepared or {}
    messages: list[Message] = []
    if conversation.system_prompt.strip():
        messages.append(Message("system", conversation.system_prompt))
    for stored in path:
        files = prepared.get(stored.id)
        if files is not None:
            messages.append(provider_message(stored, files.content, files.attachments))
        elif stored.role == "system" or is_sendable(stored):
            messages.append(provider_message(stored, stored.content))
    return well_formed(messages)


async def _prepend(first: StreamEvent, rest: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
    yield first
    async for event in rest:
        yield event


def _conversation_and_path(db: Database, conversation_id: str) -> tuple[Conversation, list[StoredMessage]]:
    conversation = ConversationRepository(db).get(conversation_id)
    return conversation, MessageRepository(db).active_path(conversation_id)


def _save_streaming(db: Database, message_id: str, content: str, reasoning: str) -> None:
    MessageRepository(db).update_streaming(message_id, content, reasoning)


class ChatService:
    """Runs replies for conversations.

    Args:
        db: the database thread.
        providers: where providers for the conversations' entries come from.
        listener: receives every ``ChatEvent``; called on the event loop's thread.
        save_interval: seconds between saves of a streaming reply.
        clock: monotonic seconds; injectable for tests.
        planner: fits each request into the model's window; without one every message is sent.
        auto_titles: whether the model writes a new conversation's title (else its first words).
        attachments: decides what each model gets for attachments; without it, none are sent.
        tools: offers MCP tools and runs the tool rounds; without it, no tools are offered.
    """

    def __init__(
        self,
        db: DatabaseThread,
        providers: ProviderDirectory,
        listener: ChatListener,
        *,
        save_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        planner: ContextPlanner | None = None,
        auto_titles: Callable[[], bool] = lambda: True,
        attachments: ChatAttachments | None = None,
        tools: ChatTools | None = None,
    ) -> None:
        self._db = db
        self._providers = providers
        self._listener = listener
        self._save_interval = save_interval
        self._clock = clock
        self._planner = planner
        self._streams: dict[str, asyncio.Task[object]] = {}
        self._auto_titles = auto_titles
        self._background: set[asyncio.Task[None]] = set()
        self._attachments = attachments
        self._tools = tools

    # -- queries -----------------------------------------------------------------------------

    def is_streaming(self, conversation_id: str) -> bool:
        """Return whether a reply is streaming in the conversation."""
        return conversation_id in self._streams

    async def context_preview(
        self, conversation_id: str, draft: str = "", draft_attachments: Sequence[Attachment] = ()
    ) -> ContextPlan | None:
        """Return what the next request would send (tokens against the window, messages left out), or None."""
        if self._planner is None:
            return None
        loaded = await self._db.call(_conversation_and_path, conversation_id)
        conversation, path = loaded
        if not conversation.model:
            return None
        prepared = await self._prepared(conversation, path, draft, draft_attachments)
        return await self._planner.plan(conversation, path, draft=draft, prepared=prepared)

    async def _prepared(
        self,
        conversation: Conversation,
        path: list[StoredMessage],
        draft: str = "",
        draft_attachments: Sequence[Attachment] = (),
    ) -> dict[str, PreparedMessage]:
        if self._attachments is None:
            return {}
        return await self._attachments.prepare_path(
            conversation, path, draft=draft, draft_attachments=draft_attachments, draft_id=DRAFT_ID
        )

    def streaming_conversations(self) -> list[str]:
        """Return the conversations with a reply streaming now."""
        return list(self._streams)

    # -- commands ----------------------------------------------------------------------------

    async def send(
        self, conversation_id: str, text: str, attachments: Sequence[Attachment] = ()
    ) -> StoredMessage:
        """Add the person's message (and its files) under the current leaf and stream the reply to it.

        Raises:
            AttachmentRefused: the model cannot take a file; nothing was saved or sent.
        """
        with self._claim(conversation_id):
            conversation = await self._conversation(conversation_id)
            self._ensure_model(conversation)
            if attachments:
                if self._attachments is None:
                    raise AttachmentRefused("Attachments cannot be sent from here.")
                await self._attachments.check_new(conversation, text, attachments)

            def append_user(db: Database) -> StoredMessage:
                messages = MessageRepository(db)
                leaf = ConversationRepository(db).get(conversation_id).current_leaf_id
                with db.transaction():  # the files and their message are kept together, or neither
                    references = store_attachments(db, attachments)
                    return messages.append(
                        conversation_id, parent_id=leaf, role="user", content=text, attachments=references
                    )

            user_message = await self._db.call(append_user)
            question = text.strip() or ", ".join(a.name for a in attachments)  # files alone: name them
            if not conversation.title:
                self._name_soon(conversation, question, placeholder=True)
            reply = await self._reply(conversation, user_message, announce_user=True)
            if not conversation.title and reply.status == "complete" and self._auto_titles():
                self._name_soon(conversation, question, answer=reply.content)
            return reply

    async def regenerate(self, message_id: str) -> StoredMessage:
        """Stream a new reply as a sibling of the assistant message ``message_id``."""
        target = await self._db.call(lambda db: MessageRepository(db).get(message_id))
        parent_id = target.parent_id
        if target.role != "assistant" or parent_id is None:
            raise ValueError("Only a reply can be regenerated.")
        with self._claim(target.conversation_id):
            conversation = await self._conversation(target.conversation_id)
            self._ensure_model(conversation)
            parent = await self._db.call(lambda db: MessageRepository(db).get(parent_id))
            return await self._reply(conversation, parent, announce_user=False)

    async def edit_and_resend(self, message_id: str, text: str) -> StoredMessage:
        """Add an edited copy of the person's message as a sibling branch and stream its reply."""
        original = await self._db.call(lambda db: MessageRepository(db).get(message_id))
        if original.role != "user":
            raise ValueError("Only your own messages can be edited and resent.")
        with self._claim(original.conversation_id):
            conversation = await self._conversation(original.conversation_id)
            self._ensure_model(conversation)
            edited = await self._db.call(
                lambda db: MessageRepository(db).append(
                    original.conversation_id,
                    parent_id=original.parent_id,
                    role="user",
                    content=text,
                    attachments=original.attachments,  # the edited branch keeps the files
                )
            )
            return await self._reply(conversation, edited, announce_user=True)

    def answer_tool_call(self, call_id: str, approval: Approval) -> bool:
        """Give the person's answer to a call waiting for approval; False if none is waiting."""
        return self._tools is not None and self._tools.answer(call_id, approval)

    def stop(self, conversation_id: str) -> bool:
        """Stop the conversation's streaming reply at once; its text is kept as ``stopped``."""
        task = self._streams.get(conversation_id)
        if task is None:
            return False
        task.cancel()
        return True

    async def wait_for_titles(self) -> None:
        """Wait until the titles being written are saved (the command line, before it exits)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def stop_all(self) -> None:
        """Stop every streaming reply and title request and wait until each is saved (shutdown)."""
        tasks = [*self._streams.values(), *self._background]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- titles ------------------------------------------------------------------------------

    def _name_soon(
        self, conversation: Conversation, question: str, *, answer: str = "", placeholder: bool = False
    ) -> None:
        """Title a new conversation in the background: its first words now, the model's words later."""
        task = asyncio.ensure_future(self._name(conversation, question, answer, placeholder))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_report_title_bug)

    async def _name(self, conversation: Conversation, question: str, answer: str, placeholder: bool) -> None:
        try:
            if placeholder:
                title = fallback_title(question)
            else:
                provider = await self._providers.provider(conversation.provider_id or "")
                title = await write_title(provider, conversation.model or "", question, answer)
            await self._db.call(lambda db: ConversationRepository(db).rename(conversation.id, title))
        except (NotFound, UnknownProvider) as gone:
            # Deleted, or its provider removed, while the title was on its way: nothing to name.
            log.info("not titling conversation %s: %s", conversation.id, gone)
            return
        except StorageError as problem:
            # Busy (an import holds the database) or the disk refused: the chat keeps its
            # current title, and the person can rename it; nothing else depends on this.
            log.warning("could not save the title of conversation %s: %s", conversation.id, problem)
            return
        self._listener(TitleChanged(conversation.id, title))

    # -- the reply ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _claim(self, conversation_id: str) -> Iterator[None]:
        """Make this task the conversation's only reply, from the check on (no await in between).

        Claimed before the first await, so a second quick send is refused instead of streaming
        beside the first, and Stop reaches the reply while it is still being prepared.
        """
        if conversation_id in self._streams:
            raise ChatBusy()
        task = asyncio.current_task()
        assert task is not None, "replies run inside a task"
        self._streams[conversation_id] = task
        try:
            yield
        finally:
            self._release(conversation_id)

    @staticmethod
    def _ensure_model(conversation: Conversation) -> None:
        if not conversation.provider_id or not conversation.model:
            raise NoModelChosen()

    async def _conversation(self, conversation_id: str) -> Conversation:
        return await self._db.call(lambda db: ConversationRepository(db).get(conversation_id))

    async def _request_for(
        self, conversation: Conversation, history: list[StoredMessage], budget_scale: float
    ) -> tuple[ChatRequest, float]:
        """Return the request for a reply and the budget scale that would send a fifth less of it.

        Fitted to the window when a planner is set (summarising if the conversation asks).
        """
        prepared = await self._prepared(conversation, history)
        if self._planner is None:
            params = conversation.params or {}
            request = ChatRequest(
                model=conversation.model or "",
                messages=build_messages(conversation, history, prepared),
                temperature=params.get("temperature"),
                max_tokens=params.get("max_tokens"),
            )
            return request, budget_scale
        plan = await self._planner.plan(conversation, history, budget_scale=budget_scale, prepared=prepared)
        if plan.fit.fits and plan.fit.needs_summary:
            conversation = await self._summarise(conversation, history, plan.fit.dropped_ids)
            plan = await self._planner.plan(
                conversation, history, budget_scale=budget_scale, prepared=prepared
            )
        if not plan.fit.fits:
            raise ContextTooLong(plan.fit.reason)
        # What was sent was too much, whatever our count said: aim below it, not below the budget.
        smaller = budget_scale * SHRINK_FACTOR * plan.fit.total_tokens / max(plan.fit.budget, 1)
        return plan.request, smaller

    async def _summarise(
        self, conversation: Conversation, history: list[StoredMessage], dropped_ids: tuple[str, ...]
    ) -> Conversation:
        """Have the model summarise the turns that no longer fit; keep the summary for reuse."""
        dropped = set(dropped_ids)
        older = [m for m in history if m.id in dropped]
        if not older:
            return conversation
        self._listener(
            ContextNotice(conversation.id, "Summarising older messages to fit the context window…")
        )
        params = dict(conversation.params or {})
        previous = (params.get("summary") or {}).get("text", "")
        provider = await self._providers.provider(conversation.provider_id or "")
        summary = await write_summary(provider, conversation.model or "", previous, older)
        params["summary"] = {"text": summary, "covers_through_id": older[-1].id}
        return await self._db.call(
            lambda db: ConversationRepository(db).update_settings(conversation.id, params=params)
        )

    async def _reply(
        self, conversation: Conversation, parent: StoredMessage, *, announce_user: bool
    ) -> StoredMessage:
        """Append a streaming assistant message under ``parent`` and run the stream into it."""
        conversation_id = conversation.id

        def start(db: Database) -> tuple[StoredMessage, list[StoredMessage]]:
            messages = MessageRepository(db)
            assistant = messages.append(
                conversation_id,
                parent_id=parent.id,
                role="assistant",
                content="",
                status="streaming",
                provider_id=conversation.provider_id,
                model=conversation.model,
            )
            return assistant, messages.active_path(conversation_id)

        assistant, path = await self._db.call(start)
        history = [m for m in path if m.id != assistant.id]
        self._listener(StreamStarted(conversation_id, parent if announce_user else None, assistant))
        return await self._stream_into(conversation, assistant, history)

    def _release(self, conversation_id: str) -> None:
        if self._streams.get(conversation_id) is asyncio.current_task():
            del self._streams[conversation_id]

    async def _stream_into(
        self, conversation: Conversation, assistant: StoredMessage, history: list[StoredMessage]
    ) -> StoredMessage:
        conversation_id = conversation.id
        reply: ReplyRounds = ReplyRounds(ReplyRound(assistant, started=self._clock()))
        last_save = self._clock()

        def notice(delay: float) -> None:
            self._listener(StreamRetrying(conversation_id, reply.round.assistant.id, delay))

        token = retry_notice_target.set(notice)
        # Until the stream is known to have finished, a failure of any kind saves an error.
        status: str = "error"
        error: str | None = UNEXPECTED_FAILURE
        try:
            provider = await self._providers.provider(conversation.provider_id or "")
            catalog = await self._tools.catalog(conversation, self._listener) if self._tools else None
            budget_scale, shrunk = 1.0, False
            while True:
                request, smaller = await self._request_for(conversation, history, budget_scale)
                if catalog is not None:
                    request = with_tools(request, catalog)
                stream = provider.stream(request)
                try:
                    first = await anext(stream)
                except ContextLengthExceeded:
                    if shrunk or self._planner is None:
                        raise
                    budget_scale, shrunk = smaller, True
                    self._listener(ContextNotice(conversation_id, TOO_LONG_RETRY_NOTICE))
                    continue
                break
            events = _prepend(first, stream)
            if catalog is not None and self._tools is not None:
                reply = ToolRounds(
                    self._db,
                    self._listener,
                    self._tools,
                    catalog,
                    reply.round,
                    finish=self._finish_round,
                    open_round=functools.partial(self._open_round, conversation),
                )
                events = reply.run(_Resumed(provider, events), request)
            last_yield = self._clock()
            async for event in events:
                if self._clock() - last_yield >= YIELD_EVERY:
                    await asyncio.sleep(0)
                    last_yield = self._clock()
                current = reply.round
                message_id = current.assistant.id
                if isinstance(event, TextDelta):
                    current.text.append(event.text)
                    self._listener(StreamDelta(conversation_id, message_id, event.text))
                elif isinstance(event, ReasoningDelta):
                    current.reasoning.append(event.text)
                    self._listener(StreamDelta(conversation_id, message_id, "", event.text))
                elif isinstance(event, Usage):
                    current.usage = event
                elif isinstance(event, Finish):
                    current.finish_reason = event.reason
                if self._clock() - last_save >= self._save_interval and current.saved is None:
                    last_save = self._clock()
                    await self._save_progress(message_id, "".join(current.text), "".join(current.reasoning))
            status, error = "complete", None
        except asyncio.CancelledError:
            status = "stopped"
            raise
        except StreamInterrupted as interrupted:
            status, error = "interrupted", str(interrupted)
            if interrupted.partial_text and not reply.round.text:
                reply.round.text.append(interrupted.partial_text)
        except ProviderError as failure:
            status, error = "error", str(failure)
        except (UnknownProvider, ContextTooLong, AttachmentRefused, McpError) as problem:
            status, error = "error", str(problem)
        finally:
            retry_notice_target.reset(token)
            # Shielded: a second cancel (the window closing during a stop) must not lose the text.
            finished = await asyncio.shield(self._finish_round(reply.round, status, error or reply.notice))
            if status == "stopped":
                await asyncio.shield(reply.settle_stop())
            # Idle before anyone hears of the end, so a reaction to it (delete, resend) is allowed.
            self._release(conversation_id)
            self._listener(StreamFinished(conversation_id, finished))
        return finished

    async def _open_round(self, conversation: Conversation, parent_id: str) -> ReplyRound:
        """Append the next round's streaming assistant message under ``parent_id`` and announce it."""
        assistant = await self._db.call(
            lambda db: MessageRepository(db).append(
                conversation.id,
                parent_id=parent_id,
                role="assistant",
                content="",
                status="streaming",
                provider_id=conversation.provider_id,
                model=conversation.model,
            )
        )
        self._listener(StreamStarted(conversation.id, None, assistant))
        return ReplyRound(assistant, started=self._clock())

    async def _finish_round(self, current: ReplyRound, status: str, error: str | None) -> StoredMessage:
        """Save a round's assistant message: its text, calls, usage and how it ended."""
        if current.latency_ms is None or current.saved is None:
            current.latency_ms = int((self._clock() - current.started) * 1000)
        return await self._finish(
            current.assistant,
            status=status,
            text="".join(current.text),
            reasoning="".join(current.reasoning),
            error=error,
            finish_reason=current.finish_reason,
            usage=current.usage,
            latency_ms=current.latency_ms,
            tool_calls=stored_calls(current.calls),
        )

    async def _finish(
        self,
        assistant: StoredMessage,
        *,
        status: str,
        text: str,
        reasoning: str,
        error: str | None,
        finish_reason: str | None,
        usage: Usage | None,
        latency_ms: int,
        tool_calls: tuple[StoredToolCall, ...] = (),
    ) -> StoredMessage:
        usage_tuple = (
            (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens, usage.reasoning_tokens)
            if usage
            else None
        )

        def finish(db: Database) -> StoredMessage:
            return MessageRepository(db).finish(
                assistant.id,
                status=status,
                content=text,
                reasoning=reasoning,
                error=error,
                finish_reason=finish_reason,
                usage=usage_tuple,
                latency_ms=latency_ms,
                tool_calls=tool_calls,
            )

        return await self._finish_patiently(finish)

    async def _save_progress(self, message_id: str, text: str, reasoning: str) -> None:
        """Save the reply so far; if another writer holds the database, skip this save, not the reply."""
        try:
            await self._db.call(_save_streaming, message_id, text, reasoning)
        except DatabaseBusy as busy:
            log.warning("a periodic save of a streaming reply was skipped: %s", busy)

    async def _finish_patiently(self, finish: Callable[[Database], StoredMessage]) -> StoredMessage:
        """Write the final reply, waiting out another writer (a command-line import) if need be."""
        attempt = 1
        while True:
            try:
                return await self._db.call(finish)
            except DatabaseBusy:
                if attempt == FINISH_ATTEMPTS:
                    raise
                log.warning("the database is busy; saving the finished reply again (attempt %d)", attempt)
                await asyncio.sleep(FINISH_RETRY_DELAY)
                attempt += 1


class _Resumed:
    """A provider whose first stream has already begun (the first event was read to catch a refusal)."""

    def __init__(self, provider: Streamer, first: AsyncIterator[StreamEvent]) -> None:
        self._provider = provider
        self._first: AsyncIterator[StreamEvent] | None = first

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        first, self._first = self._first, None
        return first if first is not None else self._provider.stream(request)


def _report_title_bug(task: asyncio.Task[None]) -> None:
    """Log what a title task raised that ``_name`` does not expect (a bug), so it is never lost."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("titling a conversation failed", exc_info=error)
