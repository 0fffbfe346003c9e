"""No work of ours starts once the app has shut down, so no task step ever runs outside the loop.

qasync runs every task step from a Qt timer. After ``run_until_complete`` returns it runs one
more pass of Qt events with no running asyncio loop (and pytest-qt's teardown runs more): a
debounced refresh whose timer expires there (the token meter's, 300 ms after the last change)
used to start a task whose first step then called ``asyncio.to_thread`` and failed with
"RuntimeError: no running event loop". Shutdown now closes the task keeper first, so a late
timer starts nothing.
"""

from __future__ import annotations

import asyncio
import sys

import pytest
from app_harness import fake_openai_environment, open_app, wait_until
from fakes.provider_server import ProviderServer
from PySide6.QtWidgets import QApplication

from desktop_llm.ui.common.tasks import TaskKeeper, cancel_stray_tasks

pytestmark = pytest.mark.ui


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


def test_a_debounced_refresh_due_after_shutdown_starts_nothing(
    qtbot, qloop, tmp_path, server, monkeypatch
) -> None:
    caught: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda _type, error, _tb: caught.append(error))

    async def run_app_then_shut_down():
        async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
            await wait_until(lambda: app.workspace.composer.meter.isVisible(), what="the meter")
            return app

    app = qloop.run_until_complete(run_app_then_shut_down())
    assert not qloop.is_running()
    meter = app.composition.context.meter
    # The debounce timer expiring in qasync's last pass of events, after the loop has stopped.
    meter.schedule()
    meter.refresh_now()
    for _ in range(5):
        QApplication.processEvents()
    assert caught == []
    assert app.composition.tasks.pending == 0


def test_a_closed_keeper_refuses_work_without_starting_it(qloop) -> None:
    errors: list[str] = []
    keeper = TaskKeeper(errors.append)
    ran: list[str] = []

    async def work() -> None:
        ran.append("ran")

    async def scenario() -> None:
        keeper.close()
        coroutine = work()
        assert keeper.run(coroutine) is None
        assert coroutine.cr_frame is None  # closed, so never "never awaited" either
        await asyncio.sleep(0)

    qloop.run_until_complete(scenario())
    assert ran == [] and errors == [] and keeper.pending == 0


def test_tasks_nobody_keeps_are_cancelled_before_the_loop_stops(qloop, caplog) -> None:
    """A dialog's slot still running at shutdown ends inside the loop, its failure logged."""
    steps: list[str] = []

    async def slot_waiting_forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            steps.append("cancelled inside the loop" if qloop.is_running() else "outside")

    async def slot_failing_on_cancel() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    async def shut_down() -> int:
        tasks = [
            asyncio.ensure_future(slot_waiting_forever()),
            asyncio.ensure_future(slot_failing_on_cancel()),
        ]
        await asyncio.sleep(0)
        count = await cancel_stray_tasks()
        assert all(task.done() for task in tasks)
        return count

    assert qloop.run_until_complete(shut_down()) == 2
    assert steps == ["cancelled inside the loop"]
    assert "cleanup failed" in caplog.text
