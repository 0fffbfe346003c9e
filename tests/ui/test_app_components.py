"""The window's parts on their own: composer keys, list order, status sentences, redaction, crash dialog."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop_llm.services.logs import REDACTED, KeyRedactor, configure_logging
from desktop_llm.storage.records import Conversation, StoredMessage
from desktop_llm.ui.chat.composer import Composer
from desktop_llm.ui.chat.conversation_list import ConversationListModel, relative_time
from desktop_llm.ui.chat.sidebar import first_match, snippet_parts
from desktop_llm.ui.shell.crash_reporter import CrashReporter
from desktop_llm.ui.shell.status_bar import ActivityTracker, usage_text

pytestmark = pytest.mark.ui


# -- composer ---------------------------------------------------------------------------------


@pytest.fixture
def composer(qtbot):
    widget = Composer()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_enter_sends_and_shift_enter_makes_a_new_line(qtbot, composer) -> None:
    QTest.keyClicks(composer.editor, "first line")
    QTest.keyClick(composer.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClicks(composer.editor, "second line")
    with qtbot.waitSignal(composer.send_requested) as sent:
        QTest.keyClick(composer.editor, Qt.Key.Key_Return)
    assert sent.args == ["first line\nsecond line"]
    assert composer.hint.text() == "Enter to send · Shift+Enter for a new line"


def test_with_ctrl_enter_chosen_enter_is_a_new_line(qtbot, composer) -> None:
    composer.set_send_key("ctrl+enter")
    QTest.keyClicks(composer.editor, "a")
    with qtbot.assertNotEmitted(composer.send_requested):
        QTest.keyClick(composer.editor, Qt.Key.Key_Return)
    assert composer.text() == "a\n"
    with qtbot.waitSignal(composer.send_requested) as sent:
        QTest.keyClick(composer.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert sent.args == ["a\n"]
    assert composer.hint.text().startswith("Ctrl+Enter to send")


def test_blank_text_is_not_sent_and_streaming_turns_send_into_stop(qtbot, composer) -> None:
    QTest.keyClicks(composer.editor, "   ")
    with qtbot.assertNotEmitted(composer.send_requested):
        QTest.keyClick(composer.editor, Qt.Key.Key_Return)
    composer.set_streaming(True)
    assert composer.button.text() == "Stop"
    with qtbot.waitSignal(composer.stop_requested):
        QTest.keyClick(composer.editor, Qt.Key.Key_Escape)
    with qtbot.waitSignal(composer.stop_requested):
        QTest.mouseClick(composer.button, Qt.MouseButton.LeftButton)


def test_up_in_an_empty_box_asks_to_edit_and_esc_leaves_edit_mode(qtbot, composer) -> None:
    with qtbot.waitSignal(composer.edit_last_requested):
        QTest.keyClick(composer.editor, Qt.Key.Key_Up)
    composer.start_editing("m1", "old text")
    assert composer.edit_banner.isVisible() and composer.text() == "old text"
    with qtbot.waitSignal(composer.edit_cancelled):
        QTest.keyClick(composer.editor, Qt.Key.Key_Escape)
    assert composer.editing_id is None and composer.text() == ""
    composer.start_editing("m1", "old text")
    with qtbot.waitSignal(composer.edit_submitted) as submitted:
        QTest.keyClick(composer.editor, Qt.Key.Key_Return)
    assert submitted.args == ["m1", "old text"]


def test_the_box_grows_with_its_text_up_to_a_limit(qtbot, composer) -> None:
    one_line = composer.editor.height()
    composer.set_text("line\n" * 4)
    four_lines = composer.editor.height()
    composer.set_text("line\n" * 100)
    capped = composer.editor.height()
    assert one_line < four_lines < capped
    composer.set_text("line\n" * 200)
    assert composer.editor.height() == capped


# -- the conversation list ----------------------------------------------------------------------


def conversation(cid: str, updated: str, *, pinned: bool = False, title: str | None = None) -> Conversation:
    return Conversation(
        id=cid,
        title=cid if title is None else title,
        created_at=updated,
        updated_at=updated,
        pinned=pinned,
        folder_id=None,
        archived=False,
        deleted_at=None,
        provider_id=None,
        model=None,
        system_prompt="",
        params={},
        current_leaf_id=None,
    )


def test_the_list_keeps_pinned_first_then_newest_activity_and_moves_rows(qtbot) -> None:
    model = ConversationListModel()
    model.set_conversations(
        [
            conversation("pin", "2026-01-01T00:00:00.000Z", pinned=True),
            conversation("b", "2026-01-03T00:00:00.000Z"),
        ],
        has_more=False,
    )
    model.upsert(conversation("c", "2026-01-02T00:00:00.000Z"))
    assert [c.id for c in model.first(5)] == ["pin", "b", "c"]
    with qtbot.waitSignal(model.rowsMoved):
        model.upsert(conversation("c", "2026-01-04T00:00:00.000Z"))
    assert [c.id for c in model.first(5)] == ["pin", "c", "b"]
    assert model.remove("c").id == "c" and [c.id for c in model.first(5)] == ["pin", "b"]


def test_renaming_in_the_model_reports_the_new_title(qtbot) -> None:
    model = ConversationListModel()
    model.set_conversations([conversation("a", "2026-01-01T00:00:00.000Z", title="")], has_more=False)
    index = model.index(0)
    assert index.data() == "New chat"
    with qtbot.waitSignal(model.rename_requested) as renamed:
        assert model.setData(index, "  Trip notes ")
    assert renamed.args == ["a", "Trip notes"] and index.data() == "Trip notes"
    assert not model.setData(index, "   ")


def test_relative_times_read_naturally() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def ago(**delta: float) -> str:
        return (now - timedelta(**delta)).isoformat().replace("+00:00", "Z")

    assert relative_time(ago(seconds=10), now) == "just now"
    assert relative_time(ago(minutes=5), now) == "5 min"
    assert relative_time(ago(hours=3), now) == "3 h"
    assert relative_time("garbage", now) == ""


def test_snippet_matches_are_found_and_split() -> None:
    assert snippet_parts("…the [Spice] markets of [Zanzibar]") == [
        ("…the ", False),
        ("Spice", True),
        (" markets of ", False),
        ("Zanzibar", True),
    ]
    assert first_match("…the [Spice] markets") == "Spice"
    assert first_match("no marks") == ""


# -- the status bar ---------------------------------------------------------------------------


def test_the_activity_sentence_follows_a_reply() -> None:
    now = [100.0]
    tracker = ActivityTracker(clock=lambda: now[0])
    tracker.started("c1")
    assert tracker.describe("c1") == "Connecting…"
    tracker.retrying("c1", 3.0)
    now[0] += 0.5
    assert tracker.describe("c1") == "The provider is busy; retrying in 3 s…"
    tracker.delta("c1")
    for _ in range(39):
        tracker.delta("c1")
    now[0] += 2.0
    assert tracker.describe("c1") == "Streaming · 20 tokens/s"
    assert tracker.describe("c2") == ""


def test_usage_sums_what_the_provider_reported() -> None:
    def reply(inp: int | None, out: int | None, cached: int = 0) -> StoredMessage:
        return StoredMessage(
            "m",
            "c",
            None,
            "assistant",
            "",
            "",
            "complete",
            None,
            None,
            None,
            None,
            inp,
            out,
            cached,
            0,
            None,
            "",
            False,
        )

    assert usage_text([]) == ""
    assert (
        usage_text([reply(1000, 200), reply(1300, 250, cached=1000)])
        == "2,300 in · 450 out tokens (1,000 cached)"
    )
    assert usage_text([reply(None, None)]) == ""


# -- logs and crashes -------------------------------------------------------------------------


def test_the_redactor_removes_known_keys_and_credential_shapes() -> None:
    redactor = KeyRedactor(["my-secret-key-123", None, "abc"])
    text = (
        "key my-secret-key-123; header Authorization: Bearer tok_live_999 x-api-key: k-777777 "
        "url https://x/v1?key=AIzaSyA1234567890123456789012 openai sk-proj-abcdefghijklmnop abc stays"
    )
    cleaned = redactor.redact(text)
    for secret in ("my-secret-key-123", "tok_live_999", "k-777777", "AIzaSyA123", "sk-proj-abcdefghijklmnop"):
        assert secret not in cleaned
    assert cleaned.count(REDACTED) >= 5 and "abc stays" in cleaned


def test_the_redactor_removes_credentials_from_proxy_and_base_urls() -> None:
    cleaned = KeyRedactor().redact(
        "proxy http://alice:s3cret-pw@proxy.example.com:3128 base https://bob@api.example.com/v1 "
        "and 'socks5://carol:pw2@10.0.0.1:1080' but mail dave@example.com stays"
    )
    for secret in ("alice", "s3cret-pw", "bob", "carol", "pw2"):
        assert secret not in cleaned
    assert f"http://{REDACTED}@proxy.example.com:3128" in cleaned
    assert "dave@example.com stays" in cleaned


def test_the_log_file_never_holds_a_key_even_in_a_traceback(tmp_path) -> None:
    redactor = KeyRedactor()
    root = logging.getLogger()
    before = list(root.handlers), root.level
    path = configure_logging(tmp_path / "logs", redactor)
    try:
        redactor.add("sk-ant-test-very-secret")
        logger = logging.getLogger("desktop_llm.test")
        logger.info("using %s for the call", "sk-ant-test-very-secret")
        try:
            raise RuntimeError("the server echoed sk-ant-test-very-secret back")
        except RuntimeError:
            logger.exception("a call failed")
    finally:
        for handler in root.handlers[:]:
            if handler not in before[0]:
                handler.close()
                root.removeHandler(handler)
        root.setLevel(before[1])
    written = path.read_text(encoding="utf-8")
    assert "a call failed" in written and "RuntimeError" in written
    assert "sk-ant-test-very-secret" not in written
    assert written.count(REDACTED) >= 2


def test_an_unexpected_error_shows_a_dialog_with_details_and_the_log_path(qtbot, tmp_path, caplog) -> None:
    log_path = tmp_path / "logs" / "desktop-llm.log"
    reporter = CrashReporter(log_path, redact=KeyRedactor(["sk-hidden-000000"]).redact)
    try:
        raise ValueError("a bug holding sk-hidden-000000")
    except ValueError as error:
        with caplog.at_level(logging.CRITICAL):
            reporter(type(error), error, error.__traceback__)
    [dialog] = reporter.dialogs
    assert dialog.isVisible()
    labels = " ".join(label.text() for label in dialog.findChildren(type(dialog.summary_label)))
    assert str(log_path) in labels
    assert "ValueError" in dialog.summary_label.text()
    details = dialog.details_view.toPlainText()
    assert "Traceback" in details and "sk-hidden-000000" not in details
    assert any(record.levelno == logging.CRITICAL for record in caplog.records)
    dialog.close()
    assert reporter.dialogs == []
