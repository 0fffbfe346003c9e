"""The conversations the window has open: one ChatView each, fed by the chat service's events.

Each open conversation is a :class:`ChatSession`: its active path as stored messages, each
message's branch position, its settings, its unsent draft, and its own ``ChatView``. Events are
routed by conversation id, so a reply keeps streaming into its own view while the person reads
or writes in another, and several replies stream at once. Views of idle conversations the person
has not looked at for a while are dropped (their drafts are kept) to save memory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop_llm.core.message_chrome import AttachmentView, ToolBlock
from desktop_llm.services.chat_events import (
    StreamFinished,
    StreamStarted,
    ToolApprovalNeeded,
    ToolCallDone,
    ToolCallRunning,
    ToolRoundSaved,
)
from desktop_llm.services.conversations import LoadedConversation
from desktop_llm.storage.records import Conversation, StoredMessage
from desktop_llm.ui.chat.chat_view import ChatView, MessageView
from desktop_llm.ui.chat.conversation_list import ConversationListModel
from desktop_llm.ui.common.chat_bridge import ChatBridge

NEW_CHAT = ""  # the session key of a chat not saved yet
MAX_IDLE_VIEWS = 8


@dataclass
class ChatSettings:
    """What a conversation is sent with."""

    provider_id: str | None = None
    model: str | None = None
    system_prompt: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, conversation: Conversation) -> ChatSettings:
        return cls(
            conversation.provider_id,
            conversation.model,
            conversation.system_prompt,
            dict(conversation.params),
        )


def message_view(
    message: StoredMessage, position: tuple[int, int] = (0, 1), arguments: str = ""
) -> MessageView:
    """Return what the view shows for a stored message at a branch position (index, count).

    ``arguments`` are those of the call a tool message answers (from its assistant message).
    """
    tool = None
    if message.role == "tool":
        tool = ToolBlock(
            message.tool_name or "",
            message.tool_server or "",
            arguments,
            message.tool_is_error,
            message.tool_duration_ms,
        )
    return MessageView(
        id=message.id,
        role=message.role,
        content=message.content,
        reasoning=message.reasoning,
        status=message.status,
        error=message.error,
        model=message.model or "",
        sibling_index=position[0],
        sibling_count=position[1],
        tool_calls=tuple(call.name for call in message.tool_calls),
        tool=tool,
        attachments=tuple(
            AttachmentView(a.sha256, a.name, a.media_type, a.size) for a in message.attachments
        ),
    )


def call_arguments(path: list[StoredMessage]) -> dict[str, str]:
    """Return each tool call's arguments on the path, pretty-printed when they are JSON, by call id."""
    found: dict[str, str] = {}
    for message in path:
        for call in message.tool_calls:
            try:
                found[call.id] = json.dumps(json.loads(call.arguments), indent=2, ensure_ascii=False)
            except json.JSONDecodeError:
                found[call.id] = call.arguments  # shown as the model sent it
    return found


@dataclass
class ChatSession:
    """One open conversation (or the new chat, before its first message saves it)."""

    view: ChatView
    settings: ChatSettings
    conversation: Conversation | None = None
    path: list[StoredMessage] = field(default_factory=list)
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    loaded: bool = False
    pending_text: str | None = None  # sent, not yet accepted: put back if the send fails
    pending_files: list[Any] = field(default_factory=list)  # its attachments (``DraftAttachment``)
    sending: asyncio.Task[Any] | None = None  # the send or resend running from Enter to the reply's end

    @property
    def key(self) -> str:
        return self.conversation.id if self.conversation else NEW_CHAT

    def message_views(self) -> list[MessageView]:
        return [self.view_of(m) for m in self.path]

    def view_of(self, message: StoredMessage) -> MessageView:
        """Return what the view shows for a message of this session's path."""
        arguments = (
            call_arguments(self.path).get(message.tool_call_id or "", "") if message.tool_call_id else ""
        )
        return message_view(message, self.positions.get(message.id, (0, 1)), arguments)

    def show_loaded(self, loaded: LoadedConversation) -> None:
        """Take a freshly loaded path and show it whole."""
        self.conversation = loaded.conversation
        self.settings = ChatSettings.of(loaded.conversation)
        self.path = list(loaded.path)
        self.positions = {mid: (p.index, p.count) for mid, p in loaded.branches.items()}
        self.loaded = True
        self.view.set_messages(self.message_views())

    def graft(self, parent_id: str | None, message: StoredMessage) -> bool:
        """Put ``message`` on the path under ``parent_id`` (a new branch when the parent had a child).

        Returns True when it simply went on the end (the view can append), False when messages
        after the parent were replaced (the view must be reset).
        """
        cut = 0
        if parent_id is not None:
            cut = next((i + 1 for i, m in enumerate(self.path) if m.id == parent_id), len(self.path))
        replaced = self.path[cut] if cut < len(self.path) else None
        count = self.positions.get(replaced.id, (0, 1))[1] + 1 if replaced else 1
        appended = cut == len(self.path)
        self.path = [*self.path[:cut], message]
        self.positions[message.id] = (count - 1, count)
        return appended

    def replace_message(self, message: StoredMessage) -> None:
        self.path = [message if m.id == message.id else m for m in self.path]

    def last_user_message(self) -> StoredMessage | None:
        return next((m for m in reversed(self.path) if m.role == "user"), None)

    def message(self, message_id: str) -> StoredMessage | None:
        return next((m for m in self.path if m.id == message_id), None)


