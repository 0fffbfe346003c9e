"""Composition root: builds the parts, hands each what it needs, and runs Qt on a qasync loop."""

from __future__ import annotations

import json
import sys
import tempfile

from desktop_llm.core.paths import resolve_paths


def run_gui(*, data_dir: str | None = None, smoke_test: bool = False) -> int:
    """Start the GUI; with ``smoke_test``, open the window, check, print a JSON report and exit."""
    import qasync
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    if smoke_test and data_dir is None:
        data_dir = tempfile.mkdtemp(prefix="desktop-llm-smoke-")
    paths = resolve_paths(data_dir).ensure()

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Desktop LLM")
    window = QMainWindow()
    window.setWindowTitle("Desktop LLM")
    window.setCentralWidget(QLabel(f"Data folder: {paths.data}"))
    window.resize(1100, 720)
    window.show()

    if smoke_test:
        app.processEvents()
        report = {"window": window.isVisible()}
        print(json.dumps(report))
        return 0 if all(report.values()) else 1

    loop = qasync.QEventLoop(app)
    with loop:
        app.aboutToQuit.connect(loop.stop)
        loop.run_forever()
    return 0
