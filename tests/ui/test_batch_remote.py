"""Batches on the provider's batch service from the window: the dialog's option, the Batches list.

Real parts: the fake server's batch API on a fake clock, SQLite, the real services; the dialog
follows the batch it sent, fills the same results table and exports it; the Batches window lists
batches with their state and counts, shows a batch's rows and cancels one.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes.fake_clock import FakeClock
from fakes.provider_server import BatchScript, ProviderServer
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from template_rig import TemplateRig, save_screenshot, template_rig, wait_for

from desktop_llm.core.catalog import load_catalog
from desktop_llm.core.prompt_templates import PromptTemplate, VariableSpec
from desktop_llm.providers.batches import batch_client
from desktop_llm.services.remote_batches import BatchSubmission, PollPolicy, RemoteBatchService
from desktop_llm.storage.remote_batches import RemoteBatchRecord
from desktop_llm.storage.response_cache import SqliteResponseCache
from desktop_llm.ui.templates.batch_dialog import REMOTE_LABEL, BatchDialog
from desktop_llm.ui.templates.batches_feature import BatchesFeature
from desktop_llm.ui.templates.batches_list import since

pytestmark = pytest.mark.ui

SORT = PromptTemplate(name="Sort mail", user="Sort: {text}", specs=(VariableSpec("text"),))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[ProviderServer]:
    with ProviderServer(batch_clock=clock) as running:
        yield running


def remote_service(rig: TemplateRig, tmp_path: Path) -> RemoteBatchService:
    async def client_for(entry_id: str):  # type: ignore[no-untyped-def]
        return batch_client(await rig.directory.provider(entry_id))

    return RemoteBatchService(
        rig.db,
        client_for,
        work_dir=tmp_path / "work",
        cache=SqliteResponseCache(rig.db),
        catalog=load_catalog(),
        poll=PollPolicy(first=0.01, factor=1.5, longest=0.05),
    )


def write_csv(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["text"])
        writer.writerows([[f"mail {index}"] for index in range(count)])
    return path


async def open_dialog(rig: TemplateRig, qtbot, remote: RemoteBatchService | None) -> BatchDialog:  # type: ignore[no-untyped-def]
    loaded = await rig.templates.create(SORT)
    dialog = BatchDialog(rig.templates, rig.directory, rig.tasks, template_id=loaded.id, remote=remote)
    qtbot.addWidget(dialog)
    dialog.show()
    await dialog.start_up()
    await wait_for(lambda: dialog.picker.model() == "model-a", what="the default model")
    return dialog


async def test_rows_sent_to_the_batch_service_fill_the_results_table(
    qtbot, tmp_path: Path, server: ProviderServer, clock: FakeClock
) -> None:
    server.batches.script = BatchScript(shuffle=True, row_errors={"row-1": (400, "row two is refused")})
    async with template_rig(tmp_path, server) as rig:
        dialog = await open_dialog(rig, qtbot, remote_service(rig, tmp_path))
        sent: list[object] = []
        dialog.remote_submitted.connect(sent.append)
        await dialog.load_file(write_csv(tmp_path / "rows.csv", 5))
        assert dialog.remote_box.text() == REMOTE_LABEL
        assert dialog.remote_box.isVisible() and dialog.remote_box.isEnabled()
        await wait_for(lambda: "on the batch service" in dialog.estimate_label.text(), what="the estimate")
        assert "here" in dialog.estimate_label.text()
        dialog.remote_box.click()
        assert not dialog.concurrency.isEnabled()  # the provider decides how fast

        QTest.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        await wait_for(lambda: sent, what="the batch to be sent")
        assert dialog.message.text().startswith("Sent 5 rows to")
        assert dialog.cancel_button.isEnabled() and len(server.batches.jobs) == 1
        save_screenshot(dialog, "batch-remote.png", tmp_path)
        clock.advance(60)
        await wait_for(lambda: not dialog._running, what="the batch to finish")
        await rig.settle()

        assert dialog.results.statuses() == ["done", "failed", "done", "done", "done"]
        assert dialog.message.text() == "Batch ended: 4 answered, 1 failed."
        await dialog.export(tmp_path / "out.csv")
        with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as source:
            table = list(csv.DictReader(source))
        assert [row["output"] for row in table] == [
            "Echo: Sort: mail 0",
            "",
            "Echo: Sort: mail 2",
            "Echo: Sort: mail 3",
            "Echo: Sort: mail 4",
        ]
        assert "row two is refused" in table[1]["error"]


async def test_without_batch_services_the_option_is_not_offered(
    qtbot, tmp_path: Path, server: ProviderServer
) -> None:
    async with template_rig(tmp_path, server) as rig:
        dialog = await open_dialog(rig, qtbot, None)
        assert not dialog.remote_box.isVisible() and not dialog.batch_service_available()


async def test_the_batches_window_lists_shows_rows_and_cancels(
    qtbot, tmp_path: Path, server: ProviderServer, clock: FakeClock
) -> None:
    server.batches.script = BatchScript(validate_seconds=0, run_seconds=10, cancel_seconds=1)
    async with template_rig(tmp_path, server) as rig:
        service = remote_service(rig, tmp_path)
        dialog = await open_dialog(rig, qtbot, service)
        window = QWidget()
        qtbot.addWidget(window)
        feature = BatchesFeature(service, rig.tasks, window)
        dialog.remote_submitted.connect(feature.on_submitted)
        sent: list[object] = []
        dialog.remote_submitted.connect(sent.append)
        await dialog.load_file(write_csv(tmp_path / "rows.csv", 10))
        dialog.remote_box.click()
        QTest.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        await wait_for(lambda: sent, what="the batch to be sent")
        dialog.close()  # the batch goes on without the dialog

        batches = feature.open()
        await wait_for(lambda: batches.model.rowCount() == 1 and batches.shown is not None, what="the list")
        model = batches.model
        assert [model.index(0, c).data() for c in range(3)] == ["Sort mail", "model-a", "Running"]
        assert model.index(0, 3).data() == "0 of 10 answered" and model.index(0, 4).data() == "just now"
        assert batches.results.statuses() == ["pending"] * 10
        clock.advance(3)
        batches.refresh_selected()
        await wait_for(lambda: model.index(0, 3).data() != "0 of 10 answered", what="a refresh")
        assert batches.cancel_button.isEnabled()
        QTest.mouseClick(batches.cancel_button, Qt.MouseButton.LeftButton)
        await wait_for(lambda: model.records[0].state == "cancelling", what="the cancel")
        clock.advance(5)
        await wait_for(lambda: model.records[0].state == "cancelled", seconds=20, what="the poller")
        await wait_for(lambda: "pending" not in batches.results.statuses(), what="the rows")
        assert batches.results.statuses() == ["done"] * 3 + ["failed"] * 7
        assert model.index(0, 3).data() == "3 of 10 answered, 7 failed"
        await batches.export(tmp_path / "cancelled.jsonl")
        assert len((tmp_path / "cancelled.jsonl").read_text().splitlines()) == 10
        save_screenshot(batches, "batches.png", tmp_path)
        rig.tasks.cancel_all()


def test_time_since_submission_reads_as_words() -> None:
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert since("2026-12-04T11:59:30.000Z", now) == "just now"
    assert since("2026-12-04T11:15:00.000Z", now) == "45 min ago"
    assert since("2026-12-03T09:00:00.000Z", now) == "27 h ago"
    assert since("2026-11-30T12:00:00.000Z", now) == "4 days ago"


async def test_a_batch_sent_before_the_app_started_is_followed_to_its_end(
    qtbot, tmp_path: Path, server: ProviderServer, clock: FakeClock
) -> None:
    async with template_rig(tmp_path, server) as rig:
        earlier = remote_service(rig, tmp_path)  # as the command line (or the last run) sent it
        submission = BatchSubmission(
            "env:openai", "openai", "model-a", SORT, [{"text": "a"}, {"text": "b"}], ("text",)
        )
        record = await earlier.submit(submission)
        window = QWidget()
        qtbot.addWidget(window)
        feature = BatchesFeature(remote_service(rig, tmp_path), rig.tasks, window)
        seen: list[RemoteBatchRecord] = []
        feature.batch_changed.connect(seen.append)
        feature.follow()  # what the app does at start
        await wait_for(lambda: seen, what="a first poll")
        assert seen[-1].id == record.id and seen[-1].state == "running"
        clock.advance(60)
        await wait_for(lambda: seen[-1].state == "ended", what="the batch's end")
        await wait_for(
            lambda: feature._poller is not None and feature._poller.done(), what="the poller to stop"
        )
        assert (seen[-1].done, seen[-1].failed) == (2, 0)
        # The finished batch in the Batches window (the README's picture of a batch that ended).
        batches = feature.open()
        batches.resize(1000, 560)
        model = batches.model
        await wait_for(lambda: model.rowCount() == 1 and batches.shown is not None, what="the list")
        await wait_for(lambda: batches.results.statuses() == ["done", "done"], what="the rows")
        assert model.index(0, 2).data() == "Finished" and model.index(0, 3).data() == "2 of 2 answered"
        save_screenshot(batches, "batches-finished.png", tmp_path)
        rig.tasks.cancel_all()
