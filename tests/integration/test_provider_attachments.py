"""Attachments per kind against the fake server: exact request bodies, and refusals before sending."""

from __future__ import annotations

import base64

import httpx
import pytest
from fakes.provider_server import ProviderServer
from provider_kit import (
    collect,
    make_provider,
    server_fixture,  # noqa: F401  (the ``server`` fixture)
)

from desktop_llm.providers import Attachment, ChatRequest, Finish, InvalidRequestError, Message

# Longer than 57 bytes, so a base64 encoder that wraps lines would show it.
PNG = Attachment("shot.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
JPEG = Attachment("photo.JPG", "image/jpeg", b"\xff\xd8\xff\xe0" + bytes(range(255, -1, -1)))
PDF = Attachment("report.pdf", "application/pdf", b"%PDF-1.7\n" + b"0123456789" * 20)
CSV = Attachment("data.csv", "text/csv", b"a,b\n1,2\n")
TIFF = Attachment("scan.tiff", "image/tiff", b"II*\x00" * 30)


def b64(attachment: Attachment) -> str:
    return base64.b64encode(attachment.data).decode()


def url(attachment: Attachment) -> str:
    return f"data:{attachment.media_type};base64,{b64(attachment)}"


def request(*attachments: Attachment, text: str = "What is in these?") -> ChatRequest:
    return ChatRequest(
        model="vision-model",
        messages=[
            Message("system", "Be brief."),
            Message("user", text, attachments=attachments),
        ],
    )


async def sent_body(server: ProviderServer, kind: str, chat: ChatRequest) -> dict:
    async with make_provider(server, kind) as provider:
        events = await collect(provider, chat)
    assert events[-1] == Finish("stop")
    body = server.chat_requests[-1].json
    return body


async def test_openai_images_and_pdf_are_content_parts_after_the_text(server: ProviderServer) -> None:
    body = await sent_body(server, "openai", request(PNG, PDF, JPEG))
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in these?"},
                {"type": "image_url", "image_url": {"url": url(PNG)}},
                {"type": "file", "file": {"filename": "report.pdf", "file_data": url(PDF)}},
                {"type": "image_url", "image_url": {"url": url(JPEG)}},
            ],
        },
    ]


@pytest.mark.parametrize("preset", [None, "lmstudio", "groq"])
async def test_openai_compatible_takes_images(server: ProviderServer, preset: str | None) -> None:
    options = {"preset": preset} if preset else {}
    async with make_provider(server, "openai-compatible", **options) as provider:
        await collect(provider, request(JPEG, text=""))
    # No text: only the image part (an empty text part is refused by some servers).
    assert server.chat_requests[0].json["messages"][1] == {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {"url": url(JPEG)}}],
    }


async def test_anthropic_images_and_pdf_are_blocks_after_the_text(server: ProviderServer) -> None:
    body = await sent_body(server, "anthropic", request(PDF, PNG))
    assert body["system"] == "Be brief."
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in these?"},
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)},
                },
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(PNG)}},
            ],
        }
    ]


async def test_anthropic_merges_a_plain_turn_into_blocks_when_a_neighbour_has_files(
    server: ProviderServer,
) -> None:
    chat = ChatRequest(
        model="claude",
        messages=[Message("user", "First."), Message("user", "Second.", attachments=(PNG,))],
    )
    body = await sent_body(server, "anthropic", chat)
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "First."},
                {"type": "text", "text": "Second."},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(PNG)}},
            ],
        }
    ]


async def test_gemini_files_are_inline_data_parts_after_the_text(server: ProviderServer) -> None:
    body = await sent_body(server, "gemini", request(PNG, PDF))
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["contents"] == [
        {
            "role": "user",
            "parts": [
                {"text": "What is in these?"},
                {"inline_data": {"mime_type": "image/png", "data": b64(PNG)}},
                {"inline_data": {"mime_type": "application/pdf", "data": b64(PDF)}},
            ],
        }
    ]


async def test_ollama_images_go_in_the_message_images_list(server: ProviderServer) -> None:
    body = await sent_body(server, "ollama", request(PNG, JPEG))
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is in these?", "images": [b64(PNG), b64(JPEG)]},
    ]


@pytest.mark.parametrize("kind", ["openai", "openai-compatible", "anthropic", "gemini", "ollama"])
async def test_text_only_messages_still_go_out_as_plain_strings(server: ProviderServer, kind: str) -> None:
    async with make_provider(server, kind) as provider:
        await collect(provider, request(text="Just text."))
    body = server.chat_requests[0].json
    assert "tools" not in body
    if kind == "gemini":
        assert body["contents"] == [{"role": "user", "parts": [{"text": "Just text."}]}]
    elif kind == "anthropic":
        assert body["messages"] == [{"role": "user", "content": "Just text."}]
    else:
        assert body["messages"][-1] == {"role": "user", "content": "Just text."}


@pytest.mark.parametrize(
    ("kind", "attachment", "words"),
    [
        ("ollama", PDF, ["report.pdf", "PDF", "Send its text"]),
        ("openai-compatible", PDF, ["report.pdf", "PDF"]),
        ("openai", CSV, ["data.csv", "text/csv", "Paste its text"]),
        ("anthropic", CSV, ["data.csv", "Paste its text"]),
        ("gemini", CSV, ["data.csv"]),
        ("ollama", CSV, ["data.csv"]),
        ("openai-compatible", CSV, ["data.csv"]),
        ("anthropic", TIFF, ["scan.tiff", "image/tiff", "Convert it"]),
        ("gemini", Attachment("anim.gif", "image/gif", b"GIF89a"), ["anim.gif", "Convert it"]),
    ],
)
async def test_an_attachment_the_kind_cannot_carry_is_refused_before_sending(
    server: ProviderServer, kind: str, attachment: Attachment, words: list[str]
) -> None:
    async with make_provider(server, kind) as provider:
        with pytest.raises(InvalidRequestError) as caught:
            await collect(provider, request(PNG, attachment))
        for word in words:
            assert word in str(caught.value)
        assert provider.circuit.state == "closed"
    assert server.requests == []


async def test_files_on_a_message_that_is_not_the_persons_are_refused(server: ProviderServer) -> None:
    chat = ChatRequest(
        model="m", messages=[Message("user", "hi"), Message("assistant", "see", attachments=(PNG,))]
    )
    async with make_provider(server, "openai") as provider:
        with pytest.raises(InvalidRequestError, match=r"shot\.png.*assistant"):
            await collect(provider, chat)
    assert server.requests == []


async def test_fake_server_refuses_a_wrapped_or_mistyped_data_url(server: ProviderServer) -> None:
    """The fake checks what real servers check, so a broken encoder would not pass unnoticed."""
    wrapped = base64.encodebytes(PNG.data).decode()  # line breaks every 76 characters
    async with httpx.AsyncClient() as client:
        for part_url in (f"data:image/png;base64,{wrapped}", f"data:image/tiff;base64,{b64(PNG)}"):
            body = {
                "model": "m",
                "messages": [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": part_url}}]}
                ],
            }
            answer = await client.post(server.url_for("openai") + "/chat/completions", json=body)
            assert answer.status_code == 400
        body = {"model": "m", "messages": [{"role": "user", "content": "x", "images": [wrapped]}]}
        answer = await client.post(server.base_url + "/api/chat", json=body)
        assert answer.status_code == 400
