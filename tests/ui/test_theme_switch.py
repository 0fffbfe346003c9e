"""Switching the theme while the app runs repaints the chat view in the new colours."""

from desktop_llm.ui.appearance import apply_theme
from desktop_llm.ui.chat_view import ChatView
from desktop_llm.ui.message_chrome import MessageView
from desktop_llm.ui.theme import palette_for


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
