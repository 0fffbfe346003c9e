"""The one conftest: isolated user folders, no network beyond loopback, async tests, Qt loop.

- Every user folder (HOME, XDG_*, the data dir) points into the test's temp dir.
- Provider environment variables are cleared so the machine's own keys never leak in.
- A socket guard fails any connection outside 127.0.0.0/8, ::1 and Unix sockets.
- ``async def`` tests run on plain asyncio, or on qasync's loop when marked ``ui``.
- Qt runs offscreen unless a test (e2e) says otherwise; Qt warnings fail tests
  (``qt_log_level_fail`` in pyproject.toml, with its documented ignore list).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import ipaddress
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from desktop_llm.core.highlight_pool import HighlightPool
from desktop_llm.storage.database import Database

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if not os.environ.get("XDG_RUNTIME_DIR"):
    _runtime = tempfile.mkdtemp(prefix="xdg-runtime-")
    os.chmod(_runtime, 0o700)
    os.environ["XDG_RUNTIME_DIR"] = _runtime

settings.register_profile("ci", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=50)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "OLLAMA_HOST",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("DESKTOP_LLM_TEST_INSTALLED"):
        import desktop_llm

        location = Path(desktop_llm.__file__).resolve()
        if location.parent.parent == REPO_ROOT:
            raise pytest.UsageError(
                f"desktop_llm was imported from the source tree ({location}), not the installed wheel."
            )


@pytest.fixture(autouse=True)
def isolated_user_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME, the XDG folders and the app's data dir into the test's temp dir."""
    home = tmp_path / "home"
    for name, sub in (
        ("HOME", ""),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
    ):
        folder = home / sub
        folder.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(name, str(folder))
    monkeypatch.setenv("DESKTOP_LLM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    return home


def _is_local(address: object) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    if isinstance(address, tuple) and address:
        host = address[0]
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return False


class NetworkAccessError(AssertionError):
    """A test tried to reach something other than this machine."""


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection that leaves the loopback interface."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guard(address: object) -> None:
        if not _is_local(address):
            raise NetworkAccessError(f"test tried to connect to {address!r}")

    def connect(self: socket.socket, address: object) -> None:
        guard(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        guard(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture(autouse=True)
def collect_garbage_on_the_qt_thread(request: pytest.FixtureRequest):
    """In UI tests, collect cyclic garbage only here, on the Qt thread, after the test's teardown.

    Python's collector runs on whichever thread happens to allocate. If a worker (the database
    thread, the fake server's loop) frees a Qt object, Qt's timer list keeps a dangling pointer
    and the process crashes later in ``QTimerInfoList::activateTimers``.
    """
    if request.node.get_closest_marker("ui") is None:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.enable()


@pytest.fixture
def qloop(qapp):
    """A qasync event loop on the test's QApplication, closed afterwards."""
    import qasync

    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    lost_wakeups = _LostWakeups()
    loop.set_exception_handler(lost_wakeups)
    try:
        yield loop
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()
    if lost_wakeups.errors:
        pytest.fail(
            "A nested Qt event loop (qtbot.wait/waitUntil/waitSignal, processEvents, QDialog.exec) ran "
            "inside a coroutine, and asyncio refused to wake another task from it; in the app that "
            f"task would never resume. Await instead. First refusal: {lost_wakeups.errors[0]}"
        )


class _LostWakeups:
    """The qasync loop's exception handler: catch a task's wake-up refused inside a nested Qt loop.

    A nested Qt event loop inside a task's step lets qasync run the callbacks due meanwhile;
    asyncio will not step a second task while one runs, so it reports "Cannot enter into task"
    and drops that wake-up: the task waits forever and the test hangs at shutdown. The wake-up
    is queued again (so the test ends) and the test fails, naming the cause.
    """

    def __init__(self) -> None:
        self.errors: list[str] = []

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        error, handle = context.get("exception"), context.get("handle")
        if (
            isinstance(error, RuntimeError)
            and str(error).startswith("Cannot enter into task")
            and isinstance(handle, asyncio.Handle)
        ):
            self.errors.append(str(error))
            # Handle keeps its callback private; re-queueing it is the only way to wake the task.
            loop.call_soon(handle._callback, *handle._args, context=handle._context)  # type: ignore[attr-defined]
            return
        loop.default_exception_handler(context)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests: on qasync's loop when marked ``ui``, else on plain asyncio."""
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    if pyfuncitem.get_closest_marker("ui") is not None:
        pyfuncitem.funcargs["qloop"].run_until_complete(function(**kwargs))
    else:
        asyncio.run(function(**kwargs))
    return True


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """Return a new, migrated database in the test's folder (a module wanting a thread defines its own)."""
    database = Database.open(tmp_path / "data" / "desktop-llm.sqlite3")
    yield database
    database.close()


@pytest.fixture(scope="session")
def highlight_pool() -> Iterator[HighlightPool]:
    """Return one code highlighter for the tests that want colours (the app builds its own)."""
    pool = HighlightPool()
    yield pool
    pool.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/ui/" in str(item.path).replace(os.sep, "/") and not item.get_closest_marker("ui"):
            item.add_marker(pytest.mark.ui)
        is_async = isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj)
        if is_async and item.get_closest_marker("ui") and "qloop" not in item.fixturenames:
            item.fixturenames.append("qloop")
    # e2e tests start the real app and are the slowest; run them last.
    items.sort(key=lambda item: "tests/e2e/" in str(item.path).replace(os.sep, "/"))


sys.path.insert(0, str(TESTS_DIR))  # tests/fakes is importable as ``fakes``
