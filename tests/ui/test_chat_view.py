"""The chat view: streaming without stutter, selection and copy, find, actions, scrolling, lazy history."""

from __future__ import annotations

import asyncio
import itertools
import random

from chatview_support import anchor_hrefs, click_anchor, shown_view
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pygments.styles import get_style_by_name
from pygments.token import Token
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor, QTextFormat
from PySide6.QtWidgets import QApplication

from desktop_llm.core.markdown import MarkdownRenderer
from desktop_llm.core.theme import DARK, LIGHT
from desktop_llm.ui.chat.chat_view import INITIAL_MESSAGES, ChatView, MessageView
from desktop_llm.ui.chat.flush_pacer import CHARS_MIN

STORY = """# A short story

Once upon a time a **developer** wrote a `ChatView`. It had *many* features:

- streaming that never stutters
- lazy history
  - with nested points
- a find bar

1. first
2. second

```python
def tell(story: str) -> None:
    print(story)


tell("the end")
```

| Part | Words |
|------|------:|
| one  | 120 |
| two  | 80 |

> Quoted wisdom, with a [link](https://example.com).

Setext heading
--------------

---
The end.
"""


def tokens_of(text: str, seed: int = 7) -> list[str]:
    """Cut ``text`` into small pieces of 1 to 6 characters, like a model's tokens."""
    pieces, position, rng = [], 0, random.Random(seed)
    while position < len(text):
        size = rng.randint(1, 6)
        pieces.append(text[position : position + size])
        position += size
    return pieces


def document_signature(view: ChatView) -> list[tuple]:
    """Describe every block of the view's document: text and the formats a reader sees."""
    signature = []
    block = view.browser.document().begin()
    while block.isValid():
        cursor = QTextCursor(block)
        fmt = block.blockFormat()
        listed = block.textList()
        signature.append(
            (
                block.text(),
                fmt.headingLevel(),
                fmt.leftMargin(),
                fmt.topMargin(),
                listed.format().style() if listed else None,
                listed.itemText(block) if listed else None,
                cursor.currentTable() is not None,
                block.userState(),
                cursor.charFormat().fontWeight() if block.length() > 1 else None,
            )
        )
        block = block.next()
    return signature


def count_updates(view: ChatView) -> list[int]:
    """Return a one-item list counting the view's document updates from now on."""
    counter = [0]
    view.browser.document().contentsChanged.connect(lambda: counter.__setitem__(0, counter[0] + 1))
    return counter


async def test_2000_streamed_tokens_show_the_full_text_with_few_updates(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages([MessageView("u1", "user", "Tell me a story")])
    view.start_streaming("a1")
    updates = count_updates(view)
    tokens = (tokens_of(STORY) * 20)[:2000]
    yields = 0
    for index, token in enumerate(tokens):
        view.append_stream_text("a1", token)
        if index % 50 == 49:  # the provider's network reads: the event loop runs between them
            await asyncio.sleep(0.002)
            yields += 1
    streamed_updates = updates[0]
    full = "".join(tokens)
    with qtbot.waitSignal(view.stream_rendered) as finished:
        view.finish_streaming("a1", MessageView("a1", "assistant", full, model="m"))
    assert finished.args == ["a1"]

    reference = shown_view(qtbot)
    reference.set_messages(
        [MessageView("u1", "user", "Tell me a story"), MessageView("a1", "assistant", full, model="m")]
    )
    assert view.message_text("a1") == reference.message_text("a1")
    assert document_signature(view) == document_signature(reference)
    assert "lazy history" in view.message_text("a1")
    # Coalesced: at most one document update per turn of the event loop, never one per token.
    assert 1 <= streamed_updates <= yields + 1


def test_appending_tokens_only_buffers_until_the_timer_fires(qtbot) -> None:
    view = shown_view(qtbot)
    view.start_streaming("a1")
    updates = count_updates(view)
    for index in range(2000):
        view.append_stream_text("a1", f"w{index} ")
    assert updates[0] == 0
    assert "w0" not in view.browser.document().toPlainText()
    qtbot.waitUntil(lambda: "w1999" in view.browser.document().toPlainText())
    # Timed updates, each taking in at least CHARS_MIN characters: not one per token.
    text_length = sum(len(f"w{index} ") for index in range(2000))
    assert 1 <= updates[0] <= text_length // CHARS_MIN + 1 < 2000 // 10


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(STORY) - 1), max_size=40), refresh=st.randoms())
def test_a_streamed_reply_renders_exactly_like_the_finished_one(qtbot, cuts: list[int], refresh) -> None:
    view = ChatView()
    qtbot.addWidget(view)
    view.start_streaming("a1")
    bounds = [0, *sorted(set(cuts)), len(STORY)]
    for start, end in itertools.pairwise(bounds):
        view.append_stream_text("a1", STORY[start:end])
        if refresh.random() < 0.5:
            view.refresh_streams()  # a refresh at an arbitrary point of the stream
    view.finish_streaming("a1", MessageView("a1", "assistant", STORY))

    reference = ChatView()
    qtbot.addWidget(reference)
    reference.set_messages([MessageView("a1", "assistant", STORY)])
    assert document_signature(view) == document_signature(reference)


