"""The Templates page on a real database: live validation, variables, versions, diff, restore, default."""

from __future__ import annotations

import pytest
from fakes.signal_wait import answer_message_box
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCharFormat
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QSplitter
from template_rig import TemplateRig, template_rig

from desktop_llm.core.builtin_templates import load_builtin_templates
from desktop_llm.core.prompt_templates import PromptTemplate, VariableSpec
from desktop_llm.ui.templates.template_editor import PartEdit, TemplateEditor
from desktop_llm.ui.templates.template_list import BUILTIN_MARK
from desktop_llm.ui.templates.templates_panel import TemplatesPanel
from desktop_llm.ui.templates.version_history import DEFAULT_MARK

pytestmark = pytest.mark.ui


def open_page(rig: TemplateRig, qtbot) -> tuple[QSplitter, TemplatesPanel]:
    panel = TemplatesPanel(rig.templates, rig.tasks)
    window = QSplitter()
    window.addWidget(panel.list_pane)
    window.addWidget(panel)
    window.setSizes([280, 1000])
    window.resize(1280, 800)
    qtbot.addWidget(window)
    window.show()
    return window, panel


def underlined(edit: PartEdit, position: int) -> bool:
    """Return whether the highlighter draws the character at ``position`` with a wavy underline."""
    block = edit.document().findBlock(position)
    offset = position - block.position()
    return any(
        r.start <= offset < r.start + r.length
        and r.format.underlineStyle() == QTextCharFormat.UnderlineStyle.WaveUnderline
        for r in block.layout().formats()
    )


def type_into(edit: PartEdit, text: str) -> None:
    edit.setFocus()
    edit.moveCursor(edit.textCursor().MoveOperation.End)
    QTest.keyClicks(edit, text)


async def test_the_editor_validates_as_you_type_and_underlines_the_offending_brace(qtbot) -> None:
    editor = TemplateEditor()
    qtbot.addWidget(editor)
    editor.load(PromptTemplate(name="Greeting", user="Hello"))
    assert editor.problems() == []
    assert editor.status.text() == "✓ Ready to use"

    type_into(editor.user, " {name")  # the "{" is at offset 6

    [problem] = editor.problems()
    assert (problem.part, problem.position) == ("user", 6)
    assert editor.problem_list.count() == 1
    shown = editor.problem_list.item(0).text()
    assert shown.startswith("User part: ") and "position 6" in shown and "never closed" in shown
    assert editor.user.highlighter.error_positions == {6}
    assert underlined(editor.user, 6) and not underlined(editor.user, 0)
    assert editor.status.text() == "1 problem to fix:"

    editor.on_problem_activated(editor.problem_list.item(0))
    assert editor.user.textCursor().selectionStart() == 6

    type_into(editor.user, "}")

    assert editor.problems() == []
    assert not editor.problem_list.isVisibleTo(editor)
    assert editor.user.highlighter.error_positions == frozenset()
    assert not underlined(editor.user, 6)


async def test_errors_in_the_system_part_and_the_name_are_listed_with_their_part(qtbot) -> None:
    editor = TemplateEditor()
    qtbot.addWidget(editor)
    editor.load(PromptTemplate(name="x", system="Be {a.b}", user="{x}"))

    parts = [(p.part, p.position) for p in editor.problems()]
    assert parts == [("system", 3)]
    assert underlined(editor.system, 3)

    editor.name.clear()
    QTest.keyClicks(editor.name, " ")
    assert ("name", None) in [(p.part, p.position) for p in editor.problems()]
    assert editor.problem_list.item(0).text().startswith("Name: ")


