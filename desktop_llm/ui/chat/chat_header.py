"""The bar above the chat: provider and model, the system prompt (collapsible), temperature, max tokens.

Everything here belongs to the open conversation and is saved with it (``params`` holds
``temperature`` and ``max_tokens``; "default" leaves them to the provider; ``context`` is
"summarise" when older turns should be summarised rather than left out once the window is full).
"""

from __future__ import annotations

from typing import Any, TypeGuard

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
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

from desktop_llm.core.mcp_config import conversation_servers, with_conversation_servers
from desktop_llm.ui.chat.tool_servers_button import ToolServersButton
from desktop_llm.ui.common.model_picker import ModelPicker

SAVE_DELAY_MS = 600
_NO_TEMPERATURE = -0.1  # the spin box's minimum, shown as "default"
CONTEXT_STRATEGIES = (("Sliding window", "sliding"), ("Summarise older turns", "summarise"))


class ChatHeader(QWidget):
    """Provider, model and generation settings of the open conversation.

    Args:
        picker: the provider and model picker.

    Signals:
        system_prompt_changed(str): the person edited the system prompt (debounced).
        params_changed(dict): new ``params`` (temperature / max_tokens, absent when default; the
            MCP servers offered, ``mcp_servers``, absent when all are).
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
        self.tool_servers = ToolServersButton()
        self.tool_servers.choice_changed.connect(self.on_tool_servers_choice_changed)
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

        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(picker)
        top.addStretch(1)
        self._settings_row = QHBoxLayout()
        self._settings_row.setSpacing(8)
        self._settings_row.addWidget(self.tool_servers)
        self._settings_row.addWidget(self.prompt_toggle)
        for text, box in (("Temperature", self.temperature), ("Max tokens", self.max_tokens)):
            caption = QLabel(text)
            caption.setObjectName("mutedLabel")
            caption.setBuddy(box)
            self._settings_row.addWidget(caption)
            self._settings_row.addWidget(box)
        self._settings_row.addStretch(0)
        # One row when it fits; in a narrow window the settings move under the picker rather
        # than squeezing the provider and model boxes to a few letters.
        self._rows = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self._rows.setSpacing(8)
        self._rows.addLayout(top, 1)
        self._rows.addLayout(self._settings_row)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(16, 10, 16, 8)
        self._layout.setSpacing(6)
        self._layout.addLayout(self._rows)
        self._layout.addWidget(self.prompt_editor)

    @property
    def stacked(self) -> bool:
        """Whether the settings sit on a second row under the picker (a narrow window)."""
        return self._rows.direction() == QBoxLayout.Direction.TopToBottom

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Put the settings under the picker when one row would squeeze the picker."""
        super().resizeEvent(event)
        margins = self._layout.contentsMargins()
        one_row = (
            self.picker.sizeHint().width()
            + self._settings_row.sizeHint().width()
            + self._rows.spacing()
            + margins.left()
            + margins.right()
        )
        stack = event.size().width() < one_row
        if stack != self.stacked:
            self._rows.setDirection(
                QBoxLayout.Direction.TopToBottom if stack else QBoxLayout.Direction.LeftToRight
            )
            # Stacked, the settings start at the left edge like the picker above them.
            self._settings_row.setStretch(self._settings_row.count() - 1, 1 if stack else 0)

    def show_settings(self, system_prompt: str, params: dict[str, Any]) -> None:
        """Show a conversation's settings without reporting them as edits.

        A conversation with a system prompt opens with the prompt shown, so instructions that
        came in with an import (or were set long ago) are never applied unseen.
        """
        self._prompt_timer.stop()
        self._quiet = True
        try:
            self._params = dict(params)
            self.prompt_editor.setPlainText(system_prompt)
            temperature = params.get("temperature")
            self.temperature.setValue(float(temperature) if _is_number(temperature) else _NO_TEMPERATURE)
            max_tokens = params.get("max_tokens")
            self.max_tokens.setValue(int(max_tokens) if _is_number(max_tokens) else 0)
            self.context.setCurrentIndex(max(0, self.context.findData(params.get("context", "sliding"))))
            self.tool_servers.show_choice(conversation_servers(params))
            self._update_toggle_text()
            has_prompt = bool(system_prompt.strip())
            self.prompt_toggle.blockSignals(True)  # showing is not the person's click: no focus move
            self.prompt_toggle.setChecked(has_prompt)
            self.prompt_toggle.blockSignals(False)
            self._show_prompt(has_prompt)
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
        self._show_prompt(shown)
        if shown:
            self.prompt_editor.setFocus()

    def _show_prompt(self, shown: bool) -> None:
        # isHidden, not isVisible: the header itself may not be on screen yet.
        self.prompt_editor.setHidden(not shown)
        self.prompt_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _on_prompt_edited(self) -> None:
        self._update_toggle_text()
        if not self._quiet:
            self._prompt_timer.start()

    def _on_params_edited(self) -> None:
        if not self._quiet:
            self._params = self.params()
            self.params_changed.emit(self._params)

    def on_tool_servers_choice_changed(self, chosen: list[str] | None) -> None:
        """Store which MCP servers the conversation offers (None: every enabled one)."""
        if not self._quiet:
            self._params = with_conversation_servers(self.params(), chosen)
            self.params_changed.emit(self._params)

    def _update_toggle_text(self) -> None:
        has_prompt = bool(self.system_prompt().strip())
        self.prompt_toggle.setText("System prompt ●" if has_prompt else "System prompt")
        self.prompt_toggle.setToolTip(
            "This conversation has a system prompt" if has_prompt else "Add instructions for the model"
        )


def _is_number(value: Any) -> TypeGuard[int | float]:
    # A setting from an old import may be anything; showing it must not fail (import checks them now).
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1e9
