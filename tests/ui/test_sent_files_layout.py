"""A sent message's files: thumbnails on one line, other files on the next, each a link."""

from __future__ import annotations

import pytest

from desktop_llm.core.message_chrome import AttachmentView, MessageView, attachments_html
from desktop_llm.core.theme import LIGHT

pytestmark = pytest.mark.ui


def test_files_go_under_the_thumbnails_not_on_their_baseline() -> None:
    message = MessageView(
        id="m1",
        role="user",
        content="Look",
        attachments=(
            AttachmentView("a" * 64, "chart.png", "image/png", 7000),
            AttachmentView("b" * 64, "Q4 <report>.pdf", "application/pdf", 852),
            AttachmentView("c" * 64, "photo.jpg", "image/jpeg", 9000),
        ),
    )
    markup = attachments_html(message, LIGHT)
    images, files = markup.split("<br>")
    assert images.count("<img") == 2 and "attachment:m1:0" in images and "attachment:m1:2" in images
    assert "<img" not in files and 'href="attachment:m1:1"' in files
    assert "Q4 &lt;report&gt;.pdf" in files and "852 B" in files


def test_files_alone_or_images_alone_make_one_line() -> None:
    only_files = MessageView(
        id="m2",
        role="user",
        content="",
        attachments=(AttachmentView("b" * 64, "a.pdf", "application/pdf", 10),),
    )
    assert "<br>" not in attachments_html(only_files, LIGHT)
