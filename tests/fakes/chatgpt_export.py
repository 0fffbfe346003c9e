"""Write a large, realistic ChatGPT ``conversations.json`` without holding it in memory.

Each conversation has the shape of a real export: a null-message root, a hidden system
message, user/assistant turns with the metadata ChatGPT attaches, code and execution output,
a regenerated reply now and then (a branch), and ``current_node``. Deterministic for a seed.
``write_zip_with_images`` builds an export .zip whose messages point at images it holds.
"""

from __future__ import annotations

import json
import random
import uuid
import zipfile
from pathlib import Path
from typing import Any

# fmt: off
_WORDS = [
    "the", "model", "reply", "stream", "token", "python", "database", "error", "search", "branch",
    "message", "window", "folder", "template", "export", "import", "keyring", "provider", "request",
    "latency", "context", "summary", "translate", "function", "variable", "network", "timeout",
    "server", "client", "thread", "memory", "cache", "index", "query", "garden", "recipe",
]
# fmt: on


class _ConversationWriter:
    """Build one conversation's ``mapping``, node by node."""

    def __init__(self, rng: random.Random, started: float) -> None:
        self.rng = rng
        self.clock = started
        self.mapping: dict[str, dict[str, Any]] = {}

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def text(self, words: int) -> str:
        return " ".join(self.rng.choice(_WORDS) for _ in range(words)).capitalize() + "."

    def add(
        self, parent: str | None, role: str | None = None, content: dict | None = None, **metadata: Any
    ) -> str:
        node_id = self.new_id()
        message = None
        if role is not None:
            self.clock += self.rng.uniform(1, 60)
            message = {
                "id": node_id,
                "author": {"role": role, "name": "python" if role == "tool" else None, "metadata": {}},
                "create_time": None if role == "system" else self.clock,
                "update_time": None,
                "content": content,
                "status": "finished_successfully",
                "end_turn": role == "assistant",
                "weight": 1.0,
                "metadata": {"request_id": "8f2c0e1a9b7d6c5e-AMS", "timestamp_": "absolute", **metadata},
                "recipient": "all",
                "channel": None,
            }
        self.mapping[node_id] = {"id": node_id, "message": message, "parent": parent, "children": []}
        if parent is not None:
            self.mapping[parent]["children"].append(node_id)
        return node_id


def conversation(rng: random.Random, turns: int, started: float) -> dict[str, Any]:
    """Return one ChatGPT conversation of ``turns`` questions with their answers."""
    writer = _ConversationWriter(rng, started)
    root = writer.add(None)
    hidden = {"content_type": "text", "parts": [""]}
    tip = writer.add(root, "system", hidden, is_visually_hidden_from_conversation=True)
    for turn in range(turns):
        question = {"content_type": "text", "parts": [writer.text(rng.randint(8, 40))]}
        tip = writer.add(tip, "user", question)
        if turn % 7 == 3:
            code = {"content_type": "code", "language": "python", "text": "print(sum(range(10)))"}
            tip = writer.add(tip, "assistant", code, model_slug="gpt-4o")
            tip = writer.add(tip, "tool", {"content_type": "execution_output", "text": "45"})
        asked = tip
        for _ in range(2 if rng.random() < 0.1 else 1):  # now and then a regenerated reply
            paragraphs = "\n\n".join(writer.text(rng.randint(20, 60)) for _ in range(rng.randint(1, 4)))
            tip = writer.add(
                asked,
                "assistant",
                {"content_type": "text", "parts": [paragraphs]},
                model_slug="gpt-4o",
                finish_details={"type": "stop", "stop_tokens": [200002]},
                citations=[],
                content_references=[],
                is_complete=True,
                parent_id=asked,
            )
    conversation_id = writer.new_id()
    return {
        "title": writer.text(4).rstrip("."),
        "create_time": started,
        "update_time": writer.clock,
        "mapping": writer.mapping,
        "moderation_results": [],
        "current_node": tip,
        "plugin_ids": None,
        "conversation_id": conversation_id,
        "conversation_template_id": None,
        "gizmo_id": None,
        "is_archived": False,
        "safe_urls": [],
        "default_model_slug": "gpt-4o",
        "id": conversation_id,
    }


