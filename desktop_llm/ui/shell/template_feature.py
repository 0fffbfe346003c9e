"""Put prompt templates into the window: a Templates tab, ``/`` in the message box, compare and batch.

The sidebar becomes two tabs, "Chats" (the conversation list) and "Templates" (the template
list); choosing Templates shows the Templates page in the centre, and anything that brings a
chat back to the centre switches the tab back. A prompt from "Use in chat" or from the ``/``
picker goes into the message box, or starts a new chat with the template's system part as
its system prompt. Everything here uses the workspace's public parts only.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog, QSplitter, QTabWidget, QWidget

from desktop_llm.core.highlight_pool import HighlightPool
from desktop_llm.core.prompt_templates import RenderedPrompt, TemplateFormatError
from desktop_llm.services.compare import CompareService
from desktop_llm.services.provider_directory import ProviderDirectory
from desktop_llm.services.templates import TemplateService
from desktop_llm.storage.response_cache import SqliteResponseCache
from desktop_llm.ui.common.math_images import MathImages
from desktop_llm.ui.common.tasks import TaskKeeper
from desktop_llm.ui.shell.workspace import Workspace
from desktop_llm.ui.templates.batch_dialog import BatchDialog
from desktop_llm.ui.templates.batches_feature import BatchesFeature
from desktop_llm.ui.templates.compare_view import CompareView
from desktop_llm.ui.templates.template_form import TemplateFormDialog
from desktop_llm.ui.templates.template_list import TemplateListPane
from desktop_llm.ui.templates.template_picker import TemplatePicker
from desktop_llm.ui.templates.templates_panel import TemplatesPanel

CHATS_TAB, TEMPLATES_TAB = 0, 1


class TemplateFeature(QObject):
    """The templates feature, installed into a workspace.

    Args:
        workspace: the window's content (sidebar, centre, composer, header).
        templates: the templates and their versions.
        compare: runs and keeps comparisons.
        cache: replies already paid for, reused by batch runs.
        directory: the provider entries, for comparisons and batch runs.
        tasks: runs every async step.
        batches: the providers' batch services (None: batch runs only run here).
        highlighter: colours code in the compare views' replies (None: code stays plain).
        math: draws and caches formulas, shared with the chat (None: each compare view its own).
    """

    def __init__(
        self,
        workspace: Workspace,
        templates: TemplateService,
        compare: CompareService,
        cache: SqliteResponseCache,
        directory: ProviderDirectory,
        tasks: TaskKeeper,
        *,
        batches: BatchesFeature | None = None,
        highlighter: HighlightPool | None = None,
        math: MathImages | None = None,
    ) -> None:
        super().__init__(workspace)
        self.workspace = workspace
        self._highlighter, self._math = highlighter, math  # for the compare views' replies
        self.batches = batches
        self.directory = directory
        self.tasks = tasks
        self.templates = templates
        self.compare = compare
        self.cache = cache
        self.list_pane = TemplateListPane()
        self.panel = TemplatesPanel(self.templates, tasks, self.list_pane)
        self.picker = TemplatePicker(workspace)
        self.dialogs: list[QDialog] = []  # open compare views and batch dialogs
        self.form_dialog: TemplateFormDialog | None = None  # the last fill-in form opened by the picker
        self.tabs = self._install_tabs()

        self.panel.prompt_ready.connect(self.use_prompt)
        self.panel.compare_requested.connect(self.open_compare)
        self.panel.batch_requested.connect(self.open_batch)
        self.picker.picked.connect(self.on_picker_picked)
        self.picker.dismissed.connect(self.on_picker_dismissed)
        workspace.composer.template_picker_requested.connect(self.open_picker)
        workspace.composer.template_picker_enabled = True

    def _install_tabs(self) -> QTabWidget:
        sidebar = self.workspace.sidebar
        splitter = sidebar.parentWidget()
        assert isinstance(splitter, QSplitter), "the sidebar sits in the workspace's splitter"
        tabs = QTabWidget()
        tabs.setObjectName("sidebarTabs")
        tabs.setDocumentMode(True)
        splitter.replaceWidget(splitter.indexOf(sidebar), tabs)
        tabs.addTab(sidebar, "Chats")
        tabs.addTab(self.list_pane, "Templates")
        self.workspace.centre.addWidget(self.panel)
        self._chat_page: QWidget | None = None
        tabs.currentChanged.connect(self.on_tabs_current_changed)
        self.workspace.centre.currentChanged.connect(self.on_centre_current_changed)
        return tabs

    async def start(self) -> None:
        """Seed the built-in templates on first run and list them."""
        await self.panel.start()

    # -- the tab -----------------------------------------------------------------------------

    def show_templates(self) -> None:
        """Switch the sidebar to the templates and the centre to the Templates page."""
        self.tabs.setCurrentIndex(TEMPLATES_TAB)

    def show_chats(self) -> None:
        """Switch the sidebar back to the conversations and the centre to the chat."""
        self.tabs.setCurrentIndex(CHATS_TAB)

    def set_sidebar_visible(self, visible: bool) -> None:
        """Show or hide the whole sidebar, both tabs (View > Show sidebar)."""
        # A Python method, not the bound C++ setVisible: PySide then passes the action's
        # checked state instead of calling with no argument.
        self.tabs.setVisible(visible)

    def on_tabs_current_changed(self, index: int) -> None:
        """Show the Templates page for the Templates tab, and the chat it replaced for Chats."""
        centre = self.workspace.centre
        if index == TEMPLATES_TAB:
            if centre.currentWidget() is not self.panel:
                self._chat_page = centre.currentWidget()
            centre.setCurrentWidget(self.panel)
        elif centre.currentWidget() is self.panel:
            centre.setCurrentWidget(self._chat_page or self.workspace.chat_page)
            self.workspace.composer.focus_editor()

    def on_centre_current_changed(self, _index: int) -> None:
        """Keep the tab in step when the workspace itself changes the centre."""
        # The workspace showed a chat (a new chat, a search hit): the Chats tab goes with it.
        if (
            self.workspace.centre.currentWidget() is not self.panel
            and self.tabs.currentIndex() == TEMPLATES_TAB
        ):
            self.tabs.blockSignals(True)
            self.tabs.setCurrentIndex(CHATS_TAB)
            self.tabs.blockSignals(False)

    # -- prompts into the chat ---------------------------------------------------------------

    def use_prompt(self, prompt: RenderedPrompt, new_chat: bool) -> None:
        """Put ``prompt`` into the message box; with ``new_chat``, in a new chat with its system part."""
        workspace = self.workspace
        self.show_chats()
        if new_chat:
            workspace.new_chat()
            workspace.header.show_settings(prompt.system, workspace.header.params())
            workspace.on_header_system_prompt_changed(prompt.system)
        workspace.composer.set_text(prompt.user)
        workspace.composer.focus_editor()

    def open_picker(self) -> None:
        """Open the quick picker above the message box (``/`` at its start)."""
        self.tasks.run(self._open_picker())

    async def _open_picker(self) -> None:
        self.picker.open_above(self.workspace.composer, await self.templates.list())

    def on_picker_dismissed(self) -> None:
        """Type the slash after all: the picker was closed without a pick."""
        # The person may just have wanted a slash.
        composer = self.workspace.composer
        if not composer.text():
            composer.editor.insertPlainText("/")
        composer.focus_editor()

    def on_picker_picked(self, template_id: str) -> None:
        """Ask for the picked template's values."""
        self.tasks.run(self._fill_in(template_id))

    async def _fill_in(self, template_id: str) -> TemplateFormDialog | None:
        """Ask for the default version's values; a template without variables or system part goes in as is."""
        loaded = await self.templates.load(template_id)
        try:
            template = loaded.template()
        except TemplateFormatError as error:
            self.workspace.show_error(str(error))
            return None
        if not template.variables and not template.system.strip():
            self.use_prompt(template.render({}), False)
            return None
        dialog = TemplateFormDialog(template, self.workspace.window())
        dialog.prompt_chosen.connect(self.use_prompt)
        dialog.rejected.connect(self.workspace.composer.focus_editor)
        dialog.open()
        self.form_dialog = dialog
        return dialog

    # -- compare and batch -------------------------------------------------------------------

    def open_compare(self, template_id: str) -> CompareView:
        """Open the compare view for a template, its inputs filled with the page's sample values."""
        view = CompareView(
            self.compare,
            self.templates,
            self.directory,
            self.tasks,
            template_id,
            self.workspace.window(),
            math=self._math,
            highlighter=self._highlighter,
        )
        view.default_changed.connect(
            lambda tid, number: self.tasks.run(self.panel.refresh(tid, select_version=number))
        )
        self._keep(view)

        async def start() -> None:
            await view.start()
            view.set_values(self.panel.sample_form.values())

        self.tasks.run(start())
        return view

    def open_batch(self, template_id: str) -> BatchDialog:
        """Open the batch dialog for a template."""
        dialog = BatchDialog(
            self.templates,
            self.directory,
            self.tasks,
            cache=self.cache,
            template_id=template_id,
            remote=None if self.batches is None else self.batches.batches,
            parent=self.workspace.window(),
        )
        if self.batches is not None:
            dialog.remote_submitted.connect(self.batches.on_submitted)
        self._keep(dialog)
        self.tasks.run(dialog.start_up())
        return dialog

    def _keep(self, dialog: QDialog) -> None:
        self.dialogs.append(dialog)
        dialog.finished.connect(
            lambda _result: self.dialogs.remove(dialog) if dialog in self.dialogs else None
        )
        dialog.show()
