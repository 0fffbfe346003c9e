"""A streamed reply, however it was cut into tokens and refreshes, ends up exactly as a reopen shows it."""

from __future__ import annotations

import random

import pytest
from chatview_support import anchor_hrefs
from reply_corpus import REPLIES
from test_chat_view import document_signature

from desktop_llm.ui.chat_view import ChatView, MessageView


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
