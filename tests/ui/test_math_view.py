"""Math in the chat view: drawn off the Qt thread, copied as LaTeX, prices and code left alone."""

from __future__ import annotations

from chatview_support import shown_view
from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument

from desktop_llm.core.math_svg import parse_formula_name
from desktop_llm.core.theme import DARK, LIGHT
from desktop_llm.ui.chat.chat_view import ChatView, MessageView
from desktop_llm.ui.common.math_images import source_image

IMAGE = QTextDocument.ResourceType.ImageResource.value
REPLY = (
    "Solve $x^2 = 4$ for $5 and $10 each; `$y$` is code.\n\n"
    "$$\\int_0^1 x\\,dx = \\frac{1}{2}$$\n\nBroken: \\(\\frac{a}{\\).\n"
)


def formula_names(view: ChatView) -> list[str]:
    names, block = [], view.browser.document().begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fmt = iterator.fragment().charFormat()
            if fmt.isImageFormat():
                names.append(fmt.toImageFormat().name())
            iterator += 1
        block = block.next()
    return names


def drawn(view: ChatView, name: str) -> bool:
    """Return True once the document holds the formula itself, not its source stand-in."""
    image = view.browser.document().resource(IMAGE, QUrl(name))
    formula = parse_formula_name(name)
    assert formula is not None
    return image is not None and image.size() != source_image(*formula, scale=image.devicePixelRatio()).size()


def test_formulas_are_drawn_in_the_text_colour_and_copy_as_latex(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages([MessageView("a1", "assistant", REPLY)])
    names = formula_names(view)
    assert [parse_formula_name(n)[:2] for n in names] == [
        ("x^2 = 4", False),
        ("\\int_0^1 x\\,dx = \\frac{1}{2}", True),
        ("\\frac{a}{", False),
    ]
    assert all(parse_formula_name(n)[2] == LIGHT.text for n in names)
    qtbot.waitUntil(lambda: drawn(view, names[0]) and drawn(view, names[1]), timeout=20_000)
    assert not drawn(view, names[2])  # invalid LaTeX keeps showing its source

    text = view.message_text("a1")
    assert "Solve $x^2 = 4$ for $5 and $10 each; $y$ is code." in text
    assert "$$\\int_0^1 x\\,dx = \\frac{1}{2}$$" in text
    assert "$\\frac{a}{$" in text

    view.set_theme(dark=True)
    assert all(parse_formula_name(n)[2] == DARK.text for n in formula_names(view))
