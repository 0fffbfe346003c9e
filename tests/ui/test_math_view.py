"""Math in the chat view: drawn off the Qt thread, copied as LaTeX, prices and code left alone."""

from __future__ import annotations

from chatview_support import shown_view
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QColor, QFontInfo, QImage, QPalette, QTextDocument

from desktop_llm.core.markdown import MarkdownRenderer
from desktop_llm.core.math_svg import parse_formula_name
from desktop_llm.core.theme import DARK, LIGHT, Palette
from desktop_llm.services.compare import SideOutcome
from desktop_llm.ui.chat.chat_view import ChatView, MessageView
from desktop_llm.ui.common.math_images import MathImages, source_image
from desktop_llm.ui.templates.compare_view import ComparePane

IMAGE = QTextDocument.ResourceType.ImageResource.value
REPLY = (
    "Solve $x^2 = 4$ for $5 and $10 each; `$y$` is code.\n\n"
    "$$\\int_0^1 x\\,dx = \\frac{1}{2}$$\n\nBroken: \\(\\frac{a}{\\).\n"
)


def formula_names(view: ChatView | ComparePane) -> list[str]:
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


def drawn(view: ChatView | ComparePane, name: str) -> bool:
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


def formula_blocks(view: ChatView | ComparePane) -> list[tuple[str, bool, str]]:
    """Return (LaTeX, centred, the block's other text) for each formula in the view, in order."""
    found, block = [], view.browser.document().begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fmt = iterator.fragment().charFormat()
            formula = parse_formula_name(fmt.toImageFormat().name()) if fmt.isImageFormat() else None
            if formula is not None:
                centred = bool(block.blockFormat().alignment() & Qt.AlignmentFlag.AlignHCenter)
                found.append((formula[0], centred, block.text().replace("\ufffc", "").strip()))
            iterator += 1
        block = block.next()
    return found


def test_display_math_is_a_centred_block_of_its_own(qtbot) -> None:
    view = shown_view(qtbot)
    reply = "Since\n$$a^2 + b^2 = c^2$$\nholds, $c$ is\n\\[c = \\sqrt{a^2+b^2}\\]"
    view.set_messages([MessageView("a1", "assistant", reply)])
    assert formula_blocks(view) == [
        ("a^2 + b^2 = c^2", True, ""),
        ("c", False, "holds,  is"),
        ("c = \\sqrt{a^2+b^2}", True, ""),
    ]
    assert view.message_text("a1") == "Since\n$$a^2 + b^2 = c^2$$\nholds, $c$ is\n$$c = \\sqrt{a^2+b^2}$$"


