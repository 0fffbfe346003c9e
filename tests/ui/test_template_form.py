"""The fill-in form: a field per variable, defaults filled, live preview, the prompt handed on."""

from __future__ import annotations

import pytest
from fakes.signal_wait import SignalWaiter
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox, QLineEdit, QPlainTextEdit

from desktop_llm.core.prompt_templates import (
    PromptTemplate,
    PromptTemplateError,
    RenderedPrompt,
    VariableSpec,
)
from desktop_llm.ui.templates.template_form import TemplateForm, TemplateFormDialog

pytestmark = pytest.mark.ui

REPLY = PromptTemplate(
    name="Reply to an email",
    description="Draft a reply.",
    system="You write emails in a {tone} tone.",
    user="Reply to this email:\n{email}\nSay: {points}",
    specs=(
        VariableSpec("email", description="The email you got", multi_line=True),
        VariableSpec("tone", default="friendly", choices=("friendly", "formal", "brief")),
        VariableSpec("points", default="thanks"),
    ),
)


def test_the_form_has_the_right_field_for_each_variable(qtbot) -> None:
    form = TemplateForm(REPLY)
    qtbot.addWidget(form)

    assert list(form.fields) == ["email", "tone", "points"]  # described variables in the author's order
    assert isinstance(form.fields["email"], QPlainTextEdit)
    tone = form.fields["tone"]
    assert isinstance(tone, QComboBox) and not tone.isEditable()
    assert [tone.itemText(i) for i in range(tone.count())] == ["friendly", "formal", "brief"]
    assert tone.currentText() == "friendly"  # the default
    assert isinstance(form.fields["points"], QLineEdit) and form.fields["points"].text() == "thanks"
    assert form.missing() == ["email"]
    with pytest.raises(PromptTemplateError, match="email"):
        form.rendered_prompt()

    form.set_value("email", "Can we meet on Friday?")
    form.set_value("tone", "formal")

    assert form.rendered_prompt() == RenderedPrompt(
        system="You write emails in a formal tone.",
        user="Reply to this email:\nCan we meet on Friday?\nSay: thanks",
    )


def test_choices_that_allow_other_values_are_editable(qtbot) -> None:
    template = PromptTemplate(
        name="t",
        user="{lang}",
        specs=(VariableSpec("lang", default="French", choices=("French",), allow_other=True),),
    )
    form = TemplateForm(template)
    qtbot.addWidget(form)
    field = form.fields["lang"]
    assert isinstance(field, QComboBox) and field.isEditable()
    form.set_value("lang", "Basque")
    assert form.rendered_prompt().user == "Basque"


def test_a_template_without_variables_says_so(qtbot) -> None:
    form = TemplateForm(PromptTemplate(name="t", user="Tell me a joke."))
    qtbot.addWidget(form)
    assert form.fields == {}
    assert form.rendered_prompt().user == "Tell me a joke."


async def test_the_dialog_previews_live_and_hands_on_the_prompt(qtbot) -> None:
    dialog = TemplateFormDialog(REPLY)
    qtbot.addWidget(dialog)
    dialog.show()
    chosen = SignalWaiter(dialog.prompt_chosen)

    assert not dialog.insert_button.isEnabled() and not dialog.new_chat_button.isEnabled()
    assert "Fill in email" in dialog.preview.toPlainText()
    assert dialog.new_chat_button.isDefault()  # the template has a system part

    QTest.keyClicks(dialog.form.fields["email"], "Lunch tomorrow?")

    assert dialog.insert_button.isEnabled()
    preview = dialog.preview.toPlainText()
    assert "You write emails in a friendly tone." in preview and "Lunch tomorrow?" in preview

    QTest.mouseClick(dialog.new_chat_button, Qt.MouseButton.LeftButton)
    prompt, new_chat = await chosen.wait()
    assert new_chat is True
    assert prompt == RenderedPrompt(
        "You write emails in a friendly tone.", "Reply to this email:\nLunch tomorrow?\nSay: thanks"
    )
    assert not dialog.isVisible()


async def test_values_given_to_the_dialog_fill_the_form(qtbot) -> None:
    simple = PromptTemplate(name="t", user="Define {word}.")
    dialog = TemplateFormDialog(simple, values={"word": "serendipity", "unrelated": "x"})
    qtbot.addWidget(dialog)
    chosen = SignalWaiter(dialog.prompt_chosen)

    assert dialog.insert_button.isDefault()  # no system part: into the message box by default
    QTest.mouseClick(dialog.insert_button, Qt.MouseButton.LeftButton)

    assert await chosen.wait() == (RenderedPrompt("", "Define serendipity."), False)
