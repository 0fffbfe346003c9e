"""Export format version 2: attachments inline as base64 with their hash, tool calls and results.

Round trips without loss, reads version 1 still, checks the base64 and the hash, and moves a
large attachment without holding it more than a couple of times.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tracemalloc
from pathlib import Path

import pytest
from fakes.exchange_samples import NOTES, PHOTO, populate, populate_files_and_tools, table_contents

from desktop_llm.storage.attachments import AttachmentRepository
from desktop_llm.storage.content_hash import tree_content_hash
from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import ImportFailed
from desktop_llm.storage.export_json import export_json_file
from desktop_llm.storage.importer import import_file
from desktop_llm.storage.markdown_export import export_markdown_file
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.records import AttachmentRef, StoredToolCall


@pytest.fixture
def source(tmp_path: Path):
    db = Database.open(tmp_path / "source.sqlite3")
    populate(db)
    yield db, populate_files_and_tools(db)
    db.close()


@pytest.fixture
def target(tmp_path: Path):
    db = Database.open(tmp_path / "target.sqlite3")
    yield db
    db.close()


def _document(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _blobs(db: Database) -> int:
    return db.conn.execute("SELECT count(*) FROM attachment_blobs").fetchone()[0]


def _fails(db: Database, path: Path) -> list[str]:
    before = table_contents(db.path)
    with pytest.raises(ImportFailed) as failed:
        import_file(db, path)
    assert table_contents(db.path) == before
    return failed.value.problems


def test_files_and_tools_round_trip_without_loss(source, target: Database, tmp_path: Path) -> None:
    db, _ = source
    export_json_file(db, tmp_path / "all.json")

    result = import_file(target, tmp_path / "all.json")

    assert (result.imported, result.skipped, result.renamed) == (7, 0, 0)
    assert table_contents(target.path) == table_contents(db.path)
    assert _blobs(target) == 2  # the photo (in two conversations, three messages) and the notes
    export_json_file(target, tmp_path / "again.json")
    first, second = _document(tmp_path / "all.json"), _document(tmp_path / "again.json")
    first.pop("exported_at"), second.pop("exported_at")
    assert first == second


def test_the_document_carries_each_attachment_once_as_base64_with_its_hash(source, tmp_path: Path) -> None:
    db, ids = source
    export_json_file(db, tmp_path / "all.json")
    text = (tmp_path / "all.json").read_text(encoding="utf-8")
    document = json.loads(text)

    assert document["version"] == 2
    assert list(document) == [
        "format",
        "version",
        "exported_at",
        "generator",
        "folders",
        "templates",
        "attachments",
        "conversations",
    ]
    blobs = {blob["sha256"]: blob for blob in document["attachments"]}
    assert set(blobs) == {hashlib.sha256(PHOTO).hexdigest(), hashlib.sha256(NOTES).hexdigest()}
    photo = blobs[hashlib.sha256(PHOTO).hexdigest()]
    assert photo["size"] == len(PHOTO)
    assert photo["data"] == base64.b64encode(PHOTO).decode()  # standard alphabet, padded, one line
    assert "\\n" not in photo["data"] and "\n" not in photo["data"]
    conversation = next(c for c in document["conversations"] if c["id"] == ids.with_files)
    question = conversation["messages"][0]
    assert [(a["name"], a["media_type"], a["size"]) for a in question["attachments"]] == [
        ("photo.png", "image/png", len(PHOTO)),
        ("notes.csv", "text/csv", len(NOTES)),
        ("same-photo.png", "image/png", len(PHOTO)),
    ]
    assert "attachments" not in conversation["messages"][1]  # a message without files says nothing


def test_tool_calls_and_results_are_in_the_document(source, tmp_path: Path) -> None:
    db, ids = source
    export_json_file(db, tmp_path / "all.json")
    conversation = next(
        c for c in _document(tmp_path / "all.json")["conversations"] if c["id"] == ids.with_tools
    )
    roles = [m["role"] for m in conversation["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "assistant"]
    asking = conversation["messages"][1]
    assert asking["tool_calls"] == [
        {
            "id": "call_1",
            "name": "add_numbers",
            "arguments": '{"a": 40, "b": 2}',
            "provider_data": {"thoughtSignature": "c2ln"},
        },
        {"id": "call_2", "name": "broken", "arguments": "{not json", "provider_data": None},
    ]
    result = conversation["messages"][3]
    assert {
        k: result[k] for k in ("tool_call_id", "tool_name", "tool_server", "tool_is_error", "content")
    } == {
        "tool_call_id": "call_2",
        "tool_name": "broken",
        "tool_server": "calculator",
        "tool_is_error": True,
        "content": "The arguments were not valid JSON.",
    }
    assert "tool_call_id" not in asking


def test_importing_the_same_export_again_adds_nothing(source, tmp_path: Path) -> None:
    db, _ = source
    export_json_file(db, tmp_path / "all.json")
    before = table_contents(db.path)
    result = import_file(db, tmp_path / "all.json")
    assert (result.imported, result.skipped) == (0, 7)
    assert table_contents(db.path) == before


def test_an_imported_copy_shares_the_stored_bytes(source, tmp_path: Path) -> None:
    db, ids = source
    export_json_file(db, tmp_path / "one.json", conversation_ids=[ids.with_files])
    document = _document(tmp_path / "one.json")
    document["conversations"][0]["messages"][0]["attachments"][0]["name"] = "renamed.png"
    del document["conversations"][0]["content_hash"]
    (tmp_path / "renamed.json").write_text(json.dumps(document), encoding="utf-8")

    result = import_file(db, tmp_path / "renamed.json")

    assert (result.imported, result.renamed) == (1, 1)  # a different name is a different conversation
    assert _blobs(db) == 2  # but the bytes are the ones already stored
    copy = next(
        c
        for c in ConversationRepository(db).list(limit=50)
        if c.id not in (ids.with_files,) and c.title == "Look at these"
    )
    path = MessageRepository(db).tree(copy.id)
    assert [ref.name for ref in path[0].attachments] == ["renamed.png", "notes.csv", "same-photo.png"]
    assert AttachmentRepository(db).load(path[0].attachments[0].sha256) == PHOTO


def test_a_version_1_file_still_imports(target: Database, tmp_path: Path) -> None:
    document = {
        "format": "desktop-llm-export",
        "version": 1,
        "conversations": [
            {
                "id": "5d2f7c1e-3a4b-4c8d-9e0f-1a2b3c4d5e6f",
                "title": "Old",
                "created_at": "2026-11-27T19:40:00.000Z",
                "updated_at": "2026-11-27T19:41:00.000Z",
                "messages": [
                    {
                        "id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
                        "parent_id": None,
                        "role": "user",
                        "content": "Hello",
                        "created_at": "2026-11-27T19:40:59.123Z",
                        # members of a later version are ignored in a version-1 file
                        "attachments": [{"sha256": "zz"}],
                    }
                ],
            }
        ],
    }
    (tmp_path / "v1.json").write_text(json.dumps(document), encoding="utf-8")
    result = import_file(target, tmp_path / "v1.json")
    assert result.imported == 1
    [message] = MessageRepository(target).tree("5d2f7c1e-3a4b-4c8d-9e0f-1a2b3c4d5e6f")
    assert (message.content, message.attachments) == ("Hello", ())


def _with_photo(tmp_path: Path, source, change) -> Path:
    db, ids = source
    export_json_file(db, tmp_path / "one.json", conversation_ids=[ids.with_files])
    document = _document(tmp_path / "one.json")
    photo = next(blob for blob in document["attachments"] if blob["size"] == len(PHOTO))
    change(photo, document)
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda blob, _: blob.update(data=blob["data"][:-4] + "!!!!"),
            "attachments[0].data: not valid base64",
        ),
        (
            lambda blob, _: blob.update(data=blob["data"][:100] + "\n" + blob["data"][100:]),
            "attachments[0].data: not valid base64",
        ),
        (lambda blob, _: blob.update(data=blob["data"][:-1]), "attachments[0].data: not valid base64"),
        (lambda blob, _: blob.update(data="QQ==" + blob["data"]), "attachments[0].data: not valid base64"),
        (
            lambda blob, _: blob.update(data=base64.b64encode(PHOTO[:-1] + b"X").decode()),
            "attachments[0].sha256: does not match the data",
        ),
        (lambda blob, _: blob.update(size=blob["size"] + 1), "attachments[0].size: "),
        (lambda blob, _: blob.update(data=42), "attachments[0].data: expected a base64 string"),
        (lambda blob, _: blob.pop("sha256"), "attachments[0].sha256: missing"),
        (lambda _, document: document["attachments"].pop(0), "conversations[0]: message"),
    ],
)
def test_bad_attachment_data_is_named_and_changes_nothing(source, tmp_path: Path, change, expected) -> None:
    db, _ = source
    problems = _fails(db, _with_photo(tmp_path, source, change))
    assert any(problem.startswith(expected) for problem in problems), problems


def test_the_content_hash_covers_files_and_tool_data_and_leaves_plain_trees_as_in_version_1() -> None:
    from desktop_llm.storage.records import StoredMessage

    def message(**changes) -> StoredMessage:
        base = dict(
            id="m1",
            conversation_id="c",
            parent_id=None,
            role="user",
            content="hi",
            reasoning="",
            status="complete",
            error=None,
            provider_id=None,
            model=None,
            finish_reason=None,
            input_tokens=None,
            output_tokens=None,
            cached_input_tokens=None,
            reasoning_tokens=None,
            latency_ms=None,
            created_at="t1",
            pinned=False,
        )
        return StoredMessage(**{**base, **changes})

    plain = message()
    canonical = json.dumps(
        {"role": "user", "content": "hi", "reasoning": "", "created_at": "t1", "children": []},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    node = hashlib.sha256(canonical.encode()).hexdigest()
    root = json.dumps({"created_at": "t0", "roots": [node]}, sort_keys=True, separators=(",", ":"))
    assert tree_content_hash("t0", [plain]) == hashlib.sha256(root.encode()).hexdigest()

    photo = AttachmentRef("a" * 64, "photo.png", "image/png", 3)
    with_file = message(attachments=(photo,))
    renamed = message(attachments=(AttachmentRef("a" * 64, "other.png", "image/png", 3),))
    call = message(role="assistant", tool_calls=(StoredToolCall("call_1", "add", "{}"),))
    other_call = message(role="assistant", tool_calls=(StoredToolCall("call_1", "add", '{"a": 1}'),))
    result = message(role="tool", tool_call_id="call_1", tool_name="add")
    failed = message(role="tool", tool_call_id="call_1", tool_name="add", tool_is_error=True)
    slower = message(role="tool", tool_call_id="call_1", tool_name="add", tool_duration_ms=999)
    hashes = [
        tree_content_hash("t0", [m]) for m in (plain, with_file, renamed, call, other_call, result, failed)
    ]
    assert len(set(hashes)) == len(hashes)
    assert tree_content_hash("t0", [slower]) == tree_content_hash("t0", [result])  # a measurement


def test_a_20_mb_attachment_is_never_held_more_than_twice(tmp_path: Path) -> None:
    size = 20 << 20
    data = hashlib.sha256(b"seed").digest() * (size // 32)
    folder = tmp_path / "big"
    with Database.open(folder / "source.sqlite3") as db:
        conversation = ConversationRepository(db).create("Big file")
        with db.transaction():
            ref = AttachmentRepository(db).store("big.bin", "application/octet-stream", data)
            MessageRepository(db).append(
                conversation.id, parent_id=None, role="user", content="x", attachments=[ref]
            )
        del data
        tracemalloc.start()
        try:
            export_json_file(db, tmp_path / "big.json")
            _, export_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    with Database.open(folder / "target.sqlite3") as target:
        tracemalloc.start()
        try:
            result = import_file(target, tmp_path / "big.json")
            _, import_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert result.imported == 1
        stored = AttachmentRepository(target)
        assert hashlib.sha256(stored.load(ref.sha256)).hexdigest() == ref.sha256
    # Pieces of a megabyte or so move through; the whole 20 MB (27 MB as base64) is never held.
    assert (export_peak < size / 2, import_peak < size / 2) == (True, True), (export_peak, import_peak)


def test_markdown_shows_files_tool_calls_and_results(source, tmp_path: Path) -> None:
    db, ids = source
    export_markdown_file(db, ids.with_tools, tmp_path / "tools.md")
    text = (tmp_path / "tools.md").read_text(encoding="utf-8")
    assert 'Called `add_numbers`:\n\n```\n{"a": 40, "b": 2}\n```' in text
    assert "## Tool result · add_numbers (calculator)\n\n42" in text
    assert "## Tool result · broken (calculator) · failed\n\nThe arguments were not valid JSON." in text
    export_markdown_file(db, ids.with_files, tmp_path / "files.md")
    text = (tmp_path / "files.md").read_text(encoding="utf-8")
    assert f"- Attached: photo.png (image/png, {len(PHOTO):,} bytes)" in text
    assert "- Attached: notes.csv (text/csv, 14 bytes)" in text
