"""A ChatGPT export .zip brings the images its messages point at in as attachments."""

from __future__ import annotations

import hashlib
import json
import random
import zipfile
from pathlib import Path

import pytest
from fakes.chatgpt_export import image_conversation, write_zip_with_images
from fakes.exchange_samples import table_contents

from desktop_llm.storage.attachments import AttachmentRepository
from desktop_llm.storage.chatgpt_assets import AssetInfo, ZipAssets
from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import ImportFailed
from desktop_llm.storage.export_json import export_json_file
from desktop_llm.storage.importer import import_file
from desktop_llm.storage.messages import MessageRepository


@pytest.fixture
def db(tmp_path: Path):
    database = Database.open(tmp_path / "store.sqlite3")
    yield database
    database.close()


def _pictures(db: Database):
    conversation = next(c for c in ConversationRepository(db).list(limit=50) if c.title == "Holiday pictures")
    return MessageRepository(db).active_path(conversation.id)


def test_images_in_the_zip_become_attachments_in_order(db: Database, tmp_path: Path) -> None:
    files = write_zip_with_images(tmp_path / "export.zip")

    result = import_file(db, tmp_path / "export.zip")

    assert (result.format, result.imported) == ("chatgpt", 3)
    question, answer, again, drawing = _pictures(db)
    # Named by the message's metadata; else by the file in the zip without its id; typed either way.
    assert [(a.name, a.media_type, a.size) for a in question.attachments] == [
        ("holiday.jpeg", "image/jpeg", len(files["file-Photo1-IMG_0001.jpeg"])),
        ("chart.png", "image/png", len(files["file_00000000aa11bb22cc33dd44-chart.png"])),
    ]
    assert question.content == "[image]\n\nWhat do these show?"  # the image the zip lacks stays a placeholder
    assert answer.attachments == ()
    assert [a.sha256 for a in again.attachments] == [question.attachments[0].sha256]
    assert again.content == "Draw it."
    assert drawing.role == "assistant" and drawing.content == "Tool output (python):"
    assert [(a.name, a.media_type) for a in drawing.attachments] == [("file-Drawn3.webp", "image/webp")]
    stored = AttachmentRepository(db)
    assert stored.load(question.attachments[0].sha256) == files["file-Photo1-IMG_0001.jpeg"]
    assert stored.load(drawing.attachments[0].sha256) == files["file-Drawn3.webp"]
    assert hashlib.sha256(files["file-Drawn3.webp"]).hexdigest() == drawing.attachments[0].sha256
    # The photo sent twice is stored once; the thumbnail and unused files are not stored at all.
    assert db.conn.execute("SELECT count(*) FROM attachment_blobs").fetchone()[0] == 3


def test_a_zip_with_images_imports_once_and_round_trips_through_our_format(
    db: Database, tmp_path: Path
) -> None:
    write_zip_with_images(tmp_path / "export.zip")
    import_file(db, tmp_path / "export.zip")
    before = table_contents(db.path)
    again = import_file(db, tmp_path / "export.zip")
    assert (again.imported, again.skipped) == (0, 3)
    assert table_contents(db.path) == before

    export_json_file(db, tmp_path / "ours.json")
    with Database.open(tmp_path / "copy.sqlite3") as copy:
        assert import_file(copy, tmp_path / "ours.json").imported == 3
        assert table_contents(copy.path) == table_contents(db.path)


def test_a_failing_zip_import_stores_no_image(db: Database, tmp_path: Path) -> None:
    conversation, files = image_conversation(random.Random(1), 1_700_000_000.0)
    broken = dict(conversation, mapping={**conversation["mapping"], "loop": {"id": "loop", "parent": "loop"}})
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as archive:
        archive.writestr("conversations.json", json.dumps([conversation, broken]))
        for name, data in files.items():
            archive.writestr(name, data)
    before = table_contents(db.path)

    with pytest.raises(ImportFailed, match="loops"):
        import_file(db, tmp_path / "bad.zip")
    assert table_contents(db.path) == before


def test_an_image_larger_than_the_limit_stays_a_placeholder(tmp_path: Path, caplog) -> None:
    files = write_zip_with_images(tmp_path / "export.zip")
    with zipfile.ZipFile(tmp_path / "export.zip") as archive:
        assets = ZipAssets(archive, max_bytes=len(files["file_00000000aa11bb22cc33dd44-chart.png"]) - 1)
        assert assets.resolve("sediment://file_00000000aa11bb22cc33dd44", AssetInfo()) is None
        photo = assets.resolve("file-service://file-Photo1", AssetInfo())
        assert photo is not None and (photo.name, photo.media_type) == ("IMG_0001.jpeg", "image/jpeg")
        assert assets.resolve("file-service://file-Missing9", AssetInfo()) is None
        assert assets.resolve("https://example.org/x.png", AssetInfo()) is None
    assert "larger than" in caplog.text
