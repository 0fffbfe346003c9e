"""What each model gets for attachments: text fenced, PDFs as text or native, images scaled or refused."""

from __future__ import annotations

import io

import pytest
from fakes.sample_files import image_bytes, pdf_bytes
from PIL import Image

from desktop_llm.core.attachment_rules import fence_text, file_kind, guess_media_type, image_tokens
from desktop_llm.core.catalog import load_catalog
from desktop_llm.providers import Attachment
from desktop_llm.services.attachment_prep import (
    AttachmentError,
    AttachmentPreparer,
    AttachmentRefused,
    attachment_from_bytes,
    check,
    model_support,
    read_attachment,
)

CATALOG = load_catalog()


def _support(kind: str, model: str):
    return model_support(CATALOG, kind, model)


def _size(attachment: Attachment) -> tuple[int, int]:
    with Image.open(io.BytesIO(attachment.data)) as image:
        return image.size


def test_a_text_file_goes_in_as_named_fenced_text_for_every_kind() -> None:
    csv = Attachment("sales.csv", "text/csv", b"month,total\njan,3\n")
    for kind, model in [("openai", "gpt-4o"), ("anthropic", "claude-sonnet-4-5"), ("ollama", "llama3.1")]:
        prepared = AttachmentPreparer().prepare_blocking("Sum it", [csv], _support(kind, model))
        assert prepared.attachments == ()
        assert prepared.content == "Sum it\n\nFile: sales.csv\n```csv\nmonth,total\njan,3\n```"


def test_a_fence_is_longer_than_any_backtick_run_in_the_file() -> None:
    fenced = fence_text("notes.md", "before\n````\ncode\n````\n")
    assert fenced.splitlines()[1] == "`````markdown"
    assert fenced.endswith("\n`````")


def test_source_code_by_extension_is_text_and_unknown_binary_is_refused(tmp_path) -> None:
    assert file_kind("main.rs", "application/octet-stream") == "text"
    assert guess_media_type("data.json", b"{") == "application/json"
    blob = tmp_path / "archive.bin"
    blob.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(AttachmentError, match=r"archive\.bin cannot be sent: only images, PDFs and text"):
        read_attachment(blob)
    with pytest.raises(AttachmentError, match="no such file"):
        read_attachment(tmp_path / "missing.png")
    assert attachment_from_bytes("README", b"plain words").media_type == "text/plain"


def test_pdf_is_extracted_to_text_for_ollama_and_openai_compatible() -> None:
    pdf = Attachment("report.pdf", "application/pdf", pdf_bytes("Quarterly revenue rose", "Page two here"))
    for kind in ("ollama", "openai-compatible"):
        prepared = AttachmentPreparer().prepare_blocking("Summarise", [pdf], _support(kind, "llama3.1"))
        assert prepared.attachments == ()
        assert "File: report.pdf (text of a 2-page PDF)" in prepared.content
        assert "Quarterly revenue rose" in prepared.content and "Page two here" in prepared.content


def test_pdf_goes_natively_to_models_that_read_pdfs() -> None:
    pdf = Attachment("report.pdf", "application/pdf", pdf_bytes("Quarterly revenue rose"))
    for kind, model in [
        ("openai", "gpt-4o"),
        ("anthropic", "claude-sonnet-4-5"),
        ("gemini", "gemini-2.5-flash"),
    ]:
        prepared = AttachmentPreparer().prepare_blocking("Summarise", [pdf], _support(kind, model))
        assert prepared.attachments == (pdf,)
        assert prepared.content == "Summarise"
        assert prepared.extra_tokens > 0
    # An OpenAI model the catalog says reads no PDFs gets the text instead.
    text_only = AttachmentPreparer().prepare_blocking("Summarise", [pdf], _support("openai", "gpt-3.5-turbo"))
    assert text_only.attachments == () and "Quarterly revenue rose" in text_only.content


def test_a_scanned_pdf_without_text_is_refused_for_a_text_only_model_and_says_why() -> None:
    scan = Attachment("scan.pdf", "application/pdf", pdf_bytes(""))
    with pytest.raises(AttachmentRefused, match=r"scan\.pdf has no text to read \(it looks like a scan\)"):
        AttachmentPreparer().prepare_blocking("Read", [scan], _support("ollama", "llama3.1"))
    older = AttachmentPreparer().prepare_blocking(
        "Read", [scan], _support("ollama", "llama3.1"), strict=False
    )
    assert older.notes and "no text to read" in older.notes[0]