def test_a_long_code_block_streams_line_by_line_then_is_highlighted(qtbot, highlight_pool) -> None:
    view = shown_view(qtbot, renderer=MarkdownRenderer(highlighter=highlight_pool))
    view.start_streaming("a1")
    removed: list[int] = []
    view.browser.document().contentsChange.connect(lambda _at, gone, _added: removed.append(gone))
    code = "".join(f"value_{i} = compute({i})  # step {i}\n" for i in range(200))
    view.append_stream_text("a1", "Here:\n\n```python\n")
    for line in code.splitlines(keepends=True):
        view.append_stream_text("a1", line[:10])
        view.refresh_streams()
        view.append_stream_text("a1", line[10:])
        view.refresh_streams()
    # Each refresh replaced at most the line being written, never the growing block (~7 kB).
    assert len(removed) >= 400 and max(removed[4:]) < 60
    assert not digits_of_the_last_call(view).charFormat().hasProperty(QTextFormat.Property.ForegroundBrush)

    full = f"Here:\n\n```python\n{code}```\n\nDone."
    with qtbot.waitSignal(view.stream_rendered):
        view.append_stream_text("a1", "```\n\nDone.")
        view.finish_streaming("a1", MessageView("a1", "assistant", full))
    reference = shown_view(qtbot, renderer=MarkdownRenderer(highlighter=highlight_pool))
    reference.set_messages([MessageView("a1", "assistant", full)])
    assert document_signature(view) == document_signature(reference)
    number_colour = (
        "#" + get_style_by_name(LIGHT.pygments_style).style_for_token(Token.Number)["color"].lower()
    )
    digits = digits_of_the_last_call
    qtbot.waitUntil(lambda: digits(view).charFormat().foreground().color().name() == number_colour)
    assert document_signature(view) == document_signature(reference)


def digits_of_the_last_call(view: ChatView) -> QTextCursor:
    """Return a cursor on the "199" in "compute(199)": plain while streaming, a number once highlighted."""
    call = view.browser.document().find("compute(199)")
    assert not call.isNull()
    cursor = QTextCursor(view.browser.document())
    cursor.setPosition(call.selectionStart() + len("compute(") + 1)
    return cursor


