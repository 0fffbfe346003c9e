"""ExchangeService: exports and imports on the database thread, progress reported on the caller's loop."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from fakes.exchange_samples import populate, table_contents

from desktop_llm.services.exchange import ExchangeProgress, ExchangeService, suggested_filename
from desktop_llm.storage.errors import ImportFailed, NotFound, StorageError
from desktop_llm.storage.executor import DatabaseThread


@pytest.fixture
def store(tmp_path: Path):
    db = DatabaseThread(tmp_path / "data" / "desktop-llm.sqlite3")
    sample = db.call_blocking(populate)
    yield db, sample
    db.close()


class Recorder:
    """Keep every progress report and the thread it arrived on."""

    def __init__(self) -> None:
        self.reports: list[ExchangeProgress] = []
        self.threads: set[int] = set()

    def __call__(self, progress: ExchangeProgress) -> None:
        self.reports.append(progress)
        self.threads.add(threading.get_ident())


async def test_export_all_reports_progress_on_the_loop_thread(tmp_path, store):
    db, _ = store
    recorder = Recorder()
    result = await ExchangeService(db).export_all(tmp_path / "all.json", progress=recorder)
    assert (result.format, result.conversations, result.messages) == ("json", 4, 10)
    assert recorder.reports[0] == ExchangeProgress("Exporting 4 conversations…")
    written = [r for r in recorder.reports if r.unit == "bytes"]
    assert written and written[0].stage.startswith("Exporting to all.json… ")
    assert 0 < written[-1].done <= (tmp_path / "all.json").stat().st_size
    assert recorder.threads == {threading.get_ident()}
    assert json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))["format"] == "desktop-llm-export"


async def test_export_one_conversation_in_both_formats(tmp_path, store):
    db, sample = store
    service = ExchangeService(db)
    as_json = await service.export_conversation(sample.branched, tmp_path / "one.json")
    assert (as_json.conversations, as_json.messages) == (1, 6)
    as_markdown = await service.export_conversation(sample.branched, tmp_path / "one.md", "markdown")
    assert (as_markdown.format, as_markdown.messages) == ("markdown", 2)
    assert (tmp_path / "one.md").read_text(encoding="utf-8").startswith("# Capital of France")
    assert await service.conversation_title(sample.branched) == "Capital of France"


async def test_export_errors_are_storage_errors(tmp_path, store):
    db, _ = store
    service = ExchangeService(db)
    with pytest.raises(NotFound):
        await service.export_conversation("5a1d3c1e-0000-4000-8000-000000000000", tmp_path / "x.json")
    with pytest.raises(StorageError, match="does not exist"):
        await service.export_all(tmp_path / "missing" / "x.json")
    assert not (tmp_path / "x.json").exists()


async def test_import_round_trip_and_failure(tmp_path, store):
    db, _ = store
    service = ExchangeService(db)
    await service.export_all(tmp_path / "all.json")
    fresh = DatabaseThread(tmp_path / "fresh.sqlite3")
    try:
        recorder = Recorder()
        result = await ExchangeService(fresh).import_file(tmp_path / "all.json", progress=recorder)
        assert (result.imported, result.skipped, result.messages) == (4, 0, 10)
        assert recorder.reports[0].stage.startswith("Checking and importing all.json (")
        with pytest.raises(ImportFailed) as failed:
            await ExchangeService(fresh).import_file(tmp_path / "nothing.json")
        assert failed.value.problems == [f"{tmp_path / 'nothing.json'} does not exist"]
    finally:
        await fresh.aclose()
    assert table_contents(fresh.path) == table_contents(db.path)


@pytest.mark.parametrize(
    ("title", "export_format", "expected"),
    [
        ("Capital of France", "json", "Capital of France.json"),
        ("a/b\\c: d?", "markdown", "a b c  d.md"),
        ("", "json", "conversation.json"),
        ("...", "json", "conversation.json"),
        ("x" * 200, "json", "x" * 80 + ".json"),
    ],
)
def test_suggested_filename(title, export_format, expected):
    assert suggested_filename(title, export_format) == expected
