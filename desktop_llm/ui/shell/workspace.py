"""Everything under the menu bar: the sidebar on the left; the chat, welcome or empty state in the centre.

The workspace wires the parts together and owns navigation: which conversation is open, the
new chat, the first-run welcome, the trash with Undo, opening a search hit at its message. The
chat commands live in ``chat_commands``, the open conversations in ``chat_sessions``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFontDatabase, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QSplitter, QStackedWidget, QVBoxLayout, QWidget

from desktop_llm.core.highlight_pool import HighlightPool
from desktop_llm.core.markdown import MarkdownRenderer
from desktop_llm.services.chat import ChatService
from desktop_llm.services.conversations import ConversationService
from desktop_llm.services.provider_directory import ProviderDirectory, ProviderEntry
from desktop_llm.services.tool_loop import Approval
from desktop_llm.storage.records import Conversation, SearchHit
from desktop_llm.ui.chat.attachment_tray import DraftAttachment
from desktop_llm.ui.chat.chat_commands import ChatCommands
from desktop_llm.ui.chat.chat_header import ChatHeader
from desktop_llm.ui.chat.chat_page import ChatPage
from desktop_llm.ui.chat.chat_sessions import NEW_CHAT, ChatSession, ChatSessions, ChatSettings
from desktop_llm.ui.chat.chat_view import ChatView
from desktop_llm.ui.chat.composer import Composer
from desktop_llm.ui.chat.conversation_list import UNTITLED, ConversationListModel
from desktop_llm.ui.chat.sidebar import Sidebar, first_match
from desktop_llm.ui.common.chat_bridge import ChatBridge
from desktop_llm.ui.common.math_images import MathImages
from desktop_llm.ui.common.model_picker import ModelPicker
from desktop_llm.ui.common.tasks import TaskKeeper
from desktop_llm.ui.shell.list_actions import ListActions
from desktop_llm.ui.shell.main_window import ERROR_MESSAGE_MS, SIDEBAR_WIDTH
from desktop_llm.ui.shell.status_bar import StatusBar
from desktop_llm.ui.shell.welcome import EmptyState, WelcomePanel

APP_TITLE = "Desktop LLM"


log = logging.getLogger(__name__)


class Workspace(QWidget):
    """The window's content.

    Args:
        chat, conversations, directory: the services.
        bridge: the chat service's events.
        status_bar: the window's status bar (activity, usage, undo).
        tasks: runs every async command.
        export_conversation: opens the export dialog for a conversation id.
        open_url: opens links from replies (the system browser by default).
        sidebar: the sidebar the window's first paint showed (None: a new one).
        highlighter: colours code blocks in replies (the app's; None: code stays plain).
        math: draws and caches formulas for every chat (the app's; None: each view its own).

    Signals:
        window_title_changed(str): the title the window should show.
        settings_requested(): the welcome panel's "Open Settings".
        current_changed(object): the chat on screen changed, finished loading or was saved
            (its ``ChatSession``, or None).
        view_made(object): a ``ChatView`` was made for a session (features hook into it).
    """

    window_title_changed = Signal(str)
    settings_requested = Signal()
    current_changed = Signal(object)
    view_made = Signal(object)

    def __init__(
        self,
        *,
        chat: ChatService,
        conversations: ConversationService,
        directory: ProviderDirectory,
        bridge: ChatBridge,
        status_bar: StatusBar,
        tasks: TaskKeeper,
        export_conversation: Callable[[str], None],
        open_url: Callable[[QUrl], object] = QDesktopServices.openUrl,
        sidebar: Sidebar | None = None,
        highlighter: HighlightPool | None = None,
        math: MathImages | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._chat = chat
        self._math = math
        self._conversations = conversations
        self._directory = directory
        self._status = status_bar
        self._bridge = bridge
        self._tasks = tasks
        self._export = export_conversation
        self._open_url = open_url
        self._entries: list[ProviderEntry] = []
        self._current: ChatSession | None = None
        self._draft_files: dict[str, list[DraftAttachment]] = {}  # unsent attachments by session key
        self._dark = False
        self._font_size = 0
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
        self._renderer = MarkdownRenderer(mono_family=mono, highlighter=highlighter)

        # The sidebar may come from the first paint, already listing the conversations.
        self.sidebar = sidebar or Sidebar(ConversationListModel(self), conversations.search, tasks)
        self.list_model = self.sidebar.list_model
        self.list_actions = ListActions(conversations, self.sidebar.list_view, tasks, status_bar)
        self.sessions = ChatSessions(bridge, self.list_model, self._make_view, self)
        self.commands = ChatCommands(
            chat=chat,
            conversations=conversations,
            directory=directory,
            sessions=self.sessions,
            list_model=self.list_model,
            tasks=tasks,
            show_error=self.show_error,
        )
        self.picker = ModelPicker(directory, tasks)
        self.header = ChatHeader(self.picker)
        self.composer = Composer()
        self.chat_page = ChatPage(self.header, self.composer)
        self.welcome = WelcomePanel()
        self.empty_state = EmptyState()
        self.centre = QStackedWidget()
        for page in (self.welcome, self.empty_state, self.chat_page):
            self.centre.addWidget(page)
        self.splitter = QSplitter()
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.centre)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([SIDEBAR_WIDTH, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self._connect()

    def _connect(self) -> None:
        self._bridge.title_changed.connect(self.on_bridge_title_changed)
        self.sidebar.new_chat_requested.connect(self.new_chat)
        self.sidebar.hit_activated.connect(self.on_sidebar_hit_activated)
        listing = self.sidebar.list_view
        listing.open_requested.connect(self.open_conversation)
        listing.delete_requested.connect(self.trash_conversation)
        listing.export_requested.connect(self._export)
        self.list_actions.trashed.connect(self.on_list_actions_trashed)
        self.list_actions.restored.connect(self.open_conversation)
        self.list_actions.renamed.connect(self.on_list_actions_renamed)
        self.sessions.streaming_changed.connect(self.on_sessions_streaming_changed)
        self.sessions.path_changed.connect(self.on_sessions_path_changed)
        self.sessions.view_action.connect(self.on_sessions_view_action)
        self.sessions.tool_answered.connect(self.on_sessions_tool_answered)
        self.commands.draft_returned.connect(self.on_commands_draft_returned)
        self.commands.conversation_created.connect(self.on_commands_conversation_created)
        self.commands.sending_changed.connect(self.on_commands_sending_changed)
        self.composer.send_requested.connect(self.on_composer_send_requested)
        self.composer.edit_submitted.connect(self.on_composer_edit_submitted)
        self.composer.stop_requested.connect(self.stop_current)
        self.composer.edit_last_requested.connect(self.on_composer_edit_last_requested)
        self.picker.selection_changed.connect(self.on_picker_selection_changed)
        self.picker.status_message.connect(self.show_error)
        self.header.system_prompt_changed.connect(self.on_header_system_prompt_changed)
        self.header.params_changed.connect(self.on_header_params_changed)
        self.welcome.settings_requested.connect(self.settings_requested)
        self.welcome.recheck_requested.connect(self.reload_providers)
        self.empty_state.new_chat_requested.connect(self.new_chat)

    # -- start -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the providers and the conversations (unless the first paint did), then open a new chat."""
        self._entries = await self._directory.entries()
        self.picker.set_entries(self._entries)
        if self.list_model.loaded:
            await self.list_actions.load_folders()
        else:
            await self.reload_conversations()
        self._show_start_page()

    def _show_start_page(self) -> None:
        self.sidebar.new_chat_button.setEnabled(bool(self._entries))
        if not self._entries:
            self.centre.setCurrentWidget(self.welcome)
            self._set_current(None)
            self.window_title_changed.emit(APP_TITLE)
        else:
            self.new_chat()

    async def reload_conversations(self) -> None:
        """Read the first page of conversations again (after an import)."""
        await self.list_actions.reload()
        if self._current is not None and self._current.conversation is not None:
            self.sidebar.list_view.select_conversation(self._current.conversation.id)

    def reload_providers(self) -> None:
        """Read the provider entries again (after Settings changed them, or "Check again")."""
        self._tasks.run(self._reload_providers())

    async def _reload_providers(self) -> None:
        had_entries = bool(self._entries)
        self._entries = await self._directory.entries()
        self.picker.set_entries(self._entries)
        if not self._entries or not had_entries:
            self._show_start_page()

    # -- navigation --------------------------------------------------------------------------

    def current_session(self) -> ChatSession | None:
        return self._current

    def new_chat(self) -> None:
        """Open a new, empty chat with the settings of the last one used (Ctrl+N)."""
        if not self._entries:
            self._show_start_page()
            return
        settings = self._new_chat_settings()
        session, created = self.sessions.open(NEW_CHAT, settings)
        if created:
            session.loaded = True
            session.view.set_messages([])
        self._show(session)
        self.sidebar.list_view.select_conversation(None)

    def _new_chat_settings(self) -> ChatSettings:
        known = {entry.id for entry in self._entries}
        recent = [self._current.settings] if self._current and self._current.conversation else []
        recent += [ChatSettings.of(c) for c in self.list_model.first(20)]
        for settings in recent:
            if settings.provider_id in known:
                return ChatSettings(settings.provider_id, settings.model)
        entry = self._entries[0]
        return ChatSettings(entry.id, entry.default_model)

    def open_conversation(self, conversation_id: str, find_text: str = "") -> None:
        """Show a conversation (loading it the first time); optionally find ``find_text`` in it."""
        listed = self.list_model.conversation(conversation_id)
        settings = ChatSettings.of(listed) if listed else ChatSettings()
        session, created = self.sessions.open(conversation_id, settings)
        if listed is not None and session.conversation is None:
            session.conversation = listed
        self._show(session)
        self.sidebar.list_view.select_conversation(conversation_id)
        if created or not session.loaded:
            self._tasks.run(self._load(session, conversation_id, find_text))
        elif find_text:
            session.view.find_text(find_text)

    async def _load(self, session: ChatSession, conversation_id: str, find_text: str) -> None:
        session.show_loaded(await self._conversations.load(conversation_id))
        if session is self._current:
            self._show_settings(session)
            self._status.set_conversation(session.key, session.path)
            self._update_title()
            self.current_changed.emit(session)
        if find_text:
            session.view.find_text(find_text)

    def _show(self, session: ChatSession) -> None:
        switching = self._current is not session
        if switching and self._current is not None:
            self._leave(self._current)
        self._set_current(session)
        self.centre.setCurrentWidget(self.chat_page)
        self.chat_page.show_view(session.view, empty=not session.path and session.conversation is None)
        if switching:
            self._show_settings(session)
            if self.composer.editing_id is not None:
                self.composer.cancel_editing()
            self.composer.set_text(self.sessions.drafts.pop(session.key, ""))
            self.composer.tray.clear()
            for draft in self._draft_files.pop(session.key, []):
                self.composer.tray.add(draft)
        self.composer.set_streaming(self.sessions.is_streaming(session.key))
        self.composer.focus_editor()
        self._update_title()

    def _show_settings(self, session: ChatSession) -> None:
        settings = session.settings
        self.picker.set_selection(settings.provider_id, settings.model, choose_default=not settings.model)
        self.header.show_settings(settings.system_prompt, settings.params)

    def _leave(self, session: ChatSession) -> None:
        self.header.flush_prompt()
        text = "" if self.composer.editing_id else self.composer.text()
        if text:
            self.sessions.drafts[session.key] = text
        if self.composer.tray.chips:
            self._draft_files[session.key] = self.composer.tray.drafts()

    def _set_current(self, session: ChatSession | None) -> None:
        self._current = session
        key = session.key if session and session.conversation else None
        self._status.set_conversation(key, session.path if session else [])
        self.current_changed.emit(session)

    def _update_title(self) -> None:
        conversation = self._current.conversation if self._current else None
        title = (conversation.title or UNTITLED) if conversation else "New chat"
        self.window_title_changed.emit(f"{title} — {APP_TITLE}")

    def on_bridge_title_changed(self, conversation_id: str, _title: str) -> None:
        if self._current is not None and self._current.key == conversation_id:
            self._update_title()

    def on_sidebar_hit_activated(self, hit: SearchHit) -> None:
        self.open_conversation(hit.conversation_id, first_match(hit.snippet) if hit.message_id else "")

    # -- the composer ------------------------------------------------------------------------

    def on_composer_send_requested(self, text: str) -> None:
        session = self._current
        if session is None:
            return
        self.header.flush_prompt()
        drafts = self.composer.tray.drafts()
        self.composer.clear()
        self.composer.tray.clear()
        self.commands.send(session, text, drafts)

    def on_composer_edit_submitted(self, message_id: str, text: str) -> None:
        if self._current is not None:
            self.composer.clear()
            self.commands.edit_and_resend(self._current, message_id, text)

    def on_composer_edit_last_requested(self) -> None:
        message = self._current.last_user_message() if self._current else None
        if message is not None:
            self.composer.start_editing(message.id, message.content)

    def stop_current(self) -> None:
        """Stop the open conversation's reply (Esc, the Stop button)."""
        self.commands.stop(self._current)

    def on_commands_draft_returned(self, key: str, text: str, drafts: list[DraftAttachment]) -> None:
        here = self._current is not None and self._current.key == key
        if here and not self.composer.text() and not self.composer.tray.chips:
            self.composer.set_text(text)
            for draft in drafts:
                self.composer.tray.add(draft)
        else:
            self.sessions.drafts[key] = text
            self._draft_files[key] = drafts

    def on_commands_conversation_created(self, conversation: Conversation) -> None:
        if self._current is not None and self._current.conversation is conversation:
            self.sidebar.list_view.select_conversation(conversation.id)
            self._status.set_conversation(conversation.id, self._current.path)
            self._update_title()
            self.current_changed.emit(self._current)

    # -- sessions ----------------------------------------------------------------------------

    def on_sessions_streaming_changed(self, key: str, _streaming: bool) -> None:
        if self._current is not None and self._current.key == key:
            # Still Stop while the send that started this reply winds up (it holds the conversation).
            self.composer.set_streaming(self.sessions.is_streaming(key))

    def on_commands_sending_changed(self, session: ChatSession) -> None:
        if session is self._current:
            self.composer.set_streaming(self.sessions.is_streaming(session.key))

    def on_sessions_path_changed(self, key: str) -> None:
        if self._current is not None and self._current.key == key:
            self.chat_page.show_view(self._current.view)
            self._status.set_usage(self._current.path)
            self._update_title()

    def on_sessions_tool_answered(self, call_id: str, answer: str) -> None:
        """Pass the person's answer about a tool call to the reply waiting for it."""
        if not self._chat.answer_tool_call(call_id, Approval(answer)):
            log.info("an answer came for tool call %s, which no reply is waiting for", call_id)

    def on_sessions_view_action(self, key: str, action: str, message_id: str) -> None:
        session = self.sessions.get(key)
        if session is None:
            return
        if action == "edit":
            message = session.message(message_id)
            if message is not None and session is self._current:
                self.composer.start_editing(message_id, message.content)
        elif action in ("regenerate", "retry"):
            self.commands.regenerate(message_id)
        elif action in ("previous_branch", "next_branch"):
            self.commands.switch_branch(session, message_id, forward=action == "next_branch")
        elif action == "delete":
            self.commands.delete_message(session, message_id)

    # -- header ------------------------------------------------------------------------------

    def on_picker_selection_changed(self, provider_id: str, model: str) -> None:
        session = self._current
        if session is None:
            return
        session.settings.provider_id, session.settings.model = provider_id or None, model or None
        if session.conversation is not None:
            self._save_settings(session, provider_id=provider_id or None, model=model or None)

    def on_header_system_prompt_changed(self, text: str) -> None:
        if self._current is not None:
            self._current.settings.system_prompt = text
            if self._current.conversation is not None:
                self._save_settings(self._current, system_prompt=text)

    def on_header_params_changed(self, params: dict[str, Any]) -> None:
        if self._current is not None:
            self._current.settings.params = dict(params)
            if self._current.conversation is not None:
                self._save_settings(self._current, params=dict(params))

    def _save_settings(self, session: ChatSession, **changes: Any) -> None:
        async def save() -> None:
            assert session.conversation is not None
            saved = await self._conversations.update_settings(session.conversation.id, **changes)
            session.conversation = saved
            listed = self.list_model.conversation(saved.id)
            if listed is not None:
                self.list_model.upsert(dataclasses.replace(saved, updated_at=listed.updated_at))

        self._tasks.run(save())

    # -- the list ----------------------------------------------------------------------------

    def trash_conversation(self, conversation_id: str) -> None:
        """Stop its reply and move a conversation to the trash, with Undo in the status bar."""
        self._chat.stop(conversation_id)
        self.list_actions.trash(conversation_id)

    def on_list_actions_trashed(self, conversation_id: str) -> None:
        was_open = self._current is not None and self._current.key == conversation_id
        self.sessions.close(conversation_id)
        if was_open:
            self._set_current(None)
            self.centre.setCurrentWidget(self.empty_state)
            self.window_title_changed.emit(APP_TITLE)

    def on_list_actions_renamed(self, conversation_id: str, title: str) -> None:
        session = self.sessions.get(conversation_id)
        if session is not None and session.conversation is not None:
            session.conversation = dataclasses.replace(session.conversation, title=title)
            self._update_title()

    # -- commands from the menus -------------------------------------------------------------

    def focus_search(self) -> None:
        self.sidebar.focus_search()

    def find_in_chat(self) -> None:
        view = self.chat_page.current_view()
        if view is not None and self.centre.currentWidget() is self.chat_page:
            view.show_find_bar()

    def export_current(self) -> None:
        if self._current is not None and self._current.conversation is not None:
            self._export(self._current.conversation.id)
        else:
            self.show_error("Open a saved conversation to export it.")

    def rename_current(self) -> None:
        self.sidebar.list_view.rename_current()

    def trash_current(self) -> None:
        if self._current is not None and self._current.conversation is not None:
            self.trash_conversation(self._current.conversation.id)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Esc stops the open chat's reply and Ctrl+F finds in it, wherever the focus is."""
        current = self._current
        if (
            event.key() == Qt.Key.Key_Escape
            and current is not None
            and self.sessions.is_streaming(current.key)
        ):
            self.stop_current()
            return
        if event.matches(QKeySequence.StandardKey.Find):
            # Ctrl+F outside the chat view (in the composer, the list): the view's own shortcut
            # covers it inside. One binding per place, so Qt never sees an ambiguous shortcut.
            self.find_in_chat()
            return
        super().keyPressEvent(event)

    def show_error(self, message: str) -> None:
        """Show a known failure's message in the status bar."""
        self._status.showMessage(message, ERROR_MESSAGE_MS)

    # -- appearance --------------------------------------------------------------------------

    def apply_appearance(self, *, dark: bool, font_size: int, send_key: str) -> None:
        """Apply the theme, the chat font size and the send key to every open chat."""
        self._dark, self._font_size = dark, font_size
        self.composer.set_send_key(send_key)
        for session in self.sessions.sessions():
            session.view.set_theme(dark)
            if font_size:
                session.view.set_font_size(font_size)

    def _make_view(self) -> ChatView:
        view = ChatView(renderer=self._renderer, open_url=self._open_url, dark=self._dark, math=self._math)
        if self._font_size:
            view.set_font_size(self._font_size)
        self.view_made.emit(view)
        return view