async def test_the_variables_panel_follows_the_body_and_remembers_metadata(qtbot) -> None:
    editor = TemplateEditor()
    qtbot.addWidget(editor)
    editor.show()
    editor.load(
        PromptTemplate(
            name="Rewrite",
            user="Rewrite {text}",
            specs=(VariableSpec("text", description="The text", multi_line=True),),
        )
    )
    panel = editor.variables
    assert panel.variables() == ("text",)

    type_into(editor.user, " in a {tone} tone")
    assert panel.variables() == ("text", "tone")
    panel.select("tone")
    QTest.keyClicks(panel.choices, "polite")
    QTest.keyClick(panel.choices, Qt.Key.Key_Return)
    QTest.keyClicks(panel.choices, "blunt")
    panel.has_default.setChecked(True)
    QTest.keyClicks(panel.default_line, "polite")

    assert editor.template().spec("tone") == VariableSpec(
        "tone", default="polite", choices=("polite", "blunt")
    )
    assert "one of 2" in panel.list.item(1).text()

    # Break the part: the list stays as it was while the body cannot be read.
    type_into(editor.user, " {")
    assert panel.variables() == ("text", "tone")
    editor.user.setPlainText("Rewrite {text}")
    assert panel.variables() == ("text",)
    assert [s.name for s in editor.template().specs] == ["text"]
    editor.user.setPlainText("Rewrite {text} as {tone}")
    assert editor.template().spec("tone").choices == ("polite", "blunt")  # remembered

    panel.select("tone")
    panel.has_default.setChecked(True)
    panel.default_line.clear()
    QTest.keyClicks(panel.default_line, "sarcastic")
    assert any("not one of its choices" in p.message for p in editor.problems())
    panel.allow_other.setChecked(True)
    assert editor.problems() == []


async def test_builtins_are_seeded_marked_and_searchable(qtbot, tmp_path) -> None:
    async with template_rig(tmp_path) as rig:
        _window, panel = open_page(rig, qtbot)
        await panel.start()
        await rig.settle()

        shipped = load_builtin_templates()
        model = panel.list_pane.model
        assert sorted(model.names()) == sorted(t.name for t in shipped.values())
        assert all(model.summary(row).builtin for row in range(model.rowCount()))
        assert panel.builtin_badge.isVisible()
        assert panel.loaded is not None and panel.editor.template() == panel.loaded.template()

        QTest.keyClicks(panel.list_pane.search_box, "commit")
        assert model.names() == [shipped["commit_message"].name]
        panel.list_pane.search_box.clear()

        panel.open_template(model.summary(model.row_of(panel.loaded.id) + 1).id)
        await rig.settle()
        assert panel.version_label.text() == "Editing v1 (default)"
        assert BUILTIN_MARK == "built-in"


async def test_save_a_version_see_the_diff_restore_and_mark_the_default(qtbot, tmp_path) -> None:
    async with template_rig(tmp_path) as rig:
        _window, panel = open_page(rig, qtbot)
        await panel.start()
        await rig.settle()
        translate = next(
            s for s in await rig.templates.list() if s.name == load_builtin_templates()["translate"].name
        )
        panel.open_template(translate.id)
        await rig.settle()
        original_user = panel.editor.user.toPlainText()
        assert not panel.save_button.isEnabled()

        type_into(panel.editor.user, "")
        QTest.keyClick(panel.editor.user, Qt.Key.Key_Return)
        QTest.keyClicks(panel.editor.user, "Keep the formatting.")
        assert panel.save_button.isEnabled()
        assert panel.status.text() == "Unsaved changes"
        QTest.keyClicks(panel.note, "keep formatting")
        QTest.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
        await rig.settle()

        loaded = await rig.templates.load(translate.id)
        assert [(v.number, v.note) for v in loaded.versions] == [
            (1, "Shipped with Desktop LLM"),
            (2, "keep formatting"),
        ]
        assert panel.status.text() == "Saved as version 2"
        assert not panel.save_button.isEnabled()
        assert panel.version_label.text() == "Editing v2 · default v1"

        history = panel.history
        assert history.list.count() == 2 and history.selected() == 2
        changed = history.diff.changed_rows()
        assert [(r.kind, r.old, r.new) for r in changed] == [("added", None, "Keep the formatting.")]
        assert "Keep the formatting." in history.diff.toPlainText()
        panel.tabs.setCurrentWidget(history)
        history.compare(2, 1)
        assert [(r.kind, r.old) for r in history.diff.changed_rows()] == [("removed", "Keep the formatting.")]

        history.select(1)
        QTest.mouseClick(history.restore_button, Qt.MouseButton.LeftButton)
        await rig.settle()
        loaded = await rig.templates.load(translate.id)
        assert [v.note for v in loaded.versions][-1] == "Restored version 1"
        assert loaded.latest.body == loaded.version(1).body
        assert panel.editor.user.toPlainText() == original_user
        assert history.selected() == 3

        history.select(2)
        QTest.mouseClick(history.default_button, Qt.MouseButton.LeftButton)
        await rig.settle()
        assert (await rig.templates.load(translate.id)).record.default_version == 2
        labels = [history.list.item(row).text() for row in range(history.list.count())]
        assert [DEFAULT_MARK in label for label in labels] == [False, True, False]  # newest first
        assert labels[1].startswith("v2")
        assert panel.version_label.text() == "Editing v3 · default v2"
        assert panel.status.text() == "Version 2 is now the default"
        type_into(panel.editor.user, "!")
        assert panel.status.text() == "Unsaved changes"  # the notice gives way to the edit


