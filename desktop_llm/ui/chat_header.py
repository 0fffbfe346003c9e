"""The bar above the chat: provider and model, the system prompt (collapsible), temperature, max tokens.

Everything here belongs to the open conversation and is saved with it (``params`` holds
``temperature`` and ``max_tokens``; "default" leaves them to the provider; ``context`` is
"summarise" when older turns should be summarised rather than left out once the window is full).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.ui.model_picker import ModelPicker

SAVE_DELAY_MS = 600
_NO_TEMPERATURE = -0.1  # the spin box's minimum, shown as "default"
CONTEXT_STRATEGIES = (("Sliding window", "sliding"), ("Summarise older turns", "summarise"))


class ChatHeader(QWidget):
    """Provider, model and generation settings of the open conversation.

    Args:
        picker: the provider and model picker.

    Signals:
        system_prompt_changed(str): the person edited the system prompt (debounced).
        params_changed(dict): new ``params`` (temperature / max_tokens, absent when default).
    """

    system_prompt_changed = Signal(str)
    params_changed = Signal(dict)

    def __init__(self, picker: ModelPicker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatHeader")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.picker = picker
        self._params: dict[str, Any] = {}
        self._quiet = False

        self.prompt_toggle = QToolButton()
        self.prompt_toggle.setObjectName("promptToggle")
        self.prompt_toggle.setText("System prompt")
        self.prompt_toggle.setCheckable(True)
        self.prompt_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.prompt_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.prompt_toggle.toggled.connect(self.on_prompt_toggle_toggled)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(_NO_TEMPERATURE, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(1)
        self.temperature.setSpecialValueText("default")
        self.temperature.setToolTip("Temperature: lower is more focused, higher more varied")
        self.temperature.valueChanged.connect(self._on_params_edited)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(0, 1_000_000)
        self.max_tokens.setSingleStep(256)
        self.max_tokens.setSpecialValueText("default")
        self.max_tokens.setToolTip("The longest reply, in tokens")
        self.max_tokens.valueChanged.connect(self._on_params_edited)
        # The strategy is this conversation's setting, saved with the others, but the header row
        # is full: the window lays the box out beside the composer's token meter, where it acts.
        self.context = QComboBox()
        self.context.setObjectName("contextStrategy")
        for label, strategy in CONTEXT_STRATEGIES:
            self.context.addItem(label, strategy)
        self.context.setToolTip(
            "When this conversation outgrows the model's context window: leave the oldest turns "
            "out (sliding window), or have the model summarise them"
        )
        self.context.currentIndexChanged.connect(self._on_params_edited)
        self.prompt_editor = QPlainTextEdit()
        self.prompt_editor.setObjectName("systemPrompt")
        self.prompt_editor.setPlaceholderText(
            "Instructions the model follows in this conversation, e.g. “Answer briefly.”"
        )
        self.prompt_editor.setMaximumHeight(110)
        self.prompt_editor.setVisible(False)
        self.prompt_editor.textChanged.connect(self._on_prompt_edited)
        self._prompt_timer = QTimer(self)
        self._prompt_timer.setSingleShot(True)
        self._prompt_timer.setInterval(SAVE_DELAY_MS)
        self._prompt_timer.timeout.connect(self.flush_prompt)

        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(picker)
        row.addStretch(1)
        row.addWidget(self.prompt_toggle)
        for text, box in (("Temperature", self.temperature), ("Max tokens", self.max_tokens)):
            caption = QLabel(text)
            caption.setObjectName("mutedLabel")
            caption.setBuddy(box)
            row.addWidget(caption)
            row.addWidget(box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 10, 16, 8)
        layout.setSpacing(6)
        layout.addLayout(row)
        layout.addWidget(self.prompt_editor)

    def show_settings(self, system_prompt: str, params: dict[str, Any]) -> None:
        """Show a conversation's settings without reporting them as edits."""
        self._prompt_timer.stop()
        self._quiet = True
        try:
            self._params = dict(params)
            self.prompt_editor.setPlainText(system_prompt)
            temperature = params.get("temperature")
            self.temperature.setValue(_NO_TEMPERATURE if temperature is None else float(temperature))
            self.max_tokens.setValue(int(params.get("max_tokens") or 0))
            self.context.setCurrentIndex(max(0, self.context.findData(params.get("context", "sliding"))))
            self._update_toggle_text()
        finally:
            self._quiet = False

    def params(self) -> dict[str, Any]:
        """Return the conversation's params with the shown temperature and max tokens."""
        shown = ("temperature", "max_tokens", "context")
        params = {k: v for k, v in self._params.items() if k not in shown}
        if self.temperature.value() > _NO_TEMPERATURE / 2:
            params["temperature"] = round(self.temperature.value(), 2)
        if self.max_tokens.value() > 0:
            params["max_tokens"] = self.max_tokens.value()
        if self.context.currentData() != "sliding":  # the default is left out, like the others'
            params["context"] = self.context.currentData()
        return params

    def system_prompt(self) -> str:
        return self.prompt_editor.toPlainText()

    def flush_prompt(self) -> None:
        """Report a pending system prompt edit now (before sending, or when switching chats)."""
        if self._prompt_timer.isActive():
            self._prompt_timer.stop()
            self.system_prompt_changed.emit(self.system_prompt())

    def on_prompt_toggle_toggled(self, shown: bool) -> None:
        self.prompt_editor.setVisible(shown)
        self.prompt_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        if shown:
            self.prompt_editor.setFocus()

    def _on_prompt_edited(self) -> None:
        self._update_toggle_text()
        if not self._quiet:
            self._prompt_timer.start()

    def _on_params_edited(self) -> None:
        if not self._quiet:
            self._params = self.params()
            self.params_changed.emit(self._params)

    def _update_toggle_text(self) -> None:
        has_prompt = bool(self.system_prompt().strip())
        self.prompt_toggle.setText("System prompt ●" if has_prompt else "System prompt")
        self.prompt_toggle.setToolTip(
            "This conversation has a system prompt" if has_prompt else "Add instructions for the model"
        )
