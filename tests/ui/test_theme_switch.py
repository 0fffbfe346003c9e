"""Switching the theme while the app runs repaints the chat view in the new colours."""

from desktop_llm.core.message_chrome import MessageView
from desktop_llm.core.theme import palette_for
from desktop_llm.ui.chat.chat_view import ChatView
from desktop_llm.ui.common.theme import apply_theme


def background_of(view: ChatView) -> str:
    image = view.grab().toImage()
    return image.pixelColor(image.width() // 2, image.height() - 20).name()


def test_the_chat_view_follows_a_theme_switch_both_ways(qtbot, qapp) -> None:
    apply_theme(qapp, dark=False)
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.set_messages([MessageView(id="1", role="assistant", content="hello")])
    view.show()
    qtbot.waitExposed(view)
    assert background_of(view) == palette_for(False).background.lower()

    apply_theme(qapp, dark=True)
    view.set_theme(True)
    assert background_of(view) == palette_for(True).background.lower()

    apply_theme(qapp, dark=False)
    view.set_theme(False)
    assert background_of(view) == palette_for(False).background.lower()


def _variable_colour(edit) -> str:
    """Return the colour the highlighter gave the first variable in the box, as drawn."""
    ranges = edit.document().firstBlock().layout().formats()
    return next(
        r.format.foreground().color().name() for r in ranges if r.start == edit.toPlainText().index("{")
    )


def test_template_highlighting_follows_the_theme_applied_after_it_and_every_switch(qtbot, qapp) -> None:
    from desktop_llm.ui.templates.template_editor import PartEdit

    apply_theme(qapp, dark=False)
    edit = PartEdit("")  # built before the stored theme is applied, as at start-up
    qtbot.addWidget(edit)
    edit.setPlainText("You are a {role}.")
    edit.show()
    assert _variable_colour(edit) == palette_for(False).link.lower()

    apply_theme(qapp, dark=True)
    qtbot.waitUntil(lambda: _variable_colour(edit) == palette_for(True).link.lower())

    apply_theme(qapp, dark=False)
    qtbot.waitUntil(lambda: _variable_colour(edit) == palette_for(False).link.lower())
