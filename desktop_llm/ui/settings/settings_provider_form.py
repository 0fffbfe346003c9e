"""The form that edits one provider entry: kind, preset, name, base URL, API key, default model.

Plain widgets and their rules (a preset fills the base URL, the name follows the kind until the
person types one, the key can be shown); the settings page does the saving and testing.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.providers.presets import PRESETS
from desktop_llm.secrets import key_env_var
from desktop_llm.services.key_destination import destination, needs_key
from desktop_llm.services.provider_directory import ProviderEntry
from desktop_llm.ui.common.plain_text import plain_label
from desktop_llm.ui.settings.settings_widgets import hint_label, with_hint

KIND_LABELS = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "gemini": "Google Gemini",
    "ollama": "Ollama",
    "openai-compatible": "OpenAI-compatible server",
}
_OFFICIAL_URLS = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
    "ollama": "http://127.0.0.1:11434",
}


@dataclass(frozen=True)
class FormValues:
    """What the form holds; ``api_key`` is None when the field is empty (keep the stored key)."""

    kind: str
    preset: str | None
    name: str
    base_url: str | None
    default_model: str | None
    api_key: str | None


def kind_label(kind: str) -> str:
    """Return how the dialog names a provider kind."""
    return KIND_LABELS.get(kind, kind)


class ProviderForm(QWidget):
    """Edit one provider entry; environment entries are shown read-only.

    Its buttons (``test_button``, ``save_button``) are connected by the page that owns it.

    Args:
        keyring_available: whether keys go to a system keyring (else they last the session).
    """

    def __init__(self, *, keyring_available: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._keyring_available = keyring_available
        self._auto_name = ""
        self._has_key = False
        self._read_only = False
        self._entry: ProviderEntry | None = None

        self.heading = plain_label()  # the entry's name
        self.heading.setObjectName("settingsHeading")
        self.note = hint_label()
        self.kind = QComboBox()
        for kind, label in KIND_LABELS.items():
            self.kind.addItem(label, kind)
        self.preset = QComboBox()
        self.preset.addItem("Other server (type its address)", "")
        for preset in PRESETS.values():
            self.preset.addItem(preset.display_name, preset.name)
        self.name = QLineEdit()
        self.base_url = QLineEdit()
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setObjectName("apiKey")
        self.show_key = QToolButton()
        self.show_key.setText("Show")
        self.show_key.setCheckable(True)
        self.show_key.setToolTip("Show or hide the key while you type it")
        self.key_hint = hint_label()
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model.setPlaceholderText("Test the connection to list the models")
        self.test_button = QPushButton("Test connection")
        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.save_button.setObjectName("primaryButton")
        self.status = plain_label()  # the provider's own words, e.g. an error body
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setObjectName("settingsStatus")

        key_row = QHBoxLayout()
        key_row.setContentsMargins(0, 0, 0, 0)
        key_row.addWidget(self.api_key, 1)
        key_row.addWidget(self.show_key)
        self._form = QFormLayout()
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form.addRow("Kind:", self.kind)
        self._form.addRow("Server:", self.preset)
        self._form.addRow("Name:", self.name)
        self._form.addRow("Base URL:", self.base_url)
        self._form.addRow("API key:", with_hint(key_row, self.key_hint))
        self._form.addRow("Default model:", self.model)
        buttons = QHBoxLayout()
        buttons.addWidget(self.test_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.note)
        layout.addLayout(self._form)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addLayout(buttons)

        self.kind.currentIndexChanged.connect(self.on_kind_current_index_changed)
        self.preset.currentIndexChanged.connect(self.on_preset_current_index_changed)
        self.base_url.textChanged.connect(self.on_base_url_text_changed)
        self.show_key.toggled.connect(self.on_show_key_toggled)
        self.show_new()

    # -- what is shown --------------------------------------------------------------------------

    def show_new(self, kind: str = "openai") -> None:
        """Clear the form for a new entry of ``kind``."""
        self._read_only = False
        self._has_key = False
        self._entry = None
        self._auto_name = ""
        self.heading.setText("New provider")
        self.note.hide()
        self.name.clear()
        self.base_url.clear()
        self.api_key.clear()
        self.set_models([], "")
        self.set_status("")
        self._select(self.kind, kind)
        self._select(self.preset, "")
        self._set_editable(True)
        self.on_kind_current_index_changed(self.kind.currentIndex())

    def show_entry(self, entry: ProviderEntry, *, has_key: bool) -> None:
        """Show a stored entry to edit, or an environment entry read-only."""
        self._read_only = entry.from_environment
        self._has_key = has_key
        self._entry = entry
        self.heading.setText(entry.name)
        self._select(self.kind, entry.kind)
        self._select(self.preset, entry.preset or "")
        self.name.setText(entry.name)
        self._auto_name = ""
        self.base_url.setText(entry.base_url or "")
        self.api_key.clear()
        self.set_models([], entry.default_model or "")
        self.set_status("")
        self._apply_kind()
        self._set_editable(not entry.from_environment)
        if entry.from_environment:
            variable = entry.key_env_var or _base_url_variable(entry.kind)
            self.note.setText(
                f"From the environment ({variable}). Desktop LLM does not store it: change or unset "
                "the variable and restart to change this provider."
            )
            self.note.show()
        else:
            self.note.hide()

    @property
    def read_only(self) -> bool:
        """Return True while an environment entry is shown."""
        return self._read_only

    def values(self) -> FormValues:
        """Return what the form holds, trimmed."""
        kind = self.kind.currentData()
        return FormValues(
            kind=kind,
            preset=(self.preset.currentData() or None) if kind == "openai-compatible" else None,
            name=self.name.text().strip(),
            base_url=self.base_url.text().strip() or None,
            default_model=self.model.currentText().strip() or None,
            api_key=self.api_key.text().strip() or None,
        )

    def set_models(self, models: list[str], current: str | None = None) -> None:
        """List ``models`` in the default-model box, keeping ``current`` (default: what is typed)."""
        keep = self.model.currentText() if current is None else current
        self.model.clear()
        self.model.addItems(models)
        self.model.setEditText(keep)

    def set_status(self, text: str, *, ok: bool | None = None) -> None:
        """Show a result line under the form: good news (ok), a problem (not ok), or neutral."""
        self.status.setText(text)
        self.status.setProperty("state", {True: "ok", False: "error", None: ""}[ok])
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    def set_busy(self, busy: bool) -> None:
        """Disable the buttons while a test or a save runs."""
        self.test_button.setEnabled(not busy)
        self.save_button.setEnabled(not busy and not self._read_only)

    def mark_key_stored(self) -> None:
        """Note that the keyring now holds a key for the shown entry (after a save)."""
        self._has_key = True
        self.api_key.clear()
        self._apply_kind()

    # -- rules --------------------------------------------------------------------------------

    def on_kind_current_index_changed(self, _index: int) -> None:
        """Show the kind's fields and follow it with the name, unless the person typed one."""
        self._apply_kind()
        kind = self.kind.currentData()
        preset = self.preset.currentData() if kind == "openai-compatible" else ""
        if preset:
            self.on_preset_current_index_changed(self.preset.currentIndex())
        else:
            self._fill_name(kind_label(kind))

    def on_preset_current_index_changed(self, _index: int) -> None:
        """Fill the base URL (and the name, unless typed) from the chosen preset."""
        preset = PRESETS.get(self.preset.currentData() or "")
        if preset is None or self._read_only:
            return
        self.base_url.setText(preset.base_url)
        self._fill_name(preset.display_name)
        self._apply_kind()

    def on_base_url_text_changed(self, _text: str) -> None:
        """Say whether the saved key still goes with the address being typed."""
        self._apply_kind()

    def on_show_key_toggled(self, shown: bool) -> None:
        """Show the key in clear text, or hide it again."""
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.api_key.setEchoMode(mode)
        self.show_key.setText("Hide" if shown else "Show")

    def _fill_name(self, name: str) -> None:
        if self.name.text().strip() in ("", self._auto_name):
            self.name.setText(name)
            self._auto_name = name

    def _apply_kind(self) -> None:
        kind = self.kind.currentData()
        self._form.setRowVisible(self.preset, kind == "openai-compatible")
        official = _OFFICIAL_URLS.get(kind)
        self.base_url.setPlaceholderText(
            f"Default: {official}" if official else "The server's address, e.g. http://127.0.0.1:8080/v1"
        )
        if self._has_key and not self._key_follows():
            self.api_key.setPlaceholderText("Type the key for this server: the saved one stays with the old")
        elif self._has_key:
            where = "in the keyring" if self._keyring_available else "for this session"
            self.api_key.setPlaceholderText(f"Saved {where}; type a new key to replace it")
        elif needs_key(kind, self.preset.currentData() or None):
            self.api_key.setPlaceholderText("Paste your API key")
        else:
            self.api_key.setPlaceholderText("Optional: only if your server asks for one")
        variable = key_env_var(kind)
        kept = (
            "Kept in your system keyring, never in Desktop LLM's files."
            if self._keyring_available
            else "Kept in memory until you quit (no system keyring)."
        )
        self.key_hint.setText(
            kept + (f" {variable} in the environment takes precedence." if variable else "")
        )

    def _key_follows(self) -> bool:
        """Return whether the saved key would still go where it was saved for (see key_destination)."""
        return self._entry is None or destination(self._entry) == destination(self.values())

    def _set_editable(self, editable: bool) -> None:
        for widget in (
            self.kind,
            self.preset,
            self.name,
            self.base_url,
            self.api_key,
            self.show_key,
            self.model,
        ):
            widget.setEnabled(editable)
        self.key_hint.setVisible(editable)
        self.save_button.setEnabled(editable)

    @staticmethod
    def _select(combo: QComboBox, value: str) -> None:
        combo.setCurrentIndex(max(combo.findData(value), 0))


def _base_url_variable(kind: str) -> str:
    return {"ollama": "OLLAMA_HOST", "openai-compatible": "OPENAI_BASE_URL"}.get(kind, kind)