class ChatSessions(QObject):
    """Keep the open sessions and route chat events to their views and to the conversation list.

    Args:
        bridge: the chat service's events as signals.
        list_model: the sidebar's list (titles, "replying…", moving to the top).
        make_view: builds an empty ChatView (theme, font and renderer applied).

    Signals:
        streaming_changed(str, bool): a conversation's reply started (True) or ended (False).
        path_changed(str): a conversation's path changed (usage, composer state may follow).
        view_action(str, str, str): a view asked for (conversation key, action, message id).
        tool_answered(str, str): the person answered about a tool call (call id, ``Approval`` value).
    """

    streaming_changed = Signal(str, bool)
    path_changed = Signal(str)
    view_action = Signal(str, str, str)
    tool_answered = Signal(str, str)

    def __init__(
        self,
        bridge: ChatBridge,
        list_model: ConversationListModel,
        make_view: Callable[[], ChatView],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._list_model = list_model
        self._make_view = make_view
        self._sessions: dict[str, ChatSession] = {}
        self._recent: list[str] = []  # keys, most recently shown last
        self._streaming: set[str] = set()
        self.drafts: dict[str, str] = {}  # unsent text by conversation key
        bridge.stream_started.connect(self.on_bridge_stream_started)
        bridge.stream_delta.connect(self.on_bridge_stream_delta)
        bridge.stream_finished.connect(self.on_bridge_stream_finished)
        bridge.title_changed.connect(self.on_bridge_title_changed)
        bridge.tool_round_saved.connect(self.on_bridge_tool_round_saved)
        bridge.tool_call_done.connect(self.on_bridge_tool_call_done)
        bridge.tool_approval_needed.connect(self.on_bridge_tool_approval_needed)
        bridge.tool_call_running.connect(self.on_bridge_tool_call_running)
        self._questions: dict[str, ToolApprovalNeeded] = {}  # unanswered, by conversation

    # -- sessions ----------------------------------------------------------------------------

    def get(self, key: str) -> ChatSession | None:
        return self._sessions.get(key)

    def open(self, key: str, settings: ChatSettings) -> tuple[ChatSession, bool]:
        """Return the session for ``key``, creating it (and its view) if needed; True when created."""
        session = self._sessions.get(key)
        created = session is None
        if session is None:
            session = ChatSession(view=self._new_view(key), settings=settings)
            self._sessions[key] = session
            if key in self._questions:  # a reply in the background is waiting for the person
                session.view.approval_bar.ask(self._questions[key])
        self._touch(key)
        self._evict()
        return session, created

    def adopt(self, session: ChatSession, conversation: Conversation) -> None:
        """Give the new chat's session its saved conversation (its first message is on the way)."""
        self._sessions.pop(NEW_CHAT, None)
        session.conversation = conversation
        session.loaded = True
        self._sessions[conversation.id] = session
        # The view's action signal finds its session by view, so re-keying needs nothing more.
        self._recent = [conversation.id if k == NEW_CHAT else k for k in self._recent]

    def close(self, key: str) -> None:
        """Forget a session (its conversation went to the trash)."""
        session = self._sessions.pop(key, None)
        self._recent = [k for k in self._recent if k != key]
        self.drafts.pop(key, None)
        if session is not None:
            session.view.deleteLater()

    def sessions(self) -> list[ChatSession]:
        return list(self._sessions.values())

    def is_streaming(self, key: str) -> bool:
        """Return whether a reply streams in ``key``, or a send there was accepted and is on its way."""
        session = self._sessions.get(key)
        return key in self._streaming or (session is not None and session.sending is not None)

    def _new_view(self, key: str) -> ChatView:
        view = self._make_view()
        view.action_requested.connect(lambda action, mid, v=view: self._on_view_action(v, action, mid))
        view.approval_bar.answered.connect(self._on_view_tool_answered)
        return view

    def _on_view_action(self, view: ChatView, action: str, message_id: str) -> None:
        for key, session in self._sessions.items():
            if session.view is view:
                self.view_action.emit(key, action, message_id)
                return

    def _on_view_tool_answered(self, call_id: str, answer: str) -> None:
        self._questions = {k: q for k, q in self._questions.items() if q.call_id != call_id}
        self.tool_answered.emit(call_id, answer)

    def _touch(self, key: str) -> None:
        self._recent = [k for k in self._recent if k != key] + [key]

    def _evict(self) -> None:
        idle = [
            k
            for k in self._recent[:-1]
            if k not in self._streaming and k != NEW_CHAT and self._sessions[k].pending_text is None
        ]
        for key in idle[: max(0, len(idle) - MAX_IDLE_VIEWS)]:
            self._recent.remove(key)
            self._sessions.pop(key).view.deleteLater()

    # -- chat events -------------------------------------------------------------------------

    def on_bridge_stream_started(self, event: StreamStarted) -> None:
        cid = event.conversation_id
        self._streaming.add(cid)
        self._list_model.set_streaming(cid, True)
        self._bump(cid, event.message.created_at)
        session = self._sessions.get(cid)
        if session is None:
            self.streaming_changed.emit(cid, True)
            return
        session.pending_text = None
        session.pending_files = []
        appended = True
        if event.user_message is not None:
            appended = session.graft(event.user_message.parent_id, event.user_message)
        appended = session.graft(event.message.parent_id, event.message) and appended
        if appended:
            if event.user_message is not None:
                session.view.append_message(
                    message_view(event.user_message, session.positions[event.user_message.id])
                )
            session.view.append_message(message_view(event.message, session.positions[event.message.id]))
        else:
            session.view.set_messages(session.message_views())
        session.view.start_streaming(event.message.id)
        self.streaming_changed.emit(cid, True)
        self.path_changed.emit(cid)

    def on_bridge_stream_delta(
        self, conversation_id: str, message_id: str, text: str, reasoning: str
    ) -> None:
        session = self._sessions.get(conversation_id)
        if session is not None:
            session.view.append_stream_text(message_id, text, reasoning)

    def on_bridge_stream_finished(self, event: StreamFinished) -> None:
        cid, message = event.conversation_id, event.message
        self._streaming.discard(cid)
        self._list_model.set_streaming(cid, False)
        self._bump(cid, message.created_at)
        self._questions.pop(cid, None)
        session = self._sessions.get(cid)
        if session is not None:
            session.replace_message(message)
            session.view.finish_streaming(message.id, session.view_of(message))
            session.view.approval_bar.clear()
        self.streaming_changed.emit(cid, False)
        self.path_changed.emit(cid)

    def on_bridge_tool_round_saved(self, event: ToolRoundSaved) -> None:
        """Show a round's reply as finished, with its calls; the reply itself goes on."""
        session = self._sessions.get(event.conversation_id)
        if session is not None:
            session.replace_message(event.message)
            session.view.finish_streaming(event.message.id, session.view_of(event.message))

    def on_bridge_tool_call_done(self, event: ToolCallDone) -> None:
        """Put a call's result on the path, as a tool block."""
        message = event.message
        session = self._sessions.get(event.conversation_id)
        if session is None:
            return
        if session.graft(message.parent_id, message):
            session.view.append_message(session.view_of(message))
        else:
            session.view.set_messages(session.message_views())
        session.view.approval_bar.finished(message.tool_call_id or "")
        self.path_changed.emit(event.conversation_id)

    def on_bridge_tool_approval_needed(self, event: ToolApprovalNeeded) -> None:
        """Ask the person in the conversation's view (now, or when it is next opened)."""
        self._questions[event.conversation_id] = event
        session = self._sessions.get(event.conversation_id)
        if session is not None:
            session.view.approval_bar.ask(event)

    def on_bridge_tool_call_running(self, event: ToolCallRunning) -> None:
        session = self._sessions.get(event.conversation_id)
        if session is not None:
            session.view.approval_bar.running(event.call_id, event.tool, event.server)

    def on_bridge_title_changed(self, conversation_id: str, title: str) -> None:
        self._list_model.set_title(conversation_id, title)
        session = self._sessions.get(conversation_id)
        if session is not None and session.conversation is not None:
            session.conversation = dataclasses.replace(session.conversation, title=title)

    def _bump(self, conversation_id: str, when: str) -> None:
        """Move the conversation up the list: it has new activity."""
        listed = self._list_model.conversation(conversation_id)
        if listed is not None and when > listed.updated_at:
            self._list_model.upsert(dataclasses.replace(listed, updated_at=when))