def test_a_font_size_change_draws_the_shown_formulas_again_at_the_new_size(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_font_size(10)
    view.set_messages([MessageView("a1", "assistant", "Area $\\pi r^2$.\n\n$$\\sum_{i=1}^n i$$")])
    small = formula_names(view)
    qtbot.waitUntil(lambda: all(drawn(view, name) for name in small), timeout=20_000)

    view.set_font_size(20)
    large = formula_names(view)
    assert [parse_formula_name(n)[0] for n in large] == ["\\pi r^2", "\\sum_{i=1}^n i"]
    assert [parse_formula_name(n)[3] for n in large] == [QFontInfo(view.browser.font()).pixelSize()] * 2
    qtbot.waitUntil(lambda: all(drawn(view, name) for name in large), timeout=20_000)
    document = view.browser.document()
    for before, after in zip(small, large, strict=True):
        height = document.resource(IMAGE, QUrl(before)).height()
        assert document.resource(IMAGE, QUrl(after)).height() > 1.5 * height


def ink(image: QImage) -> str:
    """Return the colour of the most opaque pixel of a drawn formula."""
    best, colour = -1, ""
    for y in range(image.height()):
        for x in range(image.width()):
            pixel = image.pixelColor(x, y)
            if pixel.alpha() > best:
                best, colour = pixel.alpha(), pixel.name()
    return colour


def test_formulas_are_drawn_in_the_text_colour_of_each_theme(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages([MessageView("a1", "assistant", "$$x = \\frac{-b}{2a}$$")])
    for palette, dark in ((LIGHT, False), (DARK, True), (LIGHT, False)):
        view.set_theme(dark=dark)
        [name] = formula_names(view)
        qtbot.waitUntil(lambda name=name: drawn(view, name), timeout=20_000)
        image = view.browser.document().resource(IMAGE, QUrl(name))
        assert ink(image.convertToFormat(QImage.Format.Format_ARGB32)) == palette.text


def test_the_math_library_loads_as_soon_as_a_streamed_reply_may_open_a_formula(qtbot) -> None:
    view = shown_view(qtbot)
    math = view.findChild(MathImages)
    view.start_streaming("a1")
    view.append_stream_text("a1", "Plain prose, ")
    view.refresh_streams()
    assert not math.warmed  # never for replies without math: it costs memory
    view.append_stream_text("a1", "then the area: \\")
    assert math.warmed  # before the formula is even closed
    view.append_stream_text("a1", "(\\pi r^2\\).")
    view.refresh_streams()
    [name] = formula_names(view)
    qtbot.waitUntil(lambda: drawn(view, name), timeout=20_000)


def test_a_compare_pane_shows_the_formulas_as_the_chat_does_from_the_same_cache(qtbot) -> None:
    math = MathImages()
    chat = shown_view(qtbot, math=math)
    chat.set_messages([MessageView("a1", "assistant", REPLY)])
    names = formula_names(chat)
    qtbot.waitUntil(lambda: drawn(chat, names[0]) and drawn(chat, names[1]), timeout=20_000)
    drawings: list[str] = []
    math.drawn.connect(drawings.append)

    pane = ComparePane("A", MarkdownRenderer(), math=math)
    qtbot.addWidget(pane)
    pane.resize(500, 400)
    pane.show()
    qtbot.waitExposed(pane)
    pane.finish(SideOutcome("complete", text=REPLY))
    assert formula_names(pane) == names  # the same size and colour as the chat's: one drawing each
    assert drawn(pane, names[0]) and drawn(pane, names[1]) and not drawn(pane, names[2])
    assert [(latex, centred) for latex, centred, _rest in formula_blocks(pane)] == [
        ("x^2 = 4", False),
        ("\\int_0^1 x\\,dx = \\frac{1}{2}", True),
        ("\\frac{a}{", False),
    ]
    qtbot.wait(100)
    assert drawings == []  # nothing was drawn again

    pane.browser.selectAll()
    copied = pane.browser.createMimeDataFromSelection().text()
    assert copied.splitlines() == [
        "Solve $x^2 = 4$ for $5 and $10 each; $y$ is code.",
        "$$\\int_0^1 x\\,dx = \\frac{1}{2}$$",
        "Broken: $\\frac{a}{$.",
    ]


def test_a_compare_pane_draws_its_formulas_again_in_the_new_theme(qtbot) -> None:
    pane = ComparePane("A", MarkdownRenderer())
    qtbot.addWidget(pane)
    pane.setPalette(palette_of(LIGHT))
    pane.finish(SideOutcome("complete", text="Euler: $e^{i\\pi} + 1 = 0$"))
    assert [parse_formula_name(n)[2] for n in formula_names(pane)] == [LIGHT.text]

    pane.setPalette(palette_of(DARK))
    [name] = formula_names(pane)
    assert parse_formula_name(name)[2] == DARK.text
    qtbot.waitUntil(lambda: drawn(pane, name), timeout=20_000)
    image = pane.browser.document().resource(IMAGE, QUrl(name))
    drawn_in, text = QColor(ink(image.convertToFormat(QImage.Format.Format_ARGB32))), QColor(DARK.text)
    # Premultiplied alpha may round a channel by one.
    assert all(abs(a - b) <= 1 for a, b in zip(drawn_in.getRgb(), text.getRgb(), strict=True))


def palette_of(theme: Palette) -> QPalette:
    """Return a widget palette with ``theme``'s text and background."""
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Base, QColor(theme.background))
    palette.setColor(QPalette.ColorRole.Text, QColor(theme.text))
    return palette


def test_copying_part_of_a_reply_gives_the_latex_of_the_formulas_in_it(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages([MessageView("a1", "assistant", REPLY)])
    document = view.browser.document()
    start = document.find("Solve").selectionStart()
    end = document.find(" for").selectionEnd()
    cursor = view.browser.textCursor()
    cursor.setPosition(start)
    cursor.setPosition(end, cursor.MoveMode.KeepAnchor)
    view.browser.setTextCursor(cursor)
    assert view.browser.createMimeDataFromSelection().text() == "Solve $x^2 = 4$ for"


def test_a_question_or_reasoning_with_math_loads_the_library_before_the_reply_shows_any(qtbot) -> None:
    for question, reasoning in (("What is $\\int_0^1 x\\,dx$?", ""), ("The integral of x?", "Integrate $x$")):
        math = MathImages()
        view = shown_view(qtbot, math=math)
        view.set_messages([MessageView("u1", "user", question)])  # shown as typed: no formula drawn
        view.start_streaming("a1")
        assert math.warmed is bool(not reasoning)
        view.append_stream_text("a1", "", reasoning=reasoning)
        assert math.warmed
        math.close()
