"""The chat service sends each model what it can take, against the fake server and a real SQLite file."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fakes.fake_directory import fake_directory
from fakes.provider_server import ProviderServer, Reply
from fakes.sample_files import image_bytes, pdf_bytes
from PIL import Image

from desktop_llm.core.catalog import load_catalog
from desktop_llm.core.tokens import TokenCounter
from desktop_llm.providers import Attachment
from desktop_llm.services.attachment_prep import AttachmentRefused
from desktop_llm.services.chat import ChatService
from desktop_llm.services.chat_attachments import ChatAttachments
from desktop_llm.services.context_planner import ContextPlanner
from desktop_llm.services.conversations import ConversationService
from desktop_llm.storage.attachments import AttachmentRepository, sha256_hex
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.messages import MessageRepository

KINDS = ("openai", "anthropic", "gemini", "ollama", "openai-compatible")
PHOTO = Attachment("photo.png", "image/png", image_bytes(3000, 2000))
REPORT = Attachment("report.pdf", "application/pdf", pdf_bytes("Revenue rose in the third quarter"))
SALES = Attachment("sales.csv", "text/csv", b"month,total\njan,3\n")


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


class Rig:
    """A chat service with one provider entry per kind, all pointing at the fake server."""

    def __init__(self, db_path: Path, server: ProviderServer) -> None:
        self.db = DatabaseThread(db_path)
        self.directory = fake_directory(self.db, server, ((kind, kind) for kind in KINDS))
        catalog = load_catalog()
        self.chat = ChatService(
            self.db,
            self.directory,
            lambda event: None,
            planner=ContextPlanner(TokenCounter(), catalog),
            auto_titles=lambda: False,
            attachments=ChatAttachments(self.db, self.directory, catalog),
        )
        self.conversations = ConversationService(self.db)

    async def new(self, kind: str, model: str) -> str:
        return (await self.conversations.create(provider_id=kind, model=model)).id

    async def close(self) -> None:
        await self.chat.stop_all()
        await self.directory.aclose()
        await self.db.aclose()


@asynccontextmanager
async def open_rig(tmp_path: Path, server: ProviderServer) -> AsyncIterator[Rig]:
    rig = Rig(tmp_path / "chat.sqlite3", server)
    try:
        yield rig
    finally:
        await rig.close()


def _png_size(data: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(base64.b64decode(data))) as image:
        return image.size


async def test_openai_gets_text_files_fenced_the_image_scaled_and_the_pdf_natively(tmp_path, server) -> None:
    async with open_rig(tmp_path, server) as rig:
        server.push(Reply(text="A chart, a report and a table."))
        conversation = await rig.new("openai", "gpt-4o")
        reply = await rig.chat.send(conversation, "What are these?", [PHOTO, REPORT, SALES])
        assert reply.status == "complete"
        parts = server.chat_requests[0].json["messages"][-1]["content"]
        assert parts[0] == {
            "type": "text",
            "text": "What are these?\n\nFile: sales.csv\n```csv\nmonth,total\njan,3\n```",
        }
        image_url = parts[1]["image_url"]["url"]
        assert image_url.startswith("data:image/png;base64,")
        assert _png_size(image_url.split(",", 1)[1]) == (1152, 768)  # 2048 box, then 768 short side
        assert parts[2]["type"] == "file" and parts[2]["file"]["filename"] == "report.pdf"
        assert base64.b64decode(parts[2]["file"]["file_data"].split(",", 1)[1]) == REPORT.data
        # The originals are kept, unscaled, in the message's order.
        stored = await rig.db.call(lambda db: MessageRepository(db).active_path(conversation))
        refs = stored[0].attachments
        assert [r.name for r in refs] == ["photo.png", "report.pdf", "sales.csv"]
        original = await rig.db.call(lambda db: AttachmentRepository(db).load(refs[0].sha256))
        assert sha256_hex(original) == sha256_hex(PHOTO.data)


async def test_ollama_and_openai_compatible_get_a_pdf_as_its_text(tmp_path, server) -> None:
    async with open_rig(tmp_path, server) as rig:
        for kind in ("ollama", "openai-compatible"):
            server.reset()
            conversation = await rig.new(kind, "llama3.1")
            await rig.chat.send(conversation, "Summarise", [REPORT])
            last = server.chat_requests[0].json["messages"][-1]
            text = last["content"] if isinstance(last["content"], str) else last["content"][0]["text"]
            assert "File: report.pdf (text of a 1-page PDF)" in text
            assert "Revenue rose in the third quarter" in text
            assert "images" not in last


async def test_anthropic_and_gemini_read_the_pdf_natively_and_get_scaled_images(tmp_path, server) -> None:
    async with open_rig(tmp_path, server) as rig:
        conversation = await rig.new("anthropic", "claude-sonnet-4-5")
        await rig.chat.send(conversation, "Look", [PHOTO, REPORT])
        blocks = server.chat_requests[0].json["messages"][-1]["content"]
        kinds = [block["type"] for block in blocks]
        assert kinds == ["text", "image", "document"]
        assert _png_size(blocks[1]["source"]["data"]) == (1568, 1045)
        server.reset()
        conversation = await rig.new("gemini", "gemini-2.5-flash")
        await rig.chat.send(conversation, "Look", [PHOTO, REPORT])
        parts = server.chat_requests[0].json["contents"][-1]["parts"]
        mime_types = [part["inline_data"]["mime_type"] for part in parts if "inline_data" in part]
        assert mime_types == ["image/png", "application/pdf"]


async def test_an_image_for_a_model_that_cannot_see_is_stopped_before_anything_is_saved_or_sent(
    tmp_path, server
) -> None:
    async with open_rig(tmp_path, server) as rig:
        conversation = await rig.new("ollama", "llama3.1")
        with pytest.raises(AttachmentRefused, match=r"llama3\.1 cannot see images.*Models that can: gemma3"):
            await rig.chat.send(conversation, "What is it?", [PHOTO])
        assert server.chat_requests == []
        assert await rig.db.call(lambda db: MessageRepository(db).active_path(conversation)) == []


async def test_later_turns_resend_earlier_images_from_storage(tmp_path, server) -> None:
    async with open_rig(tmp_path, server) as rig:
        conversation = await rig.new("ollama", "gemma3")
        await rig.chat.send(conversation, "What is it?", [PHOTO])
        await rig.chat.send(conversation, "And its colour?")
        first, _, second = server.chat_requests[1].json["messages"]
        assert len(first["images"]) == 1 and _png_size(first["images"][0]) == (2048, 1365)
        assert "images" not in second


async def test_the_preview_counts_a_draft_image_by_the_providers_rule_as_an_estimate(
    tmp_path, server
) -> None:
    async with open_rig(tmp_path, server) as rig:
        conversation = await rig.new("anthropic", "claude-sonnet-4-5")
        plain = await rig.chat.context_preview(conversation, "What is it?")
        with_image = await rig.chat.context_preview(conversation, "What is it?", [PHOTO])
        assert plain is not None and with_image is not None
        assert with_image.fit.total_tokens - plain.fit.total_tokens == -(-1568 * 1045 // 750)
        assert not with_image.exact
        # The cost of sending it counts the image too, at the model's list input price.
        image_tokens = with_image.fit.total_tokens - plain.fit.total_tokens
        extra = with_image.prompt_dollars(with_image.fit.total_tokens) - plain.prompt_dollars(
            plain.fit.total_tokens
        )
        rate = load_catalog().lookup("claude-sonnet-4-5").price.base.input
        assert extra == rate * image_tokens / 1_000_000


async def test_files_sent_without_text_name_the_conversation(tmp_path, server) -> None:
    async with open_rig(tmp_path, server) as rig:
        conversation = await rig.new("openai", "gpt-4o")
        await rig.chat.send(conversation, "", [SALES])
        await rig.chat.wait_for_titles()
        assert (await rig.conversations.get(conversation)).title == "sales.csv"
        assert server.chat_requests[0].json["messages"][-1]["content"].startswith("File: sales.csv\n")
