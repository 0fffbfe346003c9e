"""Context and cost in the window: the composer's token meter, dimmed messages, reply costs, the dashboard.

Installed into a workspace from outside, like the templates feature: it follows the chat on
screen (``Workspace.current_changed``) and its path, keeps the token meter and the dimming of
messages that will not be sent up to date as the person types or changes the model, the system
prompt or the parameters, shows each reply's tokens and cost in its footer and the
conversation's total in the status bar, and opens the usage dashboard (View > Usage…).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox

from desktop_llm.services.usage import ConversationCosts, UsageService, dollars_text, reply_note
from desktop_llm.ui.chat.chat_sessions import ChatSession
from desktop_llm.ui.chat.token_meter import ContextMeter, ContextPreview
from desktop_llm.ui.common.plain_text import make_plain
from desktop_llm.ui.common.tasks import TaskKeeper
from desktop_llm.ui.shell.status_bar import StatusBar
from desktop_llm.ui.shell.workspace import Workspace
from desktop_llm.ui.usage.usage_dialog import UsageDialog


def cost_text(costs: ConversationCosts) -> tuple[str, str]:
    """Return the status bar's figure for a conversation ("$0.0123") and its explanation, or ("", "")."""
    total = costs.total
    if total.replies == total.unpriced_replies:
        return "", ""
    tooltip = (
        f"What this conversation's {total.replies:,} replies cost at list prices "
        f"(prices as of {costs.as_of}), every branch included."
    )
    if total.unpriced_replies:
        tooltip += f" {total.unpriced_replies:,} on models without a known price are not counted."
    return dollars_text(total.dollars), tooltip


class ContextFeature(QObject):
    """The token meter, reply costs and the usage dashboard, installed into a workspace.

    Args:
        workspace: the window's content (composer, header, sessions).
        preview: plans a chat's next request with the draft.
        usage: prices the stored replies.
        status_bar: shows the conversation's cost and the context notices.
        tasks: runs every async step.
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        preview: ContextPreview,
        usage: UsageService,
        status_bar: StatusBar,
        tasks: TaskKeeper,
    ) -> None:
        super().__init__(workspace)
        self.workspace = workspace
        self.usage = usage
        self.status_bar = status_bar
        self.tasks = tasks
        self.dialog: UsageDialog | None = None
        composer = workspace.composer
        self.meter = ContextMeter(composer.meter, composer.text, preview, tasks, parent=self)
        # The conversation's context strategy sits beside the meter, whose figures it decides.
        composer.footer.addWidget(workspace.header.context)
        workspace.current_changed.connect(self.on_workspace_current_changed)
        workspace.sessions.path_changed.connect(self.on_sessions_path_changed)
        for changed in (
            composer.editor.textChanged,
            workspace.header.system_prompt_changed,
            workspace.header.params_changed,
            workspace.picker.selection_changed,
        ):
            changed.connect(self.meter.schedule)

    # -- the chat on screen ------------------------------------------------------------------

    def on_workspace_current_changed(self, session: ChatSession | None) -> None:
        self.meter.follow(session)
        self.show_costs(session)

    def on_sessions_path_changed(self, key: str) -> None:
        session = self.workspace.current_session()
        if session is not None and session.key == key:
            self.meter.schedule()
            self.show_costs(session)

    def show_costs(self, session: ChatSession | None) -> None:
        """Price the chat's replies in the background and show them (nothing for an unsaved chat)."""
        if session is None or session.conversation is None:
            self.status_bar.set_cost("")
            return
        self.tasks.run(self._show_costs(session, session.conversation.id))

    async def _show_costs(self, session: ChatSession, conversation_id: str) -> None:
        costs = await self.usage.conversation_costs(conversation_id)
        if self.workspace.sessions.get(session.key) is not session:
            return  # closed meanwhile (trashed, or its idle view was let go)
        session.view.set_notes({message_id: reply_note(total) for message_id, total in costs.replies.items()})
        if session is self.workspace.current_session():
            self.status_bar.set_cost(*cost_text(costs))

    # -- the dashboard -----------------------------------------------------------------------

    def open_usage(self) -> UsageDialog:
        """Open the usage dashboard (View > Usage…), or bring it forward if it is open."""
        if self.dialog is None:
            self.dialog = UsageDialog(self.usage, parent=self.workspace.window())
            self.dialog.finished.connect(self.on_dialog_finished)
            self.dialog.show()
        self.dialog.reload()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def on_dialog_finished(self, _result: int) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
            self.dialog = None

    def show_catalog_problem(self, problem: str) -> QMessageBox:
        """Say that the user's model catalog is broken and the shipped one is in use."""
        box = QMessageBox(
            QMessageBox.Icon.Warning, "Model catalog not used", problem, parent=self.workspace.window()
        )
        make_plain(box)  # the problem quotes the person's models.json
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box
