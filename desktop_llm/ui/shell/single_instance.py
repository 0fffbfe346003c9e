"""One window per data folder: a second launch asks the running one to come to the front and exits.

The data-folder lock (``storage.lock``) decides who runs; this module is the doorbell. The lock
holder listens on a local socket (``QLocalServer``: a Unix socket, or a named pipe on Windows)
named after the user and the data folder, so two folders run side by side. A second launch that
cannot take the lock connects, says ``raise``, waits for ``ok`` and exits 0.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

RAISE_REQUEST = b"raise\n"
RAISE_REPLY = b"ok\n"


def server_name(data_folder: Path) -> str:
    """Return the socket name for ``data_folder``: one per user and resolved folder path."""
    digest = hashlib.sha256(str(Path(data_folder).resolve()).encode("utf-8")).hexdigest()[:16]
    user = hashlib.sha256(getpass.getuser().encode("utf-8")).hexdigest()[:8]
    return f"desktop-llm-{user}-{digest}"


def ask_running_instance_to_raise(name: str, *, timeout_ms: int = 3000) -> bool:
    """Ask the window listening on ``name`` to come to the front; True once it said it did.

    Blocks for at most about ``timeout_ms`` (used before the second launch builds anything).
    """
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        log.warning("no running window answered on %s: %s", name, socket.errorString())
        return False
    try:
        socket.write(RAISE_REQUEST)
        if not socket.waitForBytesWritten(timeout_ms):
            return False
        reply = b""
        while not reply.endswith(b"\n") and socket.waitForReadyRead(timeout_ms):
            reply += bytes(socket.readAll().data())
        return reply == RAISE_REPLY
    finally:
        socket.disconnectFromServer()


class SingleInstanceServer(QObject):
    """Listen for later launches on the data folder's socket.

    Args:
        name: from :func:`server_name`.

    Signals:
        activation_requested(): a second launch asked this window to come to the front.
    """

    activation_requested = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self.on_server_new_connection)

    def listen(self) -> bool:
        """Start listening; call only while holding the data-folder lock. False if the OS refused."""
        # Holding the lock means any socket file left with this name belongs to a dead process.
        QLocalServer.removeServer(self._name)
        if not self._server.listen(self._name):
            log.warning("cannot listen on %s: %s", self._name, self._server.errorString())
            return False
        return True

    def close(self) -> None:
        """Stop listening (the socket file is removed)."""
        self._server.close()

    def on_server_new_connection(self) -> None:
        """Answer each waiting connection."""
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._on_request(s))
            socket.disconnected.connect(socket.deleteLater)
            if socket.bytesAvailable():
                self._on_request(socket)

    def _on_request(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            return
        request = bytes(socket.readLine().data())
        if request == RAISE_REQUEST:
            log.info("a second launch asked this window to come to the front")
            self.activation_requested.emit()
            socket.write(RAISE_REPLY)
            socket.flush()
        else:
            log.warning("ignored an unknown request on the single-instance socket: %r", request[:40])
            socket.disconnectFromServer()
