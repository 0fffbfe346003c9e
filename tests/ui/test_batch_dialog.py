"""The batch dialog against the fake provider server: rows from a CSV, progress, cancel, resume, export."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.provider_server import ProviderServer, Reply
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from template_rig import TemplateRig, save_screenshot, template_rig, wait_for

from desktop_llm.core.prompt_templates import PromptTemplate, VariableSpec
from desktop_llm.services.batch import BatchProgress
from desktop_llm.storage.response_cache import SqliteResponseCache
from desktop_llm.ui.templates.batch_dialog import BatchDialog
from desktop_llm.ui.templates.batch_results import progress_text, time_left

pytestmark = pytest.mark.ui

TRANSLATE = PromptTemplate(
    name="Translate",
    system="You translate into {language}.",
    user="Translate: {text}",
    specs=(VariableSpec("text", multi_line=True), VariableSpec("language", default="French", trusted=True)),
)
SENTENCES = [
    "Good morning",
    "Where is the station?",
    "Two coffees, please",
    "Thank you",
    "See you soon",
    "Cheers",
]


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as running:
        yield running


def write_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "text"])
        for index, sentence in enumerate(SENTENCES):
            writer.writerow([f"s{index}", sentence])
    return path


async def open_dialog(rig: TemplateRig, qtbot) -> BatchDialog:
    loaded = await rig.templates.create(TRANSLATE)
    dialog = BatchDialog(
        rig.templates, rig.directory, rig.tasks, cache=SqliteResponseCache(rig.db), template_id=loaded.id
    )
    qtbot.addWidget(dialog)
    dialog.show()
    await dialog.start_up()
    await wait_for(lambda: dialog.picker.model() == "model-a", what="the default model")
    return dialog


def test_progress_reads_as_a_sentence() -> None:
    assert time_left(None) == ""
    assert time_left(12.4) == "about 12 s left"
    assert time_left(600) == "about 10 min left"
    progress = BatchProgress(done=10, failed=2, total=40, cached=3, eta_seconds=8.0)
    assert progress_text(progress) == "12 of 40 · 2 failed · 3 cached · about 8 s left"
    assert progress_text(BatchProgress(3, 0, 3, 0, 0.0)) == "3 of 3"


async def test_rows_from_a_csv_run_cancel_resume_and_export(qtbot, tmp_path, server) -> None:
    async with template_rig(tmp_path, server) as rig:
        dialog = await open_dialog(rig, qtbot)
        assert dialog.use_cache.isChecked()  # temperature 0
        await dialog.load_file(write_csv(tmp_path / "rows.csv"))
        assert dialog.rows_label.text() == "6 rows from rows.csv · columns: id, text"
        assert dialog.results.statuses() == ["pending"] * 6
        dialog.concurrency.setValue(2)
        dialog.use_cache.click()  # off: every row goes to the server
        for _ in SENTENCES:
            server.push(Reply(text="Bonjour tout le monde", delay=0.05))

        QTest.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        assert dialog.cancel_button.isEnabled() and not dialog.run_button.isEnabled()
        await wait_for(lambda: dialog.results.statuses().count("done") >= 2, what="two rows done")
        assert dialog.progress.value() >= 2
        assert dialog.progress_label.text().startswith(f"{dialog.progress.value()} of 6")
        QTest.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        await rig.settle()

        statuses = dialog.results.statuses()
        assert "pending" in statuses and "done" in statuses
        assert dialog.message.text().startswith("Cancelled: ")
        assert dialog.resume_button.isEnabled()
        finished_before = {i for i, status in enumerate(statuses) if status == "done"}

        QTest.mouseClick(dialog.resume_button, Qt.MouseButton.LeftButton)
        await rig.settle()

        assert dialog.results.statuses() == ["done"] * 6
        assert dialog.message.text() == "Finished: 6 answered, 0 failed."
        assert dialog.progress.value() == 6 and not dialog.resume_button.isEnabled()
        asked = [r.json["messages"][-1]["content"] for r in server.chat_requests]
        assert {f"Translate: {s}" for s in SENTENCES} == set(asked)
        # Rows that were done before the cancel were not asked again.
        for index in finished_before:
            assert asked.count(f"Translate: {SENTENCES[index]}") == 1
        assert server.chat_requests[0].json["messages"][0] == {
            "role": "system",
            "content": "You translate into French.",
        }

        await dialog.export(tmp_path / "out.csv")
        await dialog.export(tmp_path / "out.jsonl")
        with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as source:
            exported = list(csv.DictReader(source))
        assert [row["id"] for row in exported] == [f"s{i}" for i in range(6)]
        assert {row["status"] for row in exported} == {"done"}
        assert exported[0]["output"] == "Bonjour tout le monde"
        lines = [
            json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        assert [line["row"] for line in lines] == [1, 2, 3, 4, 5, 6]
        assert lines[3]["input"] == {"id": "s3", "text": "Thank you"}
        assert dialog.message.text().startswith("Exported 6 rows to ")


async def test_a_failing_row_is_shown_and_a_second_run_comes_from_the_cache(qtbot, tmp_path, server) -> None:
    async with template_rig(tmp_path, server) as rig:
        dialog = await open_dialog(rig, qtbot)
        dialog.concurrency.setValue(1)  # rows go out in order, so the scripted failure hits row 3
        dialog.use_pasted("\n".join(SENTENCES))
        await rig.settle()
        assert dialog.rows_label.text() == "6 rows from the pasted text · columns: text"
        server.push(
            Reply(text="Bonjour"),
            Reply(text="Où est la gare ?"),
            Reply(status=400, error_message="The text is too short to translate."),
            Reply(text="Merci"),
            Reply(text="À bientôt"),
            Reply(text="Santé"),
        )

        QTest.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
        await rig.settle()

        assert dialog.results.statuses() == ["done", "done", "failed", "done", "done", "done"]
        assert dialog.results.index(1, 2).data() == "Où est la gare ?"
        assert "too short to translate" in dialog.results.index(2, 3).data()
        assert dialog.message.text() == "Finished: 5 answered, 1 failed."
        save_screenshot(dialog, "batch.png", tmp_path)
        requests_before = len(server.chat_requests)
        server.push(Reply(text="Deux cafés, s'il vous plaît"))

        QTest.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)  # a fresh run: same requests at 0
        await rig.settle()

        assert dialog.results.statuses() == ["cached", "cached", "done", "cached", "cached", "cached"]
        assert len(server.chat_requests) == requests_before + 1  # only the failed row was sent again
        assert dialog.message.text() == "Finished: 6 answered (5 from the cache), 0 failed."


async def test_the_cache_follows_the_temperature_until_chosen(qtbot, tmp_path, server) -> None:
    async with template_rig(tmp_path, server) as rig:
        dialog = await open_dialog(rig, qtbot)
        dialog.temperature.setValue(0.7)
        assert not dialog.use_cache.isChecked()
        dialog.temperature.setValue(0.0)
        assert dialog.use_cache.isChecked()
        dialog.use_cache.click()
        dialog.temperature.setValue(0.5)
        dialog.temperature.setValue(0.0)
        assert not dialog.use_cache.isChecked()  # the person's choice stands


async def test_bad_input_says_where(qtbot, tmp_path, server) -> None:
    async with template_rig(tmp_path, server) as rig:
        dialog = await open_dialog(rig, qtbot)
        bad = tmp_path / "bad.csv"
        bad.write_text("id,words\n1,hello\n", encoding="utf-8")
        await dialog.load_file(bad)

        assert "Line 1" in dialog.message.text() and "{text}" in dialog.message.text()
        assert dialog.batch is None and not dialog.run_button.isEnabled()
        assert dialog.results.rowCount() == 0
