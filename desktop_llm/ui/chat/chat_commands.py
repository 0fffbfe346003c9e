"""What the person asks of a chat: send, stop, edit and resend, regenerate, switch branch, delete.

Each command runs as a task (``TaskKeeper``) so the window never waits; known failures come
back as messages. A send that fails before the message was saved hands its text back
(``draft_returned``) so nothing typed is lost. The new chat becomes a stored conversation only
when its first message is sent, so the list never fills with empty chats.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop_llm.providers import Attachment
from desktop_llm.services.chat import ChatService, NoModelChosen
from desktop_llm.services.conversations import ConversationService
from desktop_llm.services.provider_directory import ProviderDirectory
from desktop_llm.storage.records import Conversation
from desktop_llm.ui.chat.attachment_tray import DraftAttachment
from desktop_llm.ui.chat.chat_sessions import ChatSession, ChatSessions
from desktop_llm.ui.chat.conversation_list import ConversationListModel
from desktop_llm.ui.common.tasks import TaskKeeper

log = logging.getLogger(__name__)

WAIT_FOR_REPLY = "A reply is still streaming here. Stop it (Esc) or wait for it to finish first."


class ChatCommands(QObject):
    """Carry out chat commands against the services and keep the sessions in step.

    Args:
        chat: sends and stops replies.
        conversations: creates, loads and changes conversations.
        directory: suggests a model when a new chat has none.
        sessions: the open sessions.
        list_model: the sidebar's list (a new conversation appears in it).
        tasks: runs the commands.
        show_error: shows a known failure's message.

    Signals:
        conversation_created(object): the new chat was saved as this ``Conversation``.
        draft_returned(str, str, list): a send failed or was stopped before its message was saved
            (session key, text, its ``DraftAttachment`` list).
        sending_changed(object): a send in this ``ChatSession`` was accepted, or has ended (its
            ``sending`` task says which); the composer reads Stop from the first moment.
    """

    conversation_created = Signal(object)
    draft_returned = Signal(str, str, list)
    sending_changed = Signal(object)

    def __init__(
        self,
        *,
        chat: ChatService,
        conversations: ConversationService,
        directory: ProviderDirectory,
        sessions: ChatSessions,
        list_model: ConversationListModel,
        tasks: TaskKeeper,
        show_error: Callable[[str], None],
    ) -> None:
        super().__init__()
        self._chat = chat
        self._conversations = conversations
        self._directory = directory
        self._sessions = sessions
        self._list_model = list_model
        self._tasks = tasks
        self._show_error = show_error

    # -- sending -----------------------------------------------------------------------------

    def send(self, session: ChatSession, text: str, files: Sequence[DraftAttachment] = ()) -> None:
        """Send ``text`` and ``files`` in the session (saving a new chat first); give both back on failure."""
        session.pending_text = text
        session.pending_files = list(files)
        attachments = [draft.attachment for draft in files]
        self._start_sending(session, self._send(session, text, attachments))

    def _start_sending(self, session: ChatSession, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run a send as the session's ``sending`` task, from acceptance until its reply ends."""
        task = self._tasks.run(coroutine, on_error=lambda message: self._send_failed(session, message))
        if task is None:
            return
        session.sending = task
        task.add_done_callback(lambda done: self._sending_ended(session, done))
        self.sending_changed.emit(session)

    def _sending_ended(self, session: ChatSession, task: asyncio.Task[Any]) -> None:
        if session.sending is task:
            session.sending = None
        if task.cancelled() and session.pending_text is not None:
            # Stopped before the reply started: nothing typed is lost.
            text, session.pending_text = session.pending_text, None
            files, session.pending_files = session.pending_files, []
            self.draft_returned.emit(session.key, text, files)
        self.sending_changed.emit(session)

    async def _send(self, session: ChatSession, text: str, attachments: Sequence[Attachment]) -> None:
        if session.conversation is None:
            conversation = await self._create(session)
            self._sessions.adopt(session, conversation)
            self._list_model.upsert(conversation)
            self.conversation_created.emit(conversation)
        assert session.conversation is not None
        await self._chat.send(session.conversation.id, text, attachments)

    async def _create(self, session: ChatSession) -> Conversation:
        settings = session.settings
        if settings.provider_id and not settings.model:
            entry = next((e for e in await self._directory.entries() if e.id == settings.provider_id), None)
            if entry is not None:
                settings.model = await self._directory.default_model(entry)
        if not settings.provider_id or not settings.model:
            raise NoModelChosen()
        return await self._conversations.create(
            provider_id=settings.provider_id,
            model=settings.model,
            system_prompt=settings.system_prompt,
            params=settings.params,
        )

    def _send_failed(self, session: ChatSession, message: str) -> None:
        text, session.pending_text = session.pending_text, None
        files, session.pending_files = session.pending_files, []
        if text is not None:
            self.draft_returned.emit(session.key, text, files)
        self._show_error(message)

    def edit_and_resend(self, session: ChatSession, message_id: str, text: str) -> None:
        """Send an edited copy of one of the person's messages as a new branch."""
        session.pending_text = text
        self._start_sending(session, self._chat.edit_and_resend(message_id, text))

    def regenerate(self, message_id: str) -> None:
        """Ask for another reply in place of ``message_id`` (also Retry after a failure)."""
        self._tasks.run(self._chat.regenerate(message_id))

    def stop(self, session: ChatSession | None) -> bool:
        """Stop the session's streaming reply at once (its text is kept as ``stopped``).

        A send still on its way (the reply not started) is cancelled and its text handed back.
        """
        if session is None:
            return False
        if session.sending is not None and session.pending_text is not None:
            session.sending.cancel()
            return True
        if session.conversation is None:
            return False
        return self._chat.stop(session.conversation.id)

    # -- the tree ----------------------------------------------------------------------------

    def switch_branch(self, session: ChatSession, message_id: str, *, forward: bool) -> None:
        """Show the previous or next sibling branch of ``message_id``."""
        if self._refuse_while_streaming(session):
            return
        self._tasks.run(self._switch_branch(session, message_id, forward))

    async def _switch_branch(self, session: ChatSession, message_id: str, forward: bool) -> None:
        assert session.conversation is not None
        loaded = await self._conversations.load(session.conversation.id)
        position = loaded.branches.get(message_id)
        target = None if position is None else (position.next_id if forward else position.previous_id)
        if target is None:
            return
        session.show_loaded(await self._conversations.switch_branch(session.conversation.id, target))
        self._sessions.path_changed.emit(session.key)

    def delete_message(self, session: ChatSession, message_id: str) -> None:
        """Delete a message and the replies under it."""
        if self._refuse_while_streaming(session):
            return
        self._tasks.run(self._delete_message(session, message_id))

    async def _delete_message(self, session: ChatSession, message_id: str) -> None:
        session.show_loaded(await self._conversations.delete_message(message_id))
        self._sessions.path_changed.emit(session.key)

    def _refuse_while_streaming(self, session: ChatSession) -> bool:
        if session.conversation is None:
            return True
        if self._chat.is_streaming(session.conversation.id):
            self._show_error(WAIT_FOR_REPLY)
            return True
        return False
