"""A streamed code block is appended line by line, coloured while it grows, and never re-rendered whole."""

from __future__ import annotations

import pytest
from chatview_support import click_anchor, shown_view
from PySide6.QtGui import QTextFormat
from PySide6.QtWidgets import QApplication
from test_chat_view import document_signature
from test_stream_identity import stream_reply

from desktop_llm.core.markdown import MarkdownRenderer
from desktop_llm.ui.chat.chat_view import ChatView, MessageView

FUNCTIONS = "".join(
    f"def step_{n}(values: list[int]) -> int:\n    return sum(v * {n} for v in values)  # scale\n\n"
    for n in range(40)
)


def code_colours(view: ChatView) -> list[tuple[str, str]]:
    """Return (text, colour) of every coloured piece of the code lines (blocks with a background)."""
    found = []
    block = view.browser.document().begin()
    while block.isValid():
        if block.blockFormat().hasProperty(QTextFormat.Property.BackgroundBrush):
            iterator = block.begin()
            while not iterator.atEnd():
                fragment = iterator.fragment()
                colour = fragment.charFormat().foreground().color().name()
                if fragment.charFormat().hasProperty(QTextFormat.Property.ForegroundBrush):
                    found.append((fragment.text(), colour))
                iterator += 1
        block = block.next()
    return found


def coloured(view: ChatView, text: str) -> bool:
    cursor = view.browser.document().find(text)
    return not cursor.isNull() and cursor.charFormat().hasProperty(QTextFormat.Property.ForegroundBrush)


def settle(qtbot, view: ChatView) -> None:
    pool = view._renderer.highlighter
    assert pool is not None
    qtbot.waitUntil(lambda: pool.idle() and view._colours.idle(), timeout=20_000)
    qtbot.wait(50)  # the last finished job's signal is queued to this thread
    qtbot.waitUntil(lambda: view._colours.idle())


def test_an_open_code_block_is_coloured_before_its_fence_closes(qtbot, highlight_pool) -> None:
    view = shown_view(qtbot, renderer=MarkdownRenderer(highlighter=highlight_pool))
    view.start_streaming("a1")
    view.append_stream_text("a1", "Here:\n\n```python\n")
    lines = FUNCTIONS.splitlines(keepends=True)
    for line in lines[:60]:
        view.append_stream_text("a1", line)
        view.refresh_streams()
    # The fence is still open, and its first lines already have their colours.
    qtbot.waitUntil(lambda: coloured(view, "step_0"), timeout=20_000)
    assert "a1" in view._streaming
    assert "step_19" in (view.message_text("a1") or "")


def test_closing_the_fence_keeps_the_lines_shown(qtbot, highlight_pool) -> None:
    view = shown_view(qtbot, renderer=MarkdownRenderer(highlighter=highlight_pool))
    view.start_streaming("a1")
    view.append_stream_text("a1", "```python\n")
    for line in FUNCTIONS.splitlines(keepends=True):
        view.append_stream_text("a1", line)
        view.refresh_streams()
    settle(qtbot, view)
    removed: list[int] = []
    view.browser.document().contentsChange.connect(lambda _at, gone, _added: removed.append(gone))
    view.append_stream_text("a1", "```\n\nThat is all.")
    view.refresh_streams()
    # The refresh that closed the fence did not take the block (~3,000 characters) out to put
    # it back rendered whole: only the line being written went.
    assert removed and max(removed) < 100
    assert view.message_text("a1").endswith("That is all.")


@pytest.mark.parametrize(
    "text",
    [
        "```python\nx = 1\n\n```\n\nAfter.",  # ends with an empty line
        "```\n\n```\n",  # only an empty line
        "```\n\n\nlast\n```",  # starts with empty lines
        "Intro\n\n```js\nlet a = 1;\n\n",  # never closed
        "```\n```\n\n~~~\ncode\n~~~~\nafter",  # empty, then a longer closing fence
        "```python\nprint('a')\n```python\nnot closed by that\n```\n",
    ],
)
def test_edge_code_blocks_stream_as_they_reopen(qtbot, text: str) -> None:
    reopened = ChatView()
    qtbot.addWidget(reopened)
    reopened.set_messages([MessageView("a1", "assistant", text)])
    for seed in range(6):
        streamed = stream_reply(qtbot, text, seed)
        assert document_signature(streamed) == document_signature(reopened), seed
        assert streamed.message_text("a1") == reopened.message_text("a1")


def test_streamed_colours_are_the_reopened_colours_and_copy_gives_the_code(qtbot, highlight_pool) -> None:
    code = FUNCTIONS + 'text = """a string\nover two lines"""\n'
    text = f"Code:\n\n```python\n{code}```\n\nDone."
    streamed = shown_view(qtbot, renderer=MarkdownRenderer(highlighter=highlight_pool))
    streamed.start_streaming("a1")
    for line in text.splitlines(keepends=True):
        streamed.append_stream_text("a1", line)
        streamed.refresh_streams()
        qtbot.wait(1)
    streamed.finish_streaming("a1", MessageView("a1", "assistant", text))
    settle(qtbot, streamed)

    reopened = shown_view(qtbot, renderer=MarkdownRenderer(highlighter=highlight_pool))
    reopened.set_messages([MessageView("a1", "assistant", text)])
    settle(qtbot, reopened)
    assert code_colours(streamed) == code_colours(reopened)
    # A string over two lines is coloured as a string on both: the lexer saw the whole block.
    colours = dict(code_colours(streamed))
    assert colours['"""a string'] == colours['over two lines"""'] != colours["def"]

    click_anchor(qtbot, streamed, "copy-code:a1:0")
    qtbot.waitUntil(lambda: QApplication.clipboard().text() == code.removesuffix("\n"))