async def test_unsaved_edits_survive_switching_templates(qtbot, tmp_path) -> None:
    async with template_rig(tmp_path) as rig:
        _window, panel = open_page(rig, qtbot)
        await panel.start()
        await rig.settle()
        first = panel.loaded
        assert first is not None
        type_into(panel.editor.user, " EDITED")

        other = next(s for s in await rig.templates.list() if s.id != first.id)
        panel.open_template(other.id)
        await rig.settle()
        assert "EDITED" not in panel.editor.user.toPlainText()

        panel.open_template(first.id)
        await rig.settle()
        assert panel.editor.user.toPlainText().endswith(" EDITED")
        assert panel.status.text() == "Unsaved changes kept from before."
        assert panel.save_button.isEnabled()


async def test_a_new_template_is_created_on_save(qtbot, tmp_path) -> None:
    async with template_rig(tmp_path) as rig:
        _window, panel = open_page(rig, qtbot)
        await panel.start()
        await rig.settle()

        QTest.mouseClick(panel.list_pane.new_button, Qt.MouseButton.LeftButton)
        assert panel.loaded is None and not panel.save_button.isEnabled()  # the user part is empty
        panel.editor.name.setText("")
        QTest.keyClicks(panel.editor.name, "Haiku")
        type_into(panel.editor.user, "Write a haiku about {topic}.")
        QTest.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
        await rig.settle()

        assert panel.loaded is not None and panel.loaded.record.name == "Haiku"
        assert not panel.loaded.builtin and not panel.builtin_badge.isVisible()
        assert panel.list_pane.current_id() == panel.loaded.id


async def test_the_preview_renders_sample_values(qtbot, tmp_path) -> None:
    async with template_rig(tmp_path) as rig:
        _window, panel = open_page(rig, qtbot)
        panel.editor.load(
            PromptTemplate(
                name="T",
                system="Be {mood}.",
                user="Say {what}",
                specs=(VariableSpec("mood", default="calm", trusted=True),),
            )
        )
        panel.on_editor_changed()
        panel.tabs.setCurrentIndex(1)
        assert "Fill in what" in panel.preview.toPlainText()

        QTest.keyClicks(panel.sample_form.fields["what"], "hi")

        assert panel.preview.prompt is not None
        assert (panel.preview.prompt.system, panel.preview.prompt.user) == ("Be calm.", "Say hi")
        type_into(panel.editor.user, "!")  # same variables: the form keeps its values
        assert panel.preview.prompt.user == "Say hi!"


async def test_deleting_a_template_asks_first(qtbot, tmp_path) -> None:
    async with template_rig(tmp_path) as rig:
        _window, panel = open_page(rig, qtbot)
        await panel.start()
        await rig.settle()
        doomed = panel.loaded
        assert doomed is not None
        count = panel.list_pane.model.rowCount()

        panel.delete_template(doomed.id)
        text = await answer_message_box(panel, "Cancel")
        assert doomed.record.name in text
        await rig.settle()
        assert panel.list_pane.model.rowCount() == count

        panel.delete_template(doomed.id)
        await answer_message_box(panel, "Delete")
        await rig.settle()
        assert panel.list_pane.model.rowCount() == count - 1
        assert doomed.id not in [s.id for s in await rig.templates.list()]
        assert panel.loaded is None and panel.version_label.text() == "Not saved yet"


async def test_a_variable_can_be_marked_trusted_for_the_system_part(qtbot) -> None:
    editor = TemplateEditor()
    qtbot.addWidget(editor)
    editor.show()
    editor.load(PromptTemplate(name="Persona", system="You are {role}.", user="{question}"))
    panel = editor.variables
    panel.select("role")
    assert not panel.trusted.isChecked()
    values = {"role": "a pirate", "question": "hi"}
    assert "a pirate" not in editor.template().render(values).system  # sent as data by default

    QTest.mouseClick(panel.trusted, Qt.MouseButton.LeftButton)

    assert editor.template().spec("role").trusted
    assert "trusted" in panel.list.item(0).text()
    assert editor.template().render(values).system == "You are a pirate."
