"""The General page of Settings: theme, font size, send key, automatic titles, HTTP proxy, reply timeout.

Every change is saved at once (the proxy when its field is left) and announced with
``app_settings_changed``; the proxy is also handed to the provider directory so the next request
goes through it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.services.provider_directory import ProviderDirectory
from desktop_llm.services.settings import (
    CONTENT_TIMEOUTS,
    FONT_SIZES,
    MAX_TOOL_ROUNDS,
    AppSettings,
    InvalidSetting,
    SettingsService,
)
from desktop_llm.ui.common.async_slot import async_slot
from desktop_llm.ui.common.plain_text import plain_label
from desktop_llm.ui.settings.settings_widgets import hint_label, with_hint

_THEMES = (("system", "Same as the system"), ("light", "Light"), ("dark", "Dark"))
_SEND_KEYS = (
    ("enter", "Enter sends, Shift+Enter starts a new line"),
    ("ctrl+enter", "Ctrl+Enter sends, Enter starts a new line"),
)


def _select(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    combo.setCurrentIndex(max(index, 0))


class GeneralPage(QWidget):
    """Theme, font size, send key, automatic titles and the HTTP proxy.

    Args:
        settings: where app settings are stored.
        providers: receives the proxy for new requests.

    Signals:
        app_settings_changed(dict): the settings after a saved change (``AppSettings.as_dict()``).
    """

    app_settings_changed = Signal(dict)

    def __init__(
        self, settings: SettingsService, providers: ProviderDirectory, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._providers = providers
        self._current = AppSettings()
        self._loading = False

        self.theme = QComboBox()
        for value, label in _THEMES:
            self.theme.addItem(label, value)
        self.font_size = QSpinBox()
        self.font_size.setRange(FONT_SIZES[0], FONT_SIZES[-1])
        self.font_size.setSuffix(" pt")
        self.send_key = QComboBox()
        for value, label in _SEND_KEYS:
            self.send_key.addItem(label, value)
        self.auto_titles = QCheckBox("Name new conversations automatically")
        self.tool_rounds = QSpinBox()
        self.tool_rounds.setObjectName("toolRounds")
        self.tool_rounds.setRange(1, MAX_TOOL_ROUNDS)
        self.proxy = QLineEdit()
        self.proxy.setPlaceholderText("No proxy (for example http://proxy.example.com:3128)")
        self.proxy.setClearButtonEnabled(True)
        self.proxy_error = plain_label()
        self.proxy_error.setObjectName("settingsError")
        self.proxy_error.setWordWrap(True)
        self.proxy_error.hide()
        self.content_timeout = QSpinBox()
        self.content_timeout.setRange(CONTENT_TIMEOUTS[0], CONTENT_TIMEOUTS[-1])
        self.content_timeout.setSingleStep(30)
        self.content_timeout.setSuffix(" s")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setVerticalSpacing(10)
        form.addRow("Theme:", self.theme)
        form.addRow("Font size:", self.font_size)
        form.addRow("Send with:", self.send_key)
        titles_hint = hint_label("After the first reply, the model writes a short title for the chat.")
        form.addRow("Titles:", with_hint(self.auto_titles, titles_hint))
        rounds_hint = hint_label(
            "When the model calls tools, a reply ends after this many requests to it, with a notice."
        )
        form.addRow("Tool rounds per reply:", with_hint(self.tool_rounds, rounds_hint))
        proxy_hint = hint_label(
            "Used for every provider except servers on this computer: http://, https:// or "
            "socks5://, with user:password@ in the address if the proxy needs it."
        )
        proxy_box = with_hint(self.proxy, proxy_hint)
        proxy_layout = proxy_box.layout()
        assert isinstance(proxy_layout, QBoxLayout)
        proxy_layout.insertWidget(1, self.proxy_error)
        form.addRow("HTTP proxy:", proxy_box)
        timeout_hint = hint_label(
            "A reply that sends nothing but keep-alive messages for this long is stopped with an error."
        )
        form.addRow("Reply timeout:", with_hint(self.content_timeout, timeout_hint))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)

        self.theme.currentIndexChanged.connect(self.on_control_changed)
        self.font_size.valueChanged.connect(self.on_control_changed)
        self.send_key.currentIndexChanged.connect(self.on_control_changed)
        self.auto_titles.toggled.connect(self.on_control_changed)
        self.tool_rounds.valueChanged.connect(self.on_control_changed)
        self.proxy.editingFinished.connect(self.on_control_changed)
        self.content_timeout.editingFinished.connect(self.on_control_changed)

    @property
    def current(self) -> AppSettings:
        """Return the settings as last loaded or saved."""
        return self._current

    def current_proxy(self) -> str | None:
        """Return the proxy as last loaded or saved (connection tests use it)."""
        return self._current.proxy

    async def load(self) -> None:
        """Fill the controls from the stored settings."""
        self._show(await self._settings.app_settings())

    def _show(self, settings: AppSettings) -> None:
        self._current = settings
        self._loading = True  # setting the controls must not save them back
        try:
            _select(self.theme, settings.theme)
            self.font_size.setValue(settings.font_size)
            _select(self.send_key, settings.send_key)
            self.auto_titles.setChecked(settings.auto_titles)
            self.tool_rounds.setValue(settings.tool_rounds)
            self.proxy.setText(settings.proxy or "")
            self.content_timeout.setValue(settings.content_timeout)
        finally:
            self._loading = False

    def _values(self) -> dict[str, object]:
        return {
            "theme": self.theme.currentData(),
            "font_size": self.font_size.value(),
            "send_key": self.send_key.currentData(),
            "auto_titles": self.auto_titles.isChecked(),
            "tool_rounds": self.tool_rounds.value(),
            "proxy": self.proxy.text().strip() or None,
            "content_timeout": self.content_timeout.value(),
        }

    @async_slot()
    async def on_control_changed(self) -> None:
        """Save the controls' values; a bad proxy is explained beside its field and not saved."""
        if self._loading:
            return
        values = self._values()
        if values == self._current.as_dict():
            self.proxy_error.hide()
            return
        try:
            saved = await self._settings.save_app_settings(values)
        except InvalidSetting as error:
            self.proxy_error.setText(str(error))
            self.proxy_error.show()
            return
        self.proxy_error.hide()
        proxy_changed = saved.proxy != self._current.proxy
        self._current = saved
        if proxy_changed:
            self._providers.set_proxy(saved.proxy)
        self._providers.set_content_timeout(saved.content_timeout)
        self.app_settings_changed.emit(saved.as_dict())
