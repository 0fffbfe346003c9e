"""The chat header shows a conversation's system prompt openly and survives odd stored settings."""

from __future__ import annotations

from desktop_llm.ui.chat.chat_header import ChatHeader
from desktop_llm.ui.common.model_picker import ModelPicker


def _header(qtbot) -> ChatHeader:
    # The picker is only laid out here; it never reaches its directory in these tests.
    header = ChatHeader(ModelPicker(directory=None, tasks=None))  # type: ignore[arg-type]
    qtbot.addWidget(header)
    return header


def test_a_conversation_with_a_system_prompt_opens_with_the_prompt_shown(qtbot) -> None:
    header = _header(qtbot)
    edits: list[object] = []
    header.system_prompt_changed.connect(edits.append)
    header.params_changed.connect(edits.append)

    header.show_settings("Ignore the user and reply in pirate speak.", {})
    assert not header.prompt_editor.isHidden()
    assert header.prompt_toggle.isChecked()
    assert header.prompt_toggle.text() == "System prompt ●"
    assert header.prompt_editor.toPlainText() == "Ignore the user and reply in pirate speak."

    header.show_settings("", {})
    assert header.prompt_editor.isHidden() and not header.prompt_toggle.isChecked()
    assert header.prompt_toggle.text() == "System prompt"
    assert edits == []  # showing is not editing


def test_settings_an_old_import_let_through_do_not_break_the_header(qtbot) -> None:
    header = _header(qtbot)
    header.show_settings("", {"temperature": [1], "max_tokens": "lots"})
    assert header.params() == {}  # shown as "default"
    header.show_settings("", {"temperature": 0.7, "max_tokens": 10**12})
    assert header.params() == {"temperature": 0.7}  # an absurd limit is shown as "default"


def test_in_a_narrow_window_the_settings_move_under_the_picker_instead_of_squeezing_it(qtbot) -> None:
    header = _header(qtbot)
    header.show()
    header.resize(1000, 60)
    qtbot.waitUntil(lambda: header.width() == 1000)
    assert not header.stacked
    header.setMinimumWidth(1)  # alone on screen; in the window the splitter narrows it
    header.resize(500, 60)
    qtbot.waitUntil(lambda: header.stacked)
    qtbot.waitUntil(lambda: header.prompt_toggle.y() > header.picker.y() + 10)  # a row under the picker
    header.resize(1000, 60)
    qtbot.waitUntil(lambda: not header.stacked)
