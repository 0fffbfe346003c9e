"""The form that edits one MCP server on the Tools page: how to reach it, and whether it is offered."""

from __future__ import annotations

import shlex

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.core.mcp_config import (
    McpConfigError,
    McpServerConfig,
    Transport,
    is_secret_env,
    parse_pairs,
)
from desktop_llm.storage.mcp_servers import McpServerRecord
from desktop_llm.ui.settings.settings_widgets import hint_label, with_hint

TRANSPORT_LABELS = {"stdio": "Local program (stdio)", "http": "Web server (streamable HTTP)"}
SECRET_HINT = (
    "Values of variables named like KEY, TOKEN, SECRET or PASSWORD, and every header value, are "
    "kept in the system keyring and not shown here: leave one empty to keep it, or type a new value."
)


# Rows of the form: 0 name, 1 kind, 2-4 command/arguments/environment, 5-6 URL/headers, 7 enabled.
_STDIO_ROWS = (2, 3, 4)
_HTTP_ROWS = (5, 6)


def _pairs_text(plain: dict[str, str], secret_names: tuple[str, ...]) -> str:
    lines = [f"{name}={value}" for name, value in plain.items()]
    lines += [f"{name}=" for name in secret_names]
    return "\n".join(lines)


def _pair_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class McpServerForm(QWidget):
    """Name, transport, command and arguments or URL, environment or headers, enabled; Save and Connect."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._editing: McpServerRecord | None = None
        self.heading = QLabel("New MCP server")
        self.heading.setObjectName("settingsHeading")
        self.name = QLineEdit()
        self.name.setPlaceholderText("filesystem")
        self.transport = QComboBox()
        for key, label in TRANSPORT_LABELS.items():
            self.transport.addItem(label, key)
        self.command = QLineEdit()
        self.command.setPlaceholderText("npx")
        self.arguments = QLineEdit()
        self.arguments.setPlaceholderText("-y @modelcontextprotocol/server-filesystem ~/Documents")
        self.environment = QPlainTextEdit()
        self.environment.setPlaceholderText("NAME=value, one a line")
        self.environment.setFixedHeight(70)
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://example.com/mcp")
        self.headers = QPlainTextEdit()
        self.headers.setPlaceholderText("Authorization=Bearer …, one a line")
        self.headers.setFixedHeight(56)
        self.enabled = QCheckBox("Offer this server's tools to models")
        self.enabled.setChecked(True)
        self.save_button = QPushButton("Save")
        self.connect_button = QPushButton("Connect")
        self.connect_button.setToolTip("Start the server and list its tools")
        self.status = QLabel()
        self.status.setObjectName("settingsStatus")
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Kind", self.transport)
        form.addRow("Command", self.command)
        form.addRow(
            "Arguments", with_hint(self.arguments, hint_label("Separated by spaces; quote to keep one."))
        )
        form.addRow("Environment", with_hint(self.environment, hint_label(SECRET_HINT)))
        form.addRow("URL", self.url)
        form.addRow("Headers", self.headers)
        form.addRow("", self.enabled)
        self._rows = form
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.connect_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.transport.currentIndexChanged.connect(self._update_rows)
        self._update_rows()

    def _update_rows(self) -> None:
        stdio = self.transport.currentData() == "stdio"
        for row in _STDIO_ROWS:
            self._rows.setRowVisible(row, stdio)
        for row in _HTTP_ROWS:
            self._rows.setRowVisible(row, not stdio)

    def show_new(self) -> None:
        """Clear the form for a new server."""
        self._editing = None
        self.heading.setText("New MCP server")
        for field in (self.name, self.command, self.arguments, self.url):
            field.clear()
        self.environment.clear()
        self.headers.clear()
        self.enabled.setChecked(True)
        self.transport.setCurrentIndex(0)
        self.connect_button.setEnabled(False)
        self.set_status("")

    def show_record(self, record: McpServerRecord) -> None:
        """Show a stored server; secret values stay in the keyring (their names show, empty)."""
        self._editing = record
        self.heading.setText(record.name)
        self.name.setText(record.name)
        self.transport.setCurrentIndex(max(0, self.transport.findData(record.transport)))
        self.command.setText(record.command)
        self.arguments.setText(shlex.join(record.args))
        self.environment.setPlainText(_pairs_text(dict(record.env), record.secret_env))
        self.url.setText(record.url)
        self.headers.setPlainText(_pairs_text(dict(record.headers), record.secret_headers))
        self.enabled.setChecked(record.enabled)
        self.connect_button.setEnabled(True)

    @property
    def editing(self) -> McpServerRecord | None:
        """Return the stored server being edited, or None for a new one."""
        return self._editing

    def values(self) -> McpServerConfig:
        """Return what the form holds; empty secret values are marked for keeping (see ``kept_secrets``).

        Raises:
            McpConfigError: the arguments cannot be split, or a line is not NAME=VALUE.
        """
        transport: Transport = "stdio" if self.transport.currentData() == "stdio" else "http"
        try:
            args = tuple(shlex.split(self.arguments.text()))
        except ValueError as error:
            raise McpConfigError(f"The arguments cannot be split: {error} (check the quotes).") from error
        return McpServerConfig(
            name=self.name.text(),
            transport=transport,
            command=self.command.text(),
            args=args,
            env=parse_pairs(_pair_lines(self.environment.toPlainText()), "Environment line"),
            url=self.url.text(),
            headers=parse_pairs(_pair_lines(self.headers.toPlainText()), "Header line"),
            enabled=self.enabled.isChecked(),
            id=self._editing.id if self._editing is not None else "",
        )

    def kept_secrets(self, config: McpServerConfig) -> set[str]:
        """Return the names whose empty value means "keep what the keyring holds"."""
        if self._editing is None:
            return set()
        stored = {*self._editing.secret_env, *self._editing.secret_headers}
        entered = {name for name, value in {**config.env, **config.headers}.items() if value == ""}
        return {name for name in entered & stored if name in config.headers or is_secret_env(name)}

    def set_busy(self, busy: bool) -> None:
        """Disable the buttons while a save or a connection runs."""
        self.save_button.setEnabled(not busy)
        self.connect_button.setEnabled(not busy and self._editing is not None)

    def set_status(self, text: str, *, ok: bool | None = None) -> None:
        """Show a result line (green when ``ok``, red when not ``ok``, plain when None)."""
        self.status.setText(text)
        self.status.setProperty("state", "" if ok is None else ("ok" if ok else "error"))
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