def test_large_images_are_scaled_to_each_kinds_limit_and_the_original_kept() -> None:
    original = Attachment("photo.jpg", "image/jpeg", image_bytes(4000, 3000, "JPEG"))
    expected = {
        ("anthropic", "claude-sonnet-4-5"): (1568, 1176),
        ("openai", "gpt-4o"): (1024, 768),
        ("gemini", "gemini-2.5-flash"): (3072, 2304),
        ("ollama", "gemma3"): (2048, 1536),
    }
    for (kind, model), size in expected.items():
        prepared = AttachmentPreparer().prepare_blocking("What is it?", [original], _support(kind, model))
        (sent,) = prepared.attachments
        assert _size(sent) == size, kind
        assert sent.media_type == "image/jpeg" and sent.name == "photo.jpg"
    assert _size(original) == (4000, 3000)


def test_a_small_image_goes_unchanged_and_an_unusual_type_becomes_png() -> None:
    small = Attachment("icon.png", "image/png", image_bytes(64, 64))
    prepared = AttachmentPreparer().prepare_blocking("", [small], _support("openai", "gpt-4o"))
    assert prepared.attachments == (small,)
    bmp = Attachment("scan.bmp", "image/bmp", image_bytes(40, 30, "BMP"))
    (converted,) = AttachmentPreparer().prepare_blocking("", [bmp], _support("openai", "gpt-4o")).attachments
    assert (converted.name, converted.media_type, _size(converted)) == ("scan.png", "image/png", (40, 30))


def test_an_image_for_a_model_that_cannot_see_is_refused_naming_models_that_can() -> None:
    photo = Attachment("photo.png", "image/png", image_bytes(10, 10))
    support = _support("ollama", "llama3.1")
    with pytest.raises(AttachmentRefused) as refused:
        AttachmentPreparer().prepare_blocking("What is it?", [photo], support)
    message = str(refused.value)
    assert message.startswith(
        "llama3.1 cannot see images, so photo.png was not sent. Models that can: gemma3"
    )
    assert "Switch the model above the chat" in message
    assert check("photo.png", "image/png", support).verdict == "refused"
    # In an older message (the model was switched later) the image becomes a note instead.
    older = AttachmentPreparer().prepare_blocking("What?", [photo], support, strict=False)
    assert older.attachments == () and "not shown" in older.content


def test_an_unknown_model_gets_images_with_a_warning_on_the_chip() -> None:
    support = _support("ollama", "llava:13b")
    assert support.images is None
    assert check("photo.png", "image/png", support).verdict == "warning"
    photo = Attachment("photo.png", "image/png", image_bytes(10, 10))
    assert AttachmentPreparer().prepare_blocking("", [photo], support).attachments == (photo,)


def test_image_tokens_follow_each_providers_published_rule() -> None:
    # OpenAI: 4000x3000 -> 2048x1536 -> 1024x768: 2x2 tiles.
    assert image_tokens("openai", 4000, 3000) == 85 + 170 * 4
    # Anthropic: scaled to 1568x1176, then w*h/750.
    assert image_tokens("anthropic", 4000, 3000) == -(-1568 * 1176 // 750)
    assert image_tokens("anthropic", 750, 100) == 100
    # Gemini: 258 for a small image, 258 per 768px tile above 384px.
    assert image_tokens("gemini", 300, 300) == 258
    assert image_tokens("gemini", 1000, 700) == 258 * 2


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path) -> None:
    huge = tmp_path / "huge.png"
    with huge.open("wb") as sparse:  # no disk space used: a hole of 60 MB
        sparse.truncate(60 * 1024 * 1024)
    with pytest.raises(AttachmentError, match=r"huge\.png is 63 MB; attachments can be at most 50 MB"):
        read_attachment(huge)


@pytest.mark.parametrize("size", [0, 1, 786_431, 786_432, 786_433, 2_000_001])
def test_base64_made_in_slices_equals_the_whole(size) -> None:
    import base64
    import os

    from desktop_llm.providers.base import _base64_in_slices

    data = os.urandom(size)
    assert _base64_in_slices(data) == base64.b64encode(data)