def test_select_all_and_copy_gives_the_conversation_without_labels(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages(
        [
            MessageView("u1", "user", "What is 2+2?"),
            MessageView("a1", "assistant", "It is **4**.\n\n- one\n- two\n\n```\ncode\n```", model="m"),
        ]
    )
    view.browser.setFocus()
    qtbot.keyClick(view.browser, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view.browser, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    expected = "What is 2+2?\n\nIt is 4.\n- one\n- two\ncode"
    assert QApplication.clipboard().text() == expected
    assert view.selected_text() == expected


def test_ctrl_f_finds_highlights_steps_and_closes(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages(
        [
            MessageView("u1", "user", "Where is the needle?"),
            MessageView("a1", "assistant", "A needle in a haystack.\n\nAnother NEEDLE here."),
        ]
    )
    with qtbot.waitActive(view):  # shortcuts only reach the active window
        view.activateWindow()
    view.browser.setFocus()
    qtbot.keyClick(view.browser, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(view.find_bar.isVisible)
    qtbot.keyClicks(view.find_bar.field, "needle")

    cursor = view.browser.textCursor()
    assert cursor.selectedText() == "needle"
    first = cursor.selectionStart()
    assert len(view.browser.extraSelections()) == 3
    assert view.find_bar.status.text() == "3 matches"

    qtbot.keyClick(view.find_bar.field, Qt.Key.Key_Return)
    second = view.browser.textCursor().selectionStart()
    assert second > first
    qtbot.keyClick(view.find_bar.field, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert view.browser.textCursor().selectionStart() == first

    assert view.find_text("NEEDLE") and view.find_text("needle")  # case does not matter
    assert view.find_text("needle")  # past the last match: wraps around to the first
    assert view.browser.textCursor().selectionStart() == first
    assert not view.find_text("haystacks")

    qtbot.keyClick(view.find_bar.field, Qt.Key.Key_Escape)
    assert not view.find_bar.isVisible()
    assert view.browser.extraSelections() == []


def test_branch_links_ask_for_the_neighbouring_branch(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages([MessageView("a1", "assistant", "Version two", sibling_index=1, sibling_count=3)])
    assert "2/3" in view.browser.document().toPlainText()
    with qtbot.waitSignal(view.action_requested) as signal:
        click_anchor(qtbot, view, "action:next_branch:a1")
    assert signal.args == ["next_branch", "a1"]
    with qtbot.waitSignal(view.action_requested) as signal:
        click_anchor(qtbot, view, "action:previous_branch:a1")
    assert signal.args == ["previous_branch", "a1"]

    view.update_message(MessageView("a1", "assistant", "Version one", sibling_index=0, sibling_count=3))
    assert "action:previous_branch:a1" not in anchor_hrefs(view)
    assert "action:next_branch:a1" in anchor_hrefs(view)


def test_each_role_offers_its_actions_and_copy_copies_the_message(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages(
        [MessageView("u1", "user", "Hi *there*"), MessageView("a1", "assistant", "Hello **you**")]
    )
    links = anchor_hrefs(view)
    assert {"action:copy:u1", "action:edit:u1", "action:delete:u1"} <= set(links)
    assert {"action:copy:a1", "action:regenerate:a1", "action:delete:a1"} <= set(links)
    assert "action:regenerate:u1" not in links and "action:edit:a1" not in links

    with qtbot.waitSignal(view.action_requested) as signal:
        click_anchor(qtbot, view, "action:copy:a1")
    assert signal.args == ["copy", "a1"]
    assert QApplication.clipboard().text() == "Hello **you**"


def test_an_error_says_what_happened_and_offers_retry(qtbot) -> None:
    view = shown_view(qtbot)
    problem = "The provider refused the API key. Check it in Settings → Providers."
    view.set_messages([MessageView("a1", "assistant", "Partial", status="error", error=problem)])
    text = view.browser.document().toPlainText()
    assert problem in text and "failed" in text
    with qtbot.waitSignal(view.action_requested) as signal:
        click_anchor(qtbot, view, "action:retry:a1")
    assert signal.args == ["retry", "a1"]


def test_status_labels_and_the_streaming_indicator(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages(
        [
            MessageView("a1", "assistant", "Half", status="stopped"),
            MessageView("a2", "assistant", "Cut", status="interrupted"),
            MessageView("a3", "assistant", "Old", excluded=True),
        ]
    )
    view.start_streaming("a4")
    text = view.browser.document().toPlainText()
    assert "stopped" in text and "cut off" in text and "Generating…" in text
    assert "not sent" in text
    assert "action:retry:a2" in anchor_hrefs(view)
    dimmed = view.browser.document().find("Old")
    assert dimmed.charFormat().foreground().color().name() == LIGHT.muted

    view.finish_streaming("a4", MessageView("a4", "assistant", "Done", status="complete"))
    assert "Generating…" not in view.browser.document().toPlainText()


def test_a_scrolled_up_reader_is_not_yanked_down(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages([MessageView(f"m{i}", "user", f"Message {i}") for i in range(20)])
    bar = view.browser.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    view.start_streaming("a1")

    def stream(paragraphs: int) -> None:
        before = bar.maximum()
        for index in range(paragraphs):
            view.append_stream_text("a1", f"Paragraph {index} of the reply.\n\n")
        qtbot.waitUntil(lambda: bar.maximum() > before)

    stream(5)
    assert bar.value() == bar.maximum()  # at the bottom: follows the reply

    bar.setValue(bar.maximum() // 2)
    reading = bar.value()
    stream(10)
    assert bar.value() == reading  # scrolled up: stays where the reader is

    bar.setValue(bar.maximum())
    stream(5)
    assert bar.value() == bar.maximum()  # back at the bottom: follows again


def test_a_long_history_shows_the_newest_first_and_loads_older_at_the_top(qtbot) -> None:
    view = shown_view(qtbot)
    messages = [
        MessageView(
            f"m{i}",
            "user" if i % 2 == 0 else "assistant",
            f"Message number {i}{' (the unicorn)' if i == 4900 else ''}\n\n- point\n\n`code {i}`",
        )
        for i in range(5000)
    ]
    view.set_messages(messages)
    rendered = [m.id for m in messages if view.message_text(m.id) is not None]
    assert rendered[-1] == "m4999"
    assert len(rendered) <= 2 * INITIAL_MESSAGES
    oldest = rendered[0]
    bar = view.browser.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() == bar.maximum() > 0)

    bar.setValue(0)  # the reader scrolls to the top
    marker = view.browser.document().find(f"Message number {oldest[1:]}")
    top_before = view.browser.cursorRect(marker).top()
    qtbot.waitUntil(lambda: view.message_text(f"m{int(oldest[1:]) - 1}") is not None)
    # The message that was at the top is still where the reader saw it; older ones are above.
    assert bar.value() > 0
    assert abs(view.browser.cursorRect(marker).top() - top_before) <= 1
    assert view.message_text("m0") is None

    assert view.message_text("m4900") is None
    assert view.find_text("unicorn")  # find reaches messages that were not loaded yet
    assert view.message_text("m4900") == messages[4900].content  # a user's message, shown as typed
    assert view.message_text("m0") is None


def test_a_hidden_view_renders_only_the_newest_messages(qtbot) -> None:
    view = ChatView()  # another conversation's view, not on screen
    qtbot.addWidget(view)
    messages = [MessageView(f"m{i}", "user", f"Message {i}") for i in range(500)]
    view.set_messages(messages)
    qtbot.wait(100)

    def rendered() -> int:
        return sum(1 for message in messages if view.message_text(message.id) is not None)

    assert rendered() == INITIAL_MESSAGES
    view.resize(760, 600)
    view.show()
    qtbot.waitExposed(view)
    qtbot.wait(100)
    assert rendered() == INITIAL_MESSAGES  # the newest already fill the viewport


def test_two_views_stream_at_once(qtbot) -> None:
    left, right = shown_view(qtbot), shown_view(qtbot)
    left.start_streaming("a1")
    right.start_streaming("b1")
    for index in range(300):
        left.append_stream_text("a1", f"left{index} ")
        right.append_stream_text("b1", f"right{index} ")
    with qtbot.waitSignals([left.stream_rendered, right.stream_rendered]):
        left.finish_streaming("a1", MessageView("a1", "assistant", "".join(f"left{i} " for i in range(300))))
        right.finish_streaming(
            "b1", MessageView("b1", "assistant", "".join(f"right{i} " for i in range(300)))
        )
    assert left.message_text("a1") == " ".join(f"left{i}" for i in range(300))
    assert right.message_text("b1") == " ".join(f"right{i}" for i in range(300))


def test_a_final_text_that_differs_from_the_stream_replaces_it(qtbot) -> None:
    view = shown_view(qtbot)
    view.start_streaming("a1")
    view.append_stream_text("a1", "Draft that the service corrected")
    qtbot.waitUntil(lambda: view.message_text("a1") == "Draft that the service corrected")
    view.finish_streaming("a1", MessageView("a1", "assistant", "Final **text**", status="stopped"))
    assert view.message_text("a1") == "Final text"
    assert "stopped" in view.browser.document().toPlainText()


def test_thinking_is_folded_and_opens_on_click(qtbot) -> None:
    view = shown_view(qtbot)
    view.start_streaming("a1")
    view.append_stream_text("a1", "", reasoning="Let me think about apples and pears.")
    view.append_stream_text("a1", "Apples.")
    qtbot.waitUntil(lambda: "Thinking…" in view.browser.document().toPlainText())
    assert "apples and pears" not in view.browser.document().toPlainText()

    click_anchor(qtbot, view, "action:toggle_reasoning:a1")
    assert "apples and pears" in view.browser.document().toPlainText()
    view.finish_streaming(
        "a1", MessageView("a1", "assistant", "Apples.", reasoning="Let me think about apples and pears.")
    )
    text = view.browser.document().toPlainText()
    assert "Thought (7 words)" in text and "apples and pears" in text
    assert view.message_text("a1") == "Apples."


def test_font_size_and_theme_apply_to_the_document(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages([MessageView("a1", "assistant", "Some `code` here")])
    view.set_font_size(15)
    assert view.browser.document().defaultFont().pointSize() == 15
    view.set_theme(dark=True)
    assert view.browser.palette().base().color().name() == DARK.background
    assert view.message_text("a1") == "Some code here"
