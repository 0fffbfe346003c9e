"""A streamed reply, however it was cut into tokens and refreshes, ends up exactly as a reopen shows it."""

from __future__ import annotations

import random

import pytest
from chatview_support import anchor_hrefs
from reply_corpus import REPLIES
from test_chat_view import document_signature

from desktop_llm.ui.chat.chat_view import ChatView, MessageView


def stream_reply(qtbot, text: str, seed: int) -> ChatView:
    view = ChatView()
    qtbot.addWidget(view)
    view.start_streaming("a1")
    rng, position = random.Random(seed), 0
    while position < len(text):
        size = rng.randint(1, 12)
        view.append_stream_text("a1", text[position : position + size])
        position += size
        if rng.random() < 0.4:
            view.refresh_streams()
    view.finish_streaming("a1", MessageView("a1", "assistant", text))
    qtbot.waitUntil(lambda: "a1" not in view._streaming)
    return view


@pytest.mark.parametrize("index", range(len(REPLIES)))
def test_a_streamed_reply_is_identical_to_the_reopened_one(qtbot, index: int) -> None:
    text = REPLIES[index]
    reopened = ChatView()
    qtbot.addWidget(reopened)
    reopened.set_messages([MessageView("a1", "assistant", text)])
    for seed in range(3):
        streamed = stream_reply(qtbot, text, seed)
        assert document_signature(streamed) == document_signature(reopened), (index, seed)
        assert streamed.message_text("a1") == reopened.message_text("a1")
        assert anchor_hrefs(streamed) == anchor_hrefs(reopened)


def test_a_reference_link_works_once_its_definition_arrives(qtbot) -> None:
    view = ChatView()
    qtbot.addWidget(view)
    view.start_streaming("a1")
    view.append_stream_text("a1", "Read [the guide][g].\n\nMore.\n\n")
    view.refresh_streams()
    assert "https://example.com/g" not in anchor_hrefs(view)
    view.append_stream_text("a1", "[g]: https://example.com/g\n")
    view.refresh_streams()
    assert "https://example.com/g" in anchor_hrefs(view)  # before the reply ends
    assert "[the guide][g]" not in view.message_text("a1")


def test_an_open_table_grows_row_by_row_without_redrawing_the_rows_shown(qtbot) -> None:
    view = ChatView()
    qtbot.addWidget(view)
    view.start_streaming("a1")
    removed: list[int] = []
    view.browser.document().contentsChange.connect(lambda _at, gone, _added: removed.append(gone))
    rows = [f"| {i} | item {i} | {i * 3} |\n" for i in range(120)]
    view.append_stream_text("a1", "| id | name | value |\n|---|---|--:|\n")
    for row in rows:
        view.append_stream_text("a1", row)
        view.refresh_streams()
    # No refresh took the table out to put it back (it holds ~2,000 characters by the end).
    assert max(removed) < 100
    table = view.browser.document().find("item 119")
    assert not table.isNull() and table.currentTable() is not None
    assert table.currentTable().rows() == 121

    full = "| id | name | value |\n|---|---|--:|\n" + "".join(rows) + "\nDone."
    with qtbot.waitSignal(view.stream_rendered):
        view.append_stream_text("a1", "\nDone.")
        view.finish_streaming("a1", MessageView("a1", "assistant", full))
    reopened = ChatView()
    qtbot.addWidget(reopened)
    reopened.set_messages([MessageView("a1", "assistant", full)])
    assert document_signature(view) == document_signature(reopened)
