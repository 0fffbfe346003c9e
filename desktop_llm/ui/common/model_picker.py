"""Provider and model for the open conversation: two combo boxes and a refresh button.

Providers come from the ``ProviderDirectory`` (environment entries first, marked
"(environment)"); models from its ``list_models`` (cached there; the refresh button asks the
server again). The model box is editable, so a model the server does not list (a fine-tune, a
new release) can still be typed in.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QToolButton, QWidget

from desktop_llm.providers import ProviderError
from desktop_llm.services.provider_directory import ProviderDirectory, ProviderEntry, UnknownProvider
from desktop_llm.ui.common.plain_text import plain_tooltip
from desktop_llm.ui.common.tasks import TaskKeeper

ENVIRONMENT_MARK = "(environment)"


def entry_label(entry: ProviderEntry) -> str:
    """Return the name shown for an entry; environment entries say so."""
    if entry.from_environment and ENVIRONMENT_MARK not in entry.name:
        return f"{entry.name} {ENVIRONMENT_MARK}"
    return entry.name


class ModelPicker(QWidget):
    """Pick the provider entry and model of a conversation.

    Args:
        directory: lists models and suggests a default one.
        tasks: runs the model listings.

    Signals:
        selection_changed(str, str): the person chose a provider entry id and model ("" while unknown).
        status_message(str): something to show in the status bar (a listing failed).
    """

    selection_changed = Signal(str, str)
    status_message = Signal(str)

    def __init__(
        self, directory: ProviderDirectory, tasks: TaskKeeper, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._directory = directory
        self._tasks = tasks
        self._entries: list[ProviderEntry] = []
        self._loading_for: str | None = None

        self.provider_box = QComboBox()
        self.provider_box.setObjectName("providerBox")
        self.provider_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.provider_box.setPlaceholderText("Choose a provider")
        self.provider_box.activated.connect(self.on_provider_box_activated)
        self.model_box = QComboBox()
        self.model_box.setObjectName("modelBox")
        self.model_box.setEditable(True)
        self.model_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model_box.setMinimumContentsLength(18)
        self.model_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        model_edit = self.model_box.lineEdit()
        assert model_edit is not None  # the box is editable
        model_edit.setPlaceholderText("model")
        self.model_box.activated.connect(self.on_model_box_activated)
        model_edit.editingFinished.connect(self.on_model_edit_finished)
        self.refresh_button = QToolButton()
        self.refresh_button.setText("⟳")
        self.refresh_button.setToolTip("Ask the provider for its models again")
        self.refresh_button.clicked.connect(self.on_refresh_button_clicked)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.provider_box)
        layout.addWidget(self.model_box)
        layout.addWidget(self.refresh_button)

    # -- what is shown -----------------------------------------------------------------------

    def set_entries(self, entries: list[ProviderEntry]) -> None:
        """Offer these provider entries (the selection is kept when it still exists)."""
        current = self.provider_id()
        self._entries = list(entries)
        self.provider_box.clear()
        for entry in self._entries:
            self.provider_box.addItem(entry_label(entry), entry.id)
            if entry.base_url:
                self.provider_box.setItemData(
                    self.provider_box.count() - 1, entry.base_url, Qt.ItemDataRole.ToolTipRole
                )
        self._select_provider(current)

    def set_selection(
        self, provider_id: str | None, model: str | None, *, choose_default: bool = False
    ) -> None:
        """Show a conversation's provider and model; its model list loads in the background.

        With ``choose_default`` and no model, the provider's default model is filled in once
        known (and reported as ``selection_changed``).
        """
        self._select_provider(provider_id)
        self.model_box.clear()
        self.model_box.setEditText(model or "")
        if self.provider_id():
            self._load_models(self.provider_id(), refresh=False, choose_default=choose_default and not model)

    def provider_id(self) -> str:
        """The chosen entry's id, or "" when none."""
        value = self.provider_box.currentData()
        return value if isinstance(value, str) else ""

    def model(self) -> str:
        """The chosen or typed model, or ""."""
        return self.model_box.currentText().strip()

    def entry(self) -> ProviderEntry | None:
        """The chosen entry."""
        return next((e for e in self._entries if e.id == self.provider_id()), None)

    def _select_provider(self, provider_id: str | None) -> None:
        index = self.provider_box.findData(provider_id) if provider_id else -1
        self.provider_box.setCurrentIndex(index)

    # -- the person's choices ----------------------------------------------------------------

    def on_provider_box_activated(self, _index: int) -> None:
        """Switch provider: fill in its default model, then list its models."""
        entry = self.entry()
        if entry is None:
            return
        self.model_box.clear()
        self.model_box.setEditText(entry.default_model or "")
        self.selection_changed.emit(entry.id, self.model())
        self._load_models(entry.id, refresh=False, choose_default=not entry.default_model)

    def on_model_box_activated(self, _index: int) -> None:
        self.selection_changed.emit(self.provider_id(), self.model())

    def on_model_edit_finished(self) -> None:
        self.selection_changed.emit(self.provider_id(), self.model())

    def on_refresh_button_clicked(self) -> None:
        if self.provider_id():
            self._load_models(self.provider_id(), refresh=True)

    # -- listing -----------------------------------------------------------------------------

    def _load_models(self, entry_id: str, *, refresh: bool, choose_default: bool = False) -> None:
        self._loading_for = entry_id
        self.refresh_button.setEnabled(False)
        self._tasks.run(
            self._fill_models(entry_id, refresh=refresh, choose_default=choose_default),
            on_error=self._listing_failed,
        )

    async def _fill_models(self, entry_id: str, *, refresh: bool, choose_default: bool) -> None:
        try:
            models = await self._directory.list_models(entry_id, refresh=refresh)
            default = None
            entry = self.entry()
            if choose_default and entry is not None and entry.id == entry_id:
                default = await self._directory.default_model(entry)
        except (ProviderError, UnknownProvider) as failure:
            if entry_id == self._loading_for:
                self.model_box.setToolTip(plain_tooltip(f"Could not list models: {failure}"))
            raise
        finally:
            if entry_id == self._loading_for:
                self.refresh_button.setEnabled(True)
        if entry_id != self.provider_id():
            return  # the person moved on to another provider meanwhile
        typed = self.model()
        self.model_box.clear()
        self.model_box.addItems([m.id for m in models])
        self.model_box.setToolTip(f"{len(models)} models from this provider")
        if default and not typed:
            self.model_box.setEditText(default)
            self.selection_changed.emit(entry_id, default)
        else:
            self.model_box.setEditText(typed)

    def _listing_failed(self, message: str) -> None:
        self.status_message.emit(f"Could not list models: {message}")
