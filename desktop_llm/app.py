"""Composition root: start Qt on a qasync loop, show the window at once, then build the rest.

Start-up, in order: the data folder and its lock (a second launch rings the running window's
doorbell and exits 0), the database thread (opening the file while the window's modules load),
logging with keys redacted, the crash dialog, the window with the first page of conversations
(``ui.shell.first_paint``), shown and painted; only then the services (``ui.shell.composition``:
the keyring, the providers, the chat), so the window shows the real list about as fast as a
bare Qt window appears. Modules the first paint does not need (httpx, the keyring, markdown,
Pygments, Pillow, tiktoken, mcp) load on first use. Shut-down (close button,
Ctrl+Q, SIGTERM, SIGINT): streams stopped and saved as ``stopped``, providers and the database
closed, the lock released, exit status 0.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import socket
import sys
import tempfile
from typing import TYPE_CHECKING

from desktop_llm.core.paths import AppPaths, resolve_paths

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from desktop_llm.services.logs import KeyRedactor
    from desktop_llm.storage.lock import DataFolderLock
    from desktop_llm.ui.shell.composition import Composition
    from desktop_llm.ui.shell.first_paint import FirstPaint
    from desktop_llm.ui.shell.main_window import MainWindow

log = logging.getLogger("desktop_llm.app")
FIRST_PAINT_TIMEOUT = 2.0


def run_gui(*, data_dir: str | None = None, smoke_test: bool = False) -> int:
    """Run the GUI until the window closes; return the exit status.

    Args:
        data_dir: roots the database, logs and cache (None: ``DESKTOP_LLM_DATA_DIR`` or the OS's).
        smoke_test: start, open the window, run the checks, print a JSON report and exit
            (0 only if every check passed); a temporary data folder unless ``data_dir`` is given.
    """
    temporary = tempfile.mkdtemp(prefix="desktop-llm-smoke-") if smoke_test and data_dir is None else None
    try:
        return _run(resolve_paths(temporary or data_dir), smoke_test=smoke_test)
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)


def _run(paths: AppPaths, *, smoke_test: bool) -> int:
    # Imports live inside the functions on purpose: the command line (export, search) never
    # loads Qt, and the heavier service modules load only after the window has painted.
    import qasync

    from desktop_llm.storage.errors import DataFolderLocked, StorageError
    from desktop_llm.storage.lock import DataFolderLock
    from desktop_llm.ui.shell import single_instance

    app = _application()
    try:
        paths.ensure()
        lock = DataFolderLock(paths.data)
        holds_lock = lock.acquire()
    except (OSError, StorageError) as error:
        return _cannot_start(f"Cannot use the data folder {paths.data}: {error}", smoke_test)
    name = single_instance.server_name(paths.data)
    if not holds_lock and not smoke_test:
        if single_instance.ask_running_instance_to_raise(name):
            return 0
        return _cannot_start(str(DataFolderLocked(paths.data, lock.holder_pid())), smoke_test=False)
    try:
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        with loop:
            status: int = loop.run_until_complete(_main(app, paths, lock, smoke_test=smoke_test))
            return status
    finally:
        lock.release()


def _application() -> QApplication:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Desktop LLM")
    app.setOrganizationName("desktop-llm")
    app.setDesktopFileName("desktop-llm")
    app.setQuitOnLastWindowClosed(False)  # the app decides when to quit: after shutting down
    app.setWindowIcon(_application_icon())
    return app


def _application_icon() -> QIcon:
    from PySide6.QtGui import QIcon

    from desktop_llm.core.resources import resources_dir

    icon = QIcon()
    for png in sorted((resources_dir() / "icons").glob("desktop-llm-*.png")):
        icon.addFile(str(png))
    return icon


def _cannot_start(message: str, smoke_test: bool) -> int:
    """Say why the app cannot start: a JSON report for the smoke test, else stderr and a dialog."""
    if smoke_test:
        from desktop_llm.services.smoke import failed, print_report

        return print_report({"data_folder": failed(message)})
    sys.stderr.write(f"desktop-llm: error: {message}\n")
    from PySide6.QtWidgets import QMessageBox

    QMessageBox.critical(None, "Desktop LLM cannot start", message)
    return 1


async def _main(app: QApplication, paths: AppPaths, lock: DataFolderLock, *, smoke_test: bool) -> int:
    from desktop_llm.storage.executor import DatabaseThread

    # First, so that SQLite opens the file on its own thread while Python imports the window.
    db = DatabaseThread(paths.database)
    from desktop_llm.services.logs import KeyRedactor, configure_logging
    from desktop_llm.ui.common.tasks import cancel_stray_tasks
    from desktop_llm.ui.shell.crash_reporter import CrashReporter
    from desktop_llm.ui.shell.first_paint import build_first_paint
    from desktop_llm.ui.shell.garbage import QtThreadCollector
    from desktop_llm.ui.shell.main_window import MainWindow
    from desktop_llm.ui.shell.single_instance import SingleInstanceServer, server_name

    redactor = KeyRedactor()
    log_path = configure_logging(paths.logs, redactor)
    window = MainWindow(paths.data / "window.ini")
    CrashReporter(log_path, redact=redactor.redact, parent=lambda: window).install()
    closing = asyncio.Event()
    window.close_requested.connect(closing.set)
    doorbell = SingleInstanceServer(server_name(paths.data), app)
    if lock.held and not smoke_test:
        doorbell.listen()
        doorbell.activation_requested.connect(window.bring_to_front)
    wakeup = _SignalWakeup(window)
    collector = QtThreadCollector(app)
    collector.start()
    first_paint = await build_first_paint(window, db)  # the real list, in the first paint
    window.show()
    if not window.painted:
        await _wait_for(window.first_painted, FIRST_PAINT_TIMEOUT)
    log.info("Desktop LLM started with the data folder %s", paths.data)
    try:
        return await _serve(window, first_paint, paths, redactor, lock.held, closing, smoke_test=smoke_test)
    finally:
        doorbell.close()
        wakeup.close()
        collector.stop()
        await cancel_stray_tasks()


async def _serve(
    window: MainWindow,
    first_paint: FirstPaint,
    paths: AppPaths,
    redactor: KeyRedactor,
    holds_lock: bool,
    closing: asyncio.Event,
    *,
    smoke_test: bool,
) -> int:
    """Build the services into the shown window, run until it is closed, and shut down cleanly."""
    from desktop_llm.ui.shell.composition import Composition, build_services

    services = await build_services(paths, redactor=redactor, holds_lock=holds_lock, first_paint=first_paint)
    composition = Composition(window, services, log_folder=paths.logs, first_paint=first_paint)
    status = 0
    try:
        await composition.start()
        log.info("the window is ready")
        if smoke_test:
            status = await _smoke_test(window, composition)
        else:
            await closing.wait()
    finally:
        await composition.shutdown()
        window.allow_close()
        window.close()
        log.info("Desktop LLM closed cleanly")
    return status


async def _smoke_test(window: MainWindow, composition: Composition) -> int:
    from desktop_llm.services.smoke import print_report, run_checks

    shown = window.isVisible() and window.painted
    services = composition.services
    checks = await run_checks(window_shown=shown, db=services.db, keystore=services.keystore)
    return print_report(checks)


async def _wait_for(signal_instance: SignalInstance, seconds: float) -> None:
    """Wait until the Qt signal fires, at most ``seconds``."""
    fired = asyncio.get_running_loop().create_future()

    def fire(*_: object) -> None:
        if not fired.done():
            fired.set_result(None)

    signal_instance.connect(fire)
    try:
        await asyncio.wait_for(fired, seconds)
    except TimeoutError:
        log.warning("the window was not painted within %.1f s; going on", seconds)


class _SignalWakeup:
    """Close the window on SIGTERM and SIGINT, even while Qt sleeps in its event loop.

    Python runs signal handlers only between bytecodes, and an idle Qt loop runs none. The
    handler's wake-up byte goes to a socket that Qt watches, which wakes the loop up.
    """

    def __init__(self, window: MainWindow) -> None:
        from PySide6.QtCore import QSocketNotifier

        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno())
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._drain)
        self._previous = {
            number: signal.signal(number, lambda *_: window.close())
            for number in (signal.SIGTERM, signal.SIGINT)
        }

    def _drain(self) -> None:
        try:
            self._reader.recv(64)
        except BlockingIOError:
            return

    def close(self) -> None:
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous_fd)
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._reader.close()
        self._writer.close()
