"""Markdown as the chat view shows it: highlighted code with copy links, tables, lists, and safety."""

from __future__ import annotations

import urllib.request

import pytest
from chatview_support import anchor_hrefs, click_anchor, recording_server, shown_view
from pygments.styles import get_style_by_name
from pygments.token import Token
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QFont, QTextCursor, QTextDocument, QTextListFormat
from PySide6.QtWidgets import QApplication

from desktop_llm.core.markdown import MarkdownRenderer, is_safe_link
from desktop_llm.core.markdown_stream import OpenFence, finished_prefix_length, split_tail
from desktop_llm.core.theme import DARK, LIGHT, Palette, contrast_ratio
from desktop_llm.ui.chat.chat_view import ChatView, MessageView

CODE = 'def greet(name):\n    """Say hello."""\n\n    return f"hi {name}"  '


def reply(content: str, message_id: str = "a1") -> MessageView:
    return MessageView(id=message_id, role="assistant", content=content)


def cursor_on(view: ChatView, text: str) -> QTextCursor:
    """Return a cursor selecting the first occurrence of ``text`` in the view."""
    cursor = view.browser.document().find(text)
    assert not cursor.isNull(), f"{text!r} is not shown"
    return cursor


def web_links(view: ChatView) -> list[str]:
    return [href for href in anchor_hrefs(view) if not href.startswith(("action:", "copy-code:"))]


def test_fenced_code_is_highlighted_in_the_theme_colours(qtbot, highlight_pool) -> None:
    view = shown_view(qtbot, renderer=MarkdownRenderer(highlighter=highlight_pool))
    view.set_messages([reply(f"Look:\n\n```python\n{CODE}\n```\n")])

    def keyword_colour(style: str) -> str:
        return "#" + get_style_by_name(style).style_for_token(Token.Keyword)["color"].lower()

    # Highlighting arrives from the worker process, after the code was shown plain.
    def keyword_shown(style: str) -> bool:
        return cursor_on(view, "def").charFormat().foreground().color().name() == keyword_colour(style)

    qtbot.waitUntil(lambda: keyword_shown("xcode"))
    table = cursor_on(view, "greet").currentTable()
    assert table is not None and table.format().background().color().name() == LIGHT.code_background

    view.set_theme(dark=True)
    qtbot.waitUntil(lambda: keyword_shown("github-dark"))
    table = cursor_on(view, "greet").currentTable()
    assert table is not None and table.format().background().color().name() == DARK.code_background


