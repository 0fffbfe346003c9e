"""Helpers for the chat view tests: a shown view, real clicks on links, a recording web server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor

from desktop_llm.ui.chat.chat_view import ChatView


def shown_view(qtbot: Any, **kwargs: Any) -> ChatView:
    """Return a ChatView of a realistic size, shown and exposed."""
    view = ChatView(**kwargs)
    qtbot.addWidget(view)
    view.resize(760, 600)
    view.show()
    qtbot.waitExposed(view)
    return view


def anchor_hrefs(view: ChatView) -> list[str]:
    """Return the address of every link in the view's document, in order, once each."""
    found: list[str] = []
    block = view.browser.document().begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            href = iterator.fragment().charFormat().anchorHref()
            if href and href not in found:
                found.append(href)
            iterator += 1
        block = block.next()
    return found


def anchor_position(view: ChatView, href: str) -> int:
    """Return the document position of the first character of the link to ``href``."""
    block = view.browser.document().begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            if fragment.charFormat().anchorHref() == href:
                return fragment.position()
            iterator += 1
        block = block.next()
    raise AssertionError(f"no link to {href!r} in the view")


def click_anchor(qtbot: Any, view: ChatView, href: str) -> None:
    """Scroll the link to ``href`` into view and click it with the mouse, as a person would."""
    browser = view.browser
    position = anchor_position(view, href)
    cursor = QTextCursor(browser.document())
    cursor.setPosition(position + 1)
    browser.setTextCursor(cursor)
    browser.ensureCursorVisible()
    qtbot.wait(1)
    rect = browser.cursorRect(cursor)
    point = QPoint(rect.left() - 2, rect.center().y())  # inside the link's first character
    qtbot.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton, pos=point)


class _RecordingHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        body = b"\x89PNG\r\n\x1a\n"
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@contextmanager
def recording_server() -> Iterator[ThreadingHTTPServer]:
    """Run a web server on 127.0.0.1 that records every request path in ``server.requests``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