def write_export(path: Path, target_bytes: int, *, seed: int = 1) -> dict[str, int]:
    """Write conversations to ``path`` until it holds about ``target_bytes``; return counts."""
    rng = random.Random(seed)
    written = conversations = 0
    started = 1_700_000_000.0
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        while written < target_bytes:
            text = json.dumps(conversation(rng, rng.randint(3, 30), started), ensure_ascii=False, indent=1)
            out.write(("," if conversations else "") + "\n" + text)
            written += len(text) + 2
            conversations += 1
            started += 3600.0
        out.write("\n]\n")
    return {"conversations": conversations, "bytes": path.stat().st_size}


def tiny_png(seed: int) -> bytes:
    """Return a small, distinct PNG-looking file (the signature, then bytes from ``seed``)."""
    return b"\x89PNG\r\n\x1a\n" + random.Random(seed).randbytes(64 + seed)


def _image_part(pointer: str, size: int) -> dict[str, Any]:
    return {
        "content_type": "image_asset_pointer",
        "asset_pointer": pointer,
        "size_bytes": size,
        "width": 640,
        "height": 480,
        "fovea": None,
        "metadata": {"dalle": None, "gizmo": None, "sanitized": True},
    }


def image_conversation(rng: random.Random, started: float) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Return a conversation with images, and the zip members (name -> bytes) that hold them.

    The first question carries two photos (one named in the message's metadata, one only by
    its file in the zip, a newer ``sediment://`` pointer) and an image the zip lacks; the
    follow-up sends the first photo again; the reply includes an image a tool made.
    """
    writer = _ConversationWriter(rng, started)
    photo, chart, drawn = tiny_png(1), tiny_png(2), tiny_png(3)
    files = {
        "file-Photo1-IMG_0001.jpeg": photo,
        "file_00000000aa11bb22cc33dd44-chart.png": chart,
        "file-Drawn3.webp": drawn,
        "file-Drawn3-thumbnail.webp": b"thumb",  # a longer name with the same id: not the file
    }
    root = writer.add(None)
    question = {
        "content_type": "multimodal_text",
        "parts": [
            _image_part("file-service://file-Photo1", len(photo)),
            _image_part("sediment://file_00000000aa11bb22cc33dd44", len(chart)),
            _image_part("file-service://file-Missing9", 10),
            "What do these show?",
        ],
    }
    tip = writer.add(
        root,
        "user",
        question,
        attachments=[
            {"id": "file-Photo1", "name": "holiday.jpeg", "size": len(photo), "mimeType": "image/jpeg"}
        ],
    )
    tip = writer.add(
        tip, "assistant", {"content_type": "text", "parts": ["A beach and a chart."]}, model_slug="gpt-4o"
    )
    again = {
        "content_type": "multimodal_text",
        "parts": [_image_part("file-service://file-Photo1", len(photo)), "Draw it."],
    }
    tip = writer.add(tip, "user", again)
    drawing = {
        "content_type": "multimodal_text",
        "parts": [_image_part("file-service://file-Drawn3", len(drawn))],
    }
    tip = writer.add(tip, "tool", drawing)
    conversation_id = writer.new_id()
    return (
        {
            "title": "Holiday pictures",
            "create_time": started,
            "update_time": writer.clock,
            "mapping": writer.mapping,
            "current_node": tip,
            "conversation_id": conversation_id,
            "id": conversation_id,
            "default_model_slug": "gpt-4o",
        },
        files,
    )


def write_zip_with_images(path: Path, *, seed: int = 1, plain: int = 2) -> dict[str, bytes]:
    """Write a ChatGPT export .zip: one conversation with images, ``plain`` without; return its images."""
    rng = random.Random(seed)
    with_images, files = image_conversation(rng, 1_700_000_000.0)
    conversations = [with_images] + [conversation(rng, 3, 1_700_003_600.0 + 3600 * n) for n in range(plain)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("conversations.json", json.dumps(conversations, ensure_ascii=False))
        archive.writestr("user.json", json.dumps({"id": "user-1", "email": "someone@example.org"}))
        archive.writestr("chat.html", "<html></html>")
        for name, data in files.items():
            archive.writestr(name, data)
    return files
