"""The Templates page: edit a template, preview it with sample values, browse and restore its versions.

The page pairs with a :class:`TemplateListPane` (which the window puts in its sidebar): picking
a template there opens it here. The editor shows the newest version; "Save as new version"
stores what is shown with a note, and is offered only when something changed and nothing is
wrong. Unsaved edits are kept per template while the app runs, so switching templates loses
nothing. "Use in chat" fills in the template (as shown) and hands the prompt to the chat;
"Compare…" and "Batch run…" ask the window to open those for the template.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.core.prompt_templates import PromptTemplate, RenderedPrompt, TemplateFormatError
from desktop_llm.services.templates import LoadedTemplate, TemplateService
from desktop_llm.ui.common.plain_text import make_plain, plain_label
from desktop_llm.ui.common.tasks import TaskKeeper
from desktop_llm.ui.templates.template_editor import TemplateEditor
from desktop_llm.ui.templates.template_form import PromptPreview, TemplateForm, TemplateFormDialog
from desktop_llm.ui.templates.template_list import TemplateListPane
from desktop_llm.ui.templates.version_history import VersionHistory

NEW_TEMPLATE = PromptTemplate(name="New template", user="")


class TemplatesPanel(QWidget):
    """Edit, preview and version the template picked in ``list_pane``.

    Args:
        service: the templates service.
        tasks: runs the service calls.
        list_pane: the template list this page follows (one is made if not given).

    Signals:
        prompt_ready(object, bool): a ``RenderedPrompt`` from "Use in chat", and whether to start a
            new chat with its system part (else the user part goes into the message box).
        compare_requested(str): open the compare view for this template id.
        batch_requested(str): open the batch dialog for this template id.
    """

    prompt_ready = Signal(object, bool)
    compare_requested = Signal(str)
    batch_requested = Signal(str)

    def __init__(
        self,
        service: TemplateService,
        tasks: TaskKeeper,
        list_pane: TemplateListPane | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("templatesPanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._service = service
        self._tasks = tasks
        self.list_pane = list_pane or TemplateListPane()
        self.loaded: LoadedTemplate | None = None
        self._saved_body: dict[str, Any] | None = None  # the body of the version the editor started from
        self._drafts: dict[str, PromptTemplate] = {}  # unsaved edits per template id
        self._sample_values: dict[str, str] = {}
        self._notice = ""  # the last thing done ("Saved as version 3"), shown until the next edit

        self.builtin_badge = QLabel("Built-in")
        self.builtin_badge.setObjectName("builtinBadge")
        self.builtin_badge.setToolTip("Shipped with Desktop LLM; your edits are saved as new versions")
        self.builtin_badge.setStyleSheet(
            "QLabel { border: 1px solid palette(mid); border-radius: 9px; padding: 1px 9px; "
            "font-weight: 600; }"
        )
        self.version_label = plain_label()
        self.version_label.setObjectName("mutedLabel")
        self.use_button = QPushButton("Use in chat…")
        self.use_button.setObjectName("primaryButton")
        self.use_button.clicked.connect(self.use_in_chat)
        self.compare_button = QPushButton("Compare…")
        self.compare_button.setToolTip("Run the same inputs through two versions or two models")
        self.compare_button.clicked.connect(self._request_compare)
        self.batch_button = QPushButton("Batch run…")
        self.batch_button.setToolTip("Run many rows of values from a CSV or JSONL file")
        self.batch_button.clicked.connect(self._request_batch)

        self.editor = TemplateEditor()
        self.editor.changed.connect(self.on_editor_changed)
        self.sample_form = TemplateForm()
        self.sample_form.values_changed.connect(self._refresh_preview)
        self.preview = PromptPreview()
        self.history = VersionHistory()
        self.history.restore_requested.connect(self.restore)
        self.history.default_requested.connect(self.make_default)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("templateTabs")
        self.tabs.addTab(self.editor, "Edit")
        self.tabs.addTab(self._preview_page(), "Preview")
        self.tabs.addTab(self.history, "History")

        self.note = QLineEdit()
        self.note.setPlaceholderText("Note for this version (what changed and why)")
        self.save_button = QPushButton("Save as new version")
        self.save_button.clicked.connect(self.save)
        self.status = plain_label()
        self.status.setObjectName("mutedLabel")

        top = QHBoxLayout()
        top.addWidget(self.builtin_badge)
        top.addWidget(self.version_label)
        top.addStretch(1)
        top.addWidget(self.compare_button)
        top.addWidget(self.batch_button)
        top.addWidget(self.use_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.note, 2)
        bottom.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 10, 16, 10)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(bottom)

        self.list_pane.template_selected.connect(self.open_template)
        self.list_pane.new_requested.connect(self.new_template)
        self.list_pane.delete_requested.connect(self.delete_template)
        self._show_loaded(None, NEW_TEMPLATE)

    def _preview_page(self) -> QWidget:
        page = QSplitter(Qt.Orientation.Vertical)
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 6, 0, 0)
        hint = QLabel("Sample values (kept while the app runs; also filled into “Use in chat”)")
        hint.setObjectName("mutedLabel")
        column.addWidget(hint)
        column.addWidget(self.sample_form)
        column.addStretch(1)
        page.addWidget(holder)
        page.addWidget(self.preview)
        return page

    # -- loading -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Seed the built-in templates on first run, list them and open the first."""
        await self._service.seed_builtins()
        await self.reload_list()
        first = self.list_pane.model.summary(0)
        if first is not None and self.loaded is None:
            await self._open(first.id)

    async def reload_list(self, select: str | None = None) -> None:
        """Read the template list again."""
        self.list_pane.set_templates(await self._service.list(), select=select)

    def open_template(self, template_id: str) -> None:
        """Open a template (its newest version, or the unsaved edits left in it)."""
        if self.loaded is not None and self.loaded.id == template_id:
            return
        self._tasks.run(self._open(template_id))

    async def _open(self, template_id: str, *, select_version: int | None = None) -> None:
        self._keep_draft()
        loaded = await self._service.load(template_id)
        try:
            saved = loaded.template(loaded.latest.number)
        except TemplateFormatError as error:
            self.show_message(str(error))
            return
        draft = self._drafts.pop(template_id, None)
        self._show_loaded(loaded, saved, draft=draft, select_version=select_version)
        self.list_pane.select(template_id)

    def _show_loaded(
        self,
        loaded: LoadedTemplate | None,
        saved: PromptTemplate,
        *,
        draft: PromptTemplate | None = None,
        select_version: int | None = None,
    ) -> None:
        self.loaded = loaded
        self._saved_body = saved.to_dict() if loaded is not None else None
        self.editor.load(draft or saved)
        self.builtin_badge.setVisible(loaded is not None and loaded.builtin)
        self.history.setEnabled(loaded is not None)
        self.tabs.setTabText(2, f"History ({len(loaded.versions)})" if loaded else "History")
        if loaded is not None:
            self.history.show_versions(loaded, select=select_version)
            latest, default = loaded.latest.number, loaded.record.default_version
            self.version_label.setText(
                f"Editing v{latest} · default v{default}"
                if latest != default
                else f"Editing v{latest} (default)"
            )
        else:
            self.version_label.setText("Not saved yet")
        self.note.clear()
        self._notice = "Unsaved changes kept from before." if draft else ""
        self._refresh()

    def _keep_draft(self) -> None:
        if self.loaded is not None and self.is_dirty():
            self._drafts[self.loaded.id] = self.editor.template()

    # -- state -------------------------------------------------------------------------------

    def is_dirty(self) -> bool:
        """Return whether the editor differs from the version it started from."""
        return self._saved_body is None or self.editor.template().to_dict() != self._saved_body

    def on_editor_changed(self) -> None:
        """The person edited the template: the last notice is stale, the buttons and preview follow."""
        self._notice = ""
        self._refresh()

    def _refresh(self) -> None:
        problems = self.editor.problems()
        dirty = self.is_dirty()
        self.save_button.setEnabled(dirty and not problems)
        self.save_button.setToolTip("Fix the problems listed first" if problems else "")
        self.use_button.setEnabled(not problems)
        self.compare_button.setEnabled(self.loaded is not None)
        self.batch_button.setEnabled(self.loaded is not None)
        self._refresh_status()
        template = self.editor.template()
        if template.variable_specs() != self.sample_form.template.variable_specs():
            # New fields: values typed for variables of the same name carry over.
            self._sample_values.update(self.sample_form.values())
            self.sample_form.set_template(template, self._sample_values)
        else:
            self.sample_form.retarget(template)
        self._refresh_preview()

    def _refresh_preview(self) -> None:
        self.preview.show_form(self.sample_form)

    def show_message(self, text: str) -> None:
        """Show a short notice under the editor until the next edit."""
        self._notice = text
        self._refresh_status()

    def _refresh_status(self) -> None:
        unsaved = self.loaded is not None and self.is_dirty()
        self.status.setText(self._notice or ("Unsaved changes" if unsaved else ""))

    # -- commands ----------------------------------------------------------------------------

    def new_template(self) -> None:
        """Start a new, unsaved template."""
        self._keep_draft()
        self._show_loaded(None, NEW_TEMPLATE)
        self.list_pane.view.clearSelection()
        self.tabs.setCurrentWidget(self.editor)
        self.editor.name.setFocus()
        self.editor.name.selectAll()

    def save(self) -> None:
        """Save what the editor shows as a new version (or as a new template)."""
        if not self.save_button.isEnabled():
            return
        self._tasks.run(self._save(self.editor.template(), self.note.text().strip()))

    async def _save(self, template: PromptTemplate, note: str) -> None:
        if self.loaded is None:
            loaded = await self._service.create(template, note)
            template_id, message = loaded.id, "Saved as a new template"
        else:
            version = await self._service.save_version(self.loaded.id, template, note)
            template_id, message = self.loaded.id, f"Saved as version {version.number}"
        self._saved_body = None  # what is shown is saved now: no draft to keep
        self.loaded = None
        await self._open(template_id)
        await self.reload_list(select=template_id)
        self.show_message(message)

    def restore(self, number: int) -> None:
        """Save version ``number``'s body again as the newest version and show it."""
        if self.loaded is not None:
            self._tasks.run(self._restore(self.loaded.id, number))

    async def _restore(self, template_id: str, number: int) -> None:
        version = await self._service.restore(template_id, number)
        self._drafts.pop(template_id, None)
        self.loaded = None
        await self._open(template_id, select_version=version.number)
        await self.reload_list(select=template_id)
        self.show_message(f"Restored version {number} as version {version.number}")

    def make_default(self, number: int) -> None:
        """Make version ``number`` the template's default."""
        if self.loaded is not None:
            self._tasks.run(self._make_default(self.loaded.id, number))

    async def _make_default(self, template_id: str, number: int) -> None:
        await self._service.set_default(template_id, number)
        await self.refresh(template_id, select_version=number)
        self.show_message(f"Version {number} is now the default")

    async def refresh(self, template_id: str, *, select_version: int | None = None) -> None:
        """Read the template again after a change made elsewhere (the compare view's pick), keeping edits."""
        if self.loaded is None or self.loaded.id != template_id:
            await self.reload_list()
            return
        self._keep_draft()
        self.loaded = None
        await self._open(template_id, select_version=select_version)
        await self.reload_list(select=template_id)

    def delete_template(self, template_id: str) -> QMessageBox:
        """Ask, then delete a template and all its versions."""
        row = self.list_pane.model.row_of(template_id)
        summary = self.list_pane.model.summary(row)
        name = summary.name if summary is not None else "this template"
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Delete template",
            f"Delete “{name}” and all its versions? This cannot be undone.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        make_plain(box)  # an imported template's name may hold anything
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.buttonClicked.connect(
            lambda button: self._tasks.run(self._delete(template_id)) if button is delete else None
        )
        box.open()
        return box

    async def _delete(self, template_id: str) -> None:
        await self._service.delete(template_id)
        self._drafts.pop(template_id, None)
        if self.loaded is not None and self.loaded.id == template_id:
            self._show_loaded(None, NEW_TEMPLATE)
        await self.reload_list()

    def use_in_chat(self) -> TemplateFormDialog | None:
        """Ask for the template's values, then hand the prompt to the chat (``prompt_ready``)."""
        if self.editor.problems():
            return None
        self._sample_values.update(self.sample_form.values())
        dialog = TemplateFormDialog(self.editor.template(), self, values=self._sample_values)
        dialog.prompt_chosen.connect(self._on_prompt_chosen)
        dialog.open()
        return dialog

    def _on_prompt_chosen(self, prompt: RenderedPrompt, new_chat: bool) -> None:
        self.prompt_ready.emit(prompt, new_chat)

    def _request_compare(self) -> None:
        if self.loaded is not None:
            self.compare_requested.emit(self.loaded.id)

    def _request_batch(self) -> None:
        if self.loaded is not None:
            self.batch_requested.emit(self.loaded.id)