def test_copy_link_puts_exactly_the_code_on_the_clipboard(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages([reply(f"```\nfirst block\n```\n\nThen:\n\n```python\n{CODE}\n```\n")])
    assert "copy-code:a1:0" in anchor_hrefs(view) and "copy-code:a1:1" in anchor_hrefs(view)

    click_anchor(qtbot, view, "copy-code:a1:1")
    qtbot.waitUntil(lambda: QApplication.clipboard().text() == CODE)
    click_anchor(qtbot, view, "copy-code:a1:0")
    qtbot.waitUntil(lambda: QApplication.clipboard().text() == "first block")


def test_tables_keep_their_rows_columns_and_alignment(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages([reply("| Name | Score |\n|:-----|------:|\n| Ada | 10 |\n| Bob | 7 |\n")])
    table = cursor_on(view, "Score").currentTable()
    assert table is not None
    assert (table.rows(), table.columns()) == (3, 2)
    cell = table.cellAt(1, 1)
    assert cell.firstCursorPosition().block().text() == "10"
    assert cell.firstCursorPosition().blockFormat().alignment() & Qt.AlignmentFlag.AlignRight


def test_lists_quotes_and_headings_keep_their_structure(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages(
        [reply("## Steps\n\n- apples\n  - green\n- pears\n\n3. third\n4. fourth\n\n> wise words\n")]
    )
    apples = cursor_on(view, "apples").block()
    assert apples.textList().format().style() == QTextListFormat.Style.ListDisc
    green = cursor_on(view, "green").block()
    assert green.textList().format().indent() > apples.textList().format().indent()
    third = cursor_on(view, "third").block()
    assert third.textList().itemText(third) == "3."

    quote = cursor_on(view, "wise words")
    assert quote.blockFormat().leftMargin() > 0
    assert quote.charFormat().foreground().color().name() == LIGHT.muted

    heading = cursor_on(view, "Steps")
    assert heading.charFormat().fontWeight() >= QFont.Weight.Bold.value
    assert heading.block().blockFormat().headingLevel() > 0


def test_only_web_and_mail_links_are_clickable(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages(
        [
            reply(
                "[site](https://example.com/a) <someone@example.com> [plain](http://example.org)\n\n"
                "[js](javascript:alert(1)) [disk](file:///etc/passwd) [here](/etc/passwd)"
                " [data](data:text/html,hi)"
            )
        ]
    )
    assert web_links(view) == ["https://example.com/a", "mailto:someone@example.com", "http://example.org"]
    text = view.browser.document().toPlainText()
    assert "[js](javascript:alert(1))" in text
    assert "[disk](file:///etc/passwd)" in text


@pytest.mark.parametrize(
    ("address", "safe"),
    [
        ("https://example.com", True),
        ("HTTP://EXAMPLE.COM", True),
        ("mailto:a@b.c", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("file:///etc/passwd", False),
        ("data:text/html,hi", False),
        ("/relative/path", False),
        ("//example.com/scheme-relative", False),
        ("http://[::1", False),
    ],
)
def test_is_safe_link(address: str, safe: bool) -> None:
    assert is_safe_link(address) is safe


def test_raw_html_is_shown_as_text(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages([reply("<script>alert(1)</script>\n\nSome <b>bold?</b> text &amp; <i>more</i>")])
    text = view.browser.document().toPlainText()
    assert "<script>alert(1)</script>" in text
    assert "Some <b>bold?</b> text & <i>more</i>" in text
    assert cursor_on(view, "bold?").charFormat().fontWeight() < QFont.Weight.Bold.value


def test_a_remote_image_is_never_fetched(qtbot, tmp_path) -> None:
    with recording_server() as server:
        port = server.server_address[1]
        image = f"http://127.0.0.1:{port}/chart.png"
        view = shown_view(qtbot)
        view.set_messages(
            [reply(f'![a sales chart]({image})\n\n<img src="http://127.0.0.1:{port}/raw.png">')]
        )
        # Also HTML put straight into the widget: its resource loading is refused too.
        other = shown_view(qtbot)
        other.browser.setHtml(f'<p>x</p><img src="http://127.0.0.1:{port}/direct.png">')
        qtbot.wait(300)

        assert server.requests == []
        text = view.browser.document().toPlainText()
        assert "a sales chart" in text and image in text
        assert image in web_links(view)
        # The server does record requests: the empty list above is not a deaf server.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/probe", timeout=5) as response:
            response.read()
        assert server.requests == ["/probe"]

    local = tmp_path / "secret.txt"
    local.write_text("secret")
    image_kind = QTextDocument.ResourceType.ImageResource.value
    assert view.browser.loadResource(image_kind, QUrl(image)) is None
    assert view.browser.loadResource(image_kind, QUrl.fromLocalFile(str(local))) is None


def test_clicking_a_link_opens_it_through_the_injected_opener(qtbot) -> None:
    opened: list[QUrl] = []
    view = shown_view(qtbot, open_url=opened.append)
    view.set_messages([reply("Read [the docs](https://example.com/docs?a=1) first.")])
    with qtbot.waitSignal(view.link_activated) as signal:
        click_anchor(qtbot, view, "https://example.com/docs?a=1")
    assert signal.args == [QUrl("https://example.com/docs?a=1")]
    assert opened == [QUrl("https://example.com/docs?a=1")]


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=["light", "dark"])
def test_every_text_colour_is_readable_on_its_background(palette: Palette) -> None:
    pairs = {
        "text": (palette.text, palette.background, 7.0),
        "muted": (palette.muted, palette.background, 4.5),
        "link": (palette.link, palette.background, 4.5),
        "error": (palette.error, palette.background, 4.5),
        "user text": (palette.text, palette.user_background, 4.5),
        "user link": (palette.link, palette.user_background, 4.5),
        "user muted": (palette.muted, palette.user_background, 4.5),
        "code text": (palette.text, palette.code_background, 4.5),
        "code label": (palette.muted, palette.code_header_background, 4.5),
        "copy link": (palette.link, palette.code_header_background, 4.5),
        "inline code": (palette.text, palette.inline_code_background, 4.5),
        "table header": (palette.text, palette.table_header_background, 4.5),
        "find match": (palette.text, palette.find_highlight, 4.5),
    }
    low = {name: round(contrast_ratio(fg, bg), 2) for name, (fg, bg, need) in pairs.items()}
    assert all(low[name] >= need for name, (_, _, need) in pairs.items()), low


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=["light", "dark"])
def test_highlighted_code_is_readable_on_the_code_background(palette: Palette) -> None:
    style = get_style_by_name(palette.pygments_style)
    too_faint = {
        str(token): definition["color"]
        for token, definition in style
        if definition["color"]
        and token not in Token.Text.Whitespace
        and contrast_ratio(definition["color"], palette.code_background) < 4.5
    }
    assert too_faint == {}


def test_whole_messages_are_cached_by_id_content_and_theme() -> None:
    renderer = MarkdownRenderer()
    first = renderer.render_message("m1", "*hi*", LIGHT, markdown=True)
    assert renderer.render_message("m1", "*hi*", LIGHT, markdown=True) is first
    assert renderer.render_message("m1", "*hi*", DARK, markdown=True) is not first
    assert renderer.render_message("m1", "*hey*", LIGHT, markdown=True) is not first
    assert "<em>" not in renderer.render_message("m2", "*hi*", LIGHT, markdown=False).html


@pytest.mark.parametrize(
    ("text", "finished"),
    [
        ("one paragraph", ""),
        ("first\n\nsecond", "first\n\n"),
        ("first\r\n\r\nsecond", "first\r\n\r\n"),
        ("# Title\nbody", "# Title\n"),
        ("```\nopen fence\n\nstill code", ""),
        ("```\ncode\n```\nafter", "```\ncode\n```\n"),
        ("- a\n- b\n\n  continued item", ""),
        ("- a\n\nnot a list", "- a\n\n"),
        ("Title\n=====", ""),
        ("| a | b |\n|---|---|\n| 1 | 2 |\n\nnext", "| a | b |\n|---|---|\n| 1 | 2 |\n\n"),
    ],
)
def test_only_blocks_followed_by_another_top_level_block_are_finished(text: str, finished: str) -> None:
    parser = MarkdownRenderer().parser
    assert text[: finished_prefix_length(parser, text)] == finished


@pytest.mark.parametrize(
    ("text", "fence"),
    [
        ("```py\ncode", OpenFence(6, "py")),
        ("```py", None),  # the opening line is still being written
        ("```py\ncode\n```", None),
        ("```py\ncode\n  ```  \nmore", None),
        ("~~~\nx\n```\n", OpenFence(4, "")),  # a different fence character does not close it
        ("````\nx\n```\n", OpenFence(5, "")),  # nor does a shorter one
        ("text\n\n```js title\nx", OpenFence(18, "js")),
        ("- item\n", None),
    ],
)
def test_an_open_code_fence_at_the_end_is_recognised(text: str, fence: OpenFence | None) -> None:
    assert split_tail(MarkdownRenderer().parser, text).open_fence == fence
