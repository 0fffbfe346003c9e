"""Export and import through the dialog functions, with the file chooser answered by the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes.exchange_samples import populate, table_contents
from fakes.signal_wait import SignalWaiter, until
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from desktop_llm.services.conversations import ConversationService
from desktop_llm.services.exchange import ExchangeProgress, ExchangeService
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.importer import ImportResult
from desktop_llm.ui.common.await_dialog import PathRequest
from desktop_llm.ui.settings import exchange_dialogs
from desktop_llm.ui.settings.settings_data import DataPage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


class Chooser:
    """Answer file choosers with fixed paths and remember what was asked."""

    def __init__(self, *answers: Path | None) -> None:
        self._answers = list(answers)
        self.requests: list[PathRequest] = []

    async def __call__(self, parent: QWidget | None, request: PathRequest) -> Path | None:
        self.requests.append(request)
        return self._answers.pop(0)


class ShownProgress(QObject):
    """Record the title of every progress window that appears."""

    def __init__(self) -> None:
        super().__init__()
        self.titles: list[str] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show and isinstance(watched, QProgressDialog):
            self.titles.append(watched.windowTitle())
        return False


@pytest.fixture
def store(tmp_path, qloop):
    db = DatabaseThread(tmp_path / "data" / "desktop-llm.sqlite3")
    sample = db.call_blocking(populate)
    yield db, sample
    db.close()


@pytest.fixture
def parent(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    return widget


@pytest.fixture
def shown_progress(qapp):
    spy = ShownProgress()
    qapp.installEventFilter(spy)
    yield spy
    qapp.removeEventFilter(spy)


def _message(parent: QWidget) -> QMessageBox:
    [box] = [box for box in parent.findChildren(QMessageBox) if box.isVisible()]
    return box


async def test_export_conversation_as_json(tmp_path, store, parent):
    db, sample = store
    out = tmp_path / "out.json"
    chooser = Chooser(out)
    outcome = await exchange_dialogs.export_conversation(
        parent, ExchangeService(db), sample.branched, choose_path=chooser, start_folder=tmp_path
    )
    [request] = chooser.requests
    assert request.save and request.suggested == tmp_path / "Capital of France.json"
    assert request.filters[0] == exchange_dialogs.JSON_FILTER
    assert outcome is not None and outcome.succeeded
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["format"] == "desktop-llm-export"
    assert [c["id"] for c in document["conversations"]] == [sample.branched]
    box = _message(parent)
    assert box is outcome.message
    assert box.text() == "Conversation exported."
    assert box.informativeText() == f"1 conversation with 6 messages saved to {out}."
    assert box.icon() == QMessageBox.Icon.Information


async def test_export_conversation_as_markdown_by_file_name(tmp_path, store, parent):
    db, sample = store
    out = tmp_path / "chat.md"
    outcome = await exchange_dialogs.export_conversation(
        parent, ExchangeService(db), sample.branched, choose_path=Chooser(out)
    )
    assert outcome is not None and outcome.succeeded
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Capital of France\n")
    assert "The capital of" in text  # the branch on screen: the stopped reply
    assert "current branch (2 messages)" in outcome.details


async def test_cancelled_chooser_does_nothing(tmp_path, store, parent):
    db, sample = store
    service = ExchangeService(db)
    assert (
        await exchange_dialogs.export_conversation(
            parent, service, sample.branched, choose_path=Chooser(None)
        )
        is None
    )
    assert await exchange_dialogs.export_all(parent, service, choose_path=Chooser(None)) is None
    assert await exchange_dialogs.import_file(parent, service, choose_path=Chooser(None)) is None
    assert not [box for box in parent.findChildren(QMessageBox) if box.isVisible()]
    assert list(tmp_path.glob("*.json")) == []


async def test_export_failure_is_explained(tmp_path, store, parent):
    db, _ = store
    out = tmp_path / "no such folder" / "out.json"
    outcome = await exchange_dialogs.export_all(parent, ExchangeService(db), choose_path=Chooser(out))
    assert outcome is not None and not outcome.succeeded
    assert outcome.text == "Your conversations could not be exported."
    assert "does not exist" in outcome.details
    assert _message(parent).icon() == QMessageBox.Icon.Warning
    assert not out.parent.exists()


async def test_export_all_then_import_shows_progress_and_results(tmp_path, store, parent, shown_progress):
    db, _ = store
    out = tmp_path / "everything.json"
    outcome = await exchange_dialogs.export_all(
        parent, ExchangeService(db), choose_path=Chooser(out), progress_delay_ms=0
    )
    assert outcome is not None and outcome.succeeded
    assert outcome.details == f"4 conversations with 10 messages saved to {out}."
    assert "Exporting" in shown_progress.titles
    assert not [d for d in parent.findChildren(QProgressDialog) if d.isVisible()]  # closed at the end
    outcome.message.close()

    fresh = DatabaseThread(tmp_path / "fresh" / "desktop-llm.sqlite3")
    try:
        service = ExchangeService(fresh)
        imported = await exchange_dialogs.import_file(
            parent, service, choose_path=Chooser(out), progress_delay_ms=0
        )
        assert imported is not None and imported.succeeded
        assert imported.details == (
            "Imported 4 conversations (10 messages) from the export. Also added: 2 folders, 1 template."
        )
        assert "Importing" in shown_progress.titles
        imported.message.close()
        again = await exchange_dialogs.import_file(parent, service, choose_path=Chooser(out))
        assert again is not None and again.succeeded
        assert again.details == "Imported 0 conversations (0 messages) from the export. " + (
            "4 conversations you already had were skipped."
        )
    finally:
        await fresh.aclose()
    assert table_contents(fresh.path) == table_contents(db.path)


async def test_import_problems_are_listed_and_nothing_changes(tmp_path, store, parent):
    db, _ = store
    out = tmp_path / "good.json"
    await ExchangeService(db).export_all(out)
    document = json.loads(out.read_text(encoding="utf-8"))
    document["conversations"][0]["messages"][1]["parent_id"] = "5a1d3c1e-0000-4000-8000-000000000000"
    document["conversations"][1]["messages"][0]["role"] = "robot"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    before = table_contents(db.path)

    outcome = await exchange_dialogs.import_file(parent, ExchangeService(db), choose_path=Chooser(bad))
    assert outcome is not None and not outcome.succeeded
    assert outcome.text == "bad.json could not be imported."
    problems = [line for line in outcome.details.splitlines() if line.startswith("• ")]
    assert len(problems) == 2
    assert "conversations[0].messages[1]" in problems[0] and "parent_id" in problems[0]
    assert "conversations[1].messages[0]" in problems[1] and "role" in problems[1]
    assert outcome.details.endswith("Nothing was imported; your conversations are unchanged.")
    box = _message(parent)
    assert box.icon() == QMessageBox.Icon.Warning and box.informativeText() == outcome.details
    assert table_contents(db.path) == before


async def test_not_json_is_reported_in_plain_words(tmp_path, store, parent):
    db, _ = store
    notes = tmp_path / "notes.txt"
    notes.write_text("hello, not an export", encoding="utf-8")
    outcome = await exchange_dialogs.import_file(parent, ExchangeService(db), choose_path=Chooser(notes))
    assert outcome is not None and not outcome.succeeded
    assert "not JSON" in outcome.details


async def test_chatgpt_zip_import(tmp_path, store, parent):
    db, _ = store
    zipped = FIXTURES / "chatgpt" / "chatgpt-export.zip"
    outcome = await exchange_dialogs.import_file(parent, ExchangeService(db), choose_path=Chooser(zipped))
    assert outcome is not None and outcome.succeeded
    assert outcome.details.startswith("Imported 3 conversations (")
    assert "from the ChatGPT export." in outcome.details
    titles = {c[1] for c in table_contents(db.path)["conversations"]}
    assert {"Plotting a sine wave", "Kyoto trip"} <= titles


def test_progress_window_counts_when_the_total_is_known(qtbot):
    window = exchange_dialogs.ProgressWindow(None, "Importing", delay_ms=60_000)
    qtbot.addWidget(window.dialog)
    window.update(ExchangeProgress("Reading…"))
    assert (window.dialog.minimum(), window.dialog.maximum()) == (0, 0)  # busy
    window.update(ExchangeProgress("Importing 3 of 10 conversations…", 3, 10, "conversations"))
    assert window.dialog.labelText() == "Importing 3 of 10 conversations…"
    assert (window.dialog.maximum(), window.dialog.value()) == (10, 3)
    assert not window.dialog.isVisible()  # the delay has not passed
    window.close()


async def test_data_page_buttons_export_and_import(tmp_path, store, parent, qtbot):
    db, _ = store
    out = tmp_path / "all.json"
    chooser = Chooser(out, FIXTURES / "chatgpt" / "conversations.json")
    page = DataPage(
        tmp_path, ExchangeService(db), ConversationService(db), choose_path=chooser, parent=parent
    )
    page.show()
    await page.load()

    qtbot.mouseClick(page.export_all, Qt.MouseButton.LeftButton)
    await _until_outcome(page)
    assert page.last_outcome.succeeded and out.exists()
    page.last_outcome.message.close()
    page.last_outcome = None

    changed = SignalWaiter(page.conversations_changed)
    qtbot.mouseClick(page.import_file, Qt.MouseButton.LeftButton)
    await changed.wait()
    assert page.last_outcome.succeeded
    assert page.import_file.isEnabled()


async def _until_outcome(page) -> None:
    await until(lambda: page.last_outcome is not None and page.export_all.isEnabled())


def test_import_summary_wording():
    result = ImportResult(
        format="chatgpt", imported=1, skipped=2, renamed=1, messages=5, folders=0, templates=0
    )
    assert exchange_dialogs.import_summary(result) == (
        "Imported 1 conversation (5 messages) from the ChatGPT export. "
        "2 conversations you already had were skipped. "
        "1 conversation got new ids because theirs were already in use."
    )
