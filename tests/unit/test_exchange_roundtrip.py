"""Export to the versioned JSON format and import it back: lossless, never overwriting, deduplicated."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import pytest
from fakes.exchange_samples import Sample, populate, table_contents
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_llm.storage.attachments import AttachmentRepository
from desktop_llm.storage.content_hash import tree_content_hash
from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import NotFound
from desktop_llm.storage.export_json import export_json_file
from desktop_llm.storage.importer import import_file
from desktop_llm.storage.markdown_export import conversation_markdown, export_markdown_file
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.records import Conversation, StoredMessage
from desktop_llm.storage.templates import TemplateRepository


@pytest.fixture
def source(tmp_path: Path) -> tuple[Database, Sample]:
    db = Database.open(tmp_path / "source.sqlite3")
    yield db, populate(db)
    db.close()


@pytest.fixture
def target(tmp_path: Path) -> Database:
    db = Database.open(tmp_path / "target.sqlite3")
    yield db
    db.close()


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_export_then_import_is_lossless(source, target: Database, tmp_path: Path) -> None:
    db, _ = source
    summary = export_json_file(db, tmp_path / "all.json")
    assert (summary.conversations, summary.folders, summary.templates) == (4, 2, 1)
    assert summary.messages == 10

    result = import_file(target, tmp_path / "all.json")
    assert (result.imported, result.skipped, result.renamed) == (4, 0, 0)
    assert (result.messages, result.folders, result.templates, result.format) == (10, 2, 1, "desktop-llm")
    # Every row of every content table, ids and timestamps included, is the same.
    assert table_contents(target.path) == table_contents(db.path)

    export_json_file(target, tmp_path / "again.json")
    first, second = read_json(tmp_path / "all.json"), read_json(tmp_path / "again.json")
    first.pop("exported_at"), second.pop("exported_at")
    assert first == second


def test_the_document_follows_the_documented_shape(source, tmp_path: Path) -> None:
    db, sample = source
    export_json_file(db, tmp_path / "all.json")
    document = read_json(tmp_path / "all.json")
    assert list(document)[:2] == ["format", "version"]
    assert (document["format"], document["version"]) == ("desktop-llm-export", 2)
    assert list(document)[-1] == "conversations"  # last, so readers can stream it
    branched = next(c for c in document["conversations"] if c["id"] == sample.branched)
    assert len(branched["messages"]) == 6
    finished = next(m for m in branched["messages"] if m["content"] == "Paris.")
    assert finished["reasoning"] == "The user wants a city."
    assert (finished["input_tokens"], finished["output_tokens"], finished["reasoning_tokens"]) == (21, 2, 5)
    assert finished["latency_ms"] == 412 and finished["finish_reason"] == "stop"
    assert "conversation_id" not in finished
    leaf = next(m for m in branched["messages"] if m["id"] == branched["current_leaf_id"])
    assert leaf["content"] == "The capital of" and leaf["status"] == "stopped"
    ids = [m["id"] for m in branched["messages"]]
    assert all(
        m["parent_id"] is None or ids.index(m["parent_id"]) < ids.index(m["id"]) for m in branched["messages"]
    )
    template = document["templates"][0]
    assert template["default_version"] == 2 and [v["number"] for v in template["versions"]] == [1, 2]
    trashed = next(c for c in document["conversations"] if c["id"] == sample.trashed)
    assert trashed["deleted_at"] is not None


def test_importing_the_same_file_again_skips_everything(source, tmp_path: Path) -> None:
    db, _ = source
    export_json_file(db, tmp_path / "all.json")
    before = table_contents(db.path)
    result = import_file(db, tmp_path / "all.json")
    assert (result.imported, result.skipped, result.renamed, result.folders, result.templates) == (
        0,
        4,
        0,
        0,
        0,
    )
    assert table_contents(db.path) == before


def test_a_changed_conversation_with_taken_ids_gets_new_ids(source, tmp_path: Path) -> None:
    db, sample = source
    export_json_file(db, tmp_path / "all.json", conversation_ids=[sample.branched])
    document = read_json(tmp_path / "all.json")
    conversation = document["conversations"][0]
    del conversation["content_hash"]
    conversation["messages"][0]["content"] = "What is the capital of Italy?"
    write_json(tmp_path / "changed.json", document)

    result = import_file(db, tmp_path / "changed.json")
    assert (result.imported, result.skipped, result.renamed) == (1, 0, 1)

    repository = ConversationRepository(db)
    original = repository.get(sample.branched)
    assert MessageRepository(db).active_path(original.id)[0].content == "What is the capital of France?"
    copies = [c for c in repository.list(limit=100) if c.title == "Capital of France" and c.id != original.id]
    assert len(copies) == 1
    copy = copies[0]
    path = MessageRepository(db).active_path(copy.id)
    assert [m.content for m in path] == ["What is the capital of Italy?", "The capital of"]
    old_ids = {m["id"] for m in conversation["messages"]}
    tree = MessageRepository(db).tree(copy.id)
    assert len(tree) == 6 and not old_ids & {m.id for m in tree}
    assert copy.current_leaf_id == path[-1].id


def test_identical_conversations_within_one_file_are_imported_once(
    source, target: Database, tmp_path: Path
) -> None:
    db, sample = source
    export_json_file(db, tmp_path / "one.json", conversation_ids=[sample.branched])
    document = read_json(tmp_path / "one.json")
    twin = json.loads(json.dumps(document["conversations"][0]))
    twin["id"] = "0b0b0b0b-0000-4000-8000-000000000000"
    twin["title"] = "Another title, same messages"
    document["conversations"].append(twin)
    result = import_file(target, write_json(tmp_path / "twins.json", document))
    assert (result.imported, result.skipped) == (1, 1)


def test_folders_are_reused_when_identical_and_renamed_when_not(
    source, target: Database, tmp_path: Path
) -> None:
    db, sample = source
    export_json_file(db, tmp_path / "folder.json", conversation_ids=[sample.in_folder])
    document = read_json(tmp_path / "folder.json")
    assert [f["name"] for f in document["folders"]] == ["Work"]
    assert document["templates"] == []

    ConversationRepository(target).insert_folder(
        dataclasses.replace(ConversationRepository(db).list_folders()[1], name="Not work")
    )
    result = import_file(target, tmp_path / "folder.json")
    assert result.folders == 1
    folders = {f.name: f.id for f in ConversationRepository(target).list_folders()}
    assert folders["Not work"] == sample.folder  # untouched
    assert folders["Work"] != sample.folder
    assert ConversationRepository(target).get(sample.in_folder).folder_id == folders["Work"]

    # Same id, same name: the folder is the same and is reused.
    result = import_file(db, tmp_path / "folder.json")
    assert result.folders == 0


def test_templates_are_skipped_when_identical_and_added_when_not(
    source, target: Database, tmp_path: Path
) -> None:
    db, sample = source
    export_json_file(db, tmp_path / "all.json")
    document = read_json(tmp_path / "all.json")
    assert import_file(db, tmp_path / "all.json").templates == 0

    document["templates"][0]["versions"][1]["body"] = {"user": "Changed"}
    result = import_file(db, write_json(tmp_path / "changed.json", document))
    assert result.templates == 1
    templates = TemplateRepository(db)
    assert templates.versions(sample.template)[1].body["user"].endswith("formally.")
    added = next(t for t in templates.list() if t.id != sample.template)
    assert added.name == "Translate" and added.default_version == 2
    assert [v.body for v in templates.versions(added.id)][1] == {"user": "Changed"}


def test_exporting_an_unknown_conversation_fails_and_writes_nothing(source, tmp_path: Path) -> None:
    db, _ = source
    with pytest.raises(NotFound):
        export_json_file(db, tmp_path / "out.json", conversation_ids=["7d1c4f52-0000-4000-8000-000000000000"])
    assert list(tmp_path.glob("out.json*")) == [] and list(tmp_path.glob(".out.json*")) == []


def test_an_export_replaces_an_existing_file_only_when_complete(source, tmp_path: Path) -> None:
    db, sample = source
    out = tmp_path / "out.json"
    out.write_text("previous")
    with pytest.raises(NotFound):
        export_json_file(db, out, conversation_ids=[sample.branched, "7d1c4f52-0000-4000-8000-000000000000"])
    assert out.read_text() == "previous"
    export_json_file(db, out, conversation_ids=[sample.branched])
    assert read_json(out)["conversations"][0]["id"] == sample.branched


# --- the content hash --------------------------------------------------------------------------


def _message(message_id: str, parent: str | None, content: str, created: str) -> StoredMessage:
    return StoredMessage(
        message_id, "c", parent, "user", content, "", "complete", None, None, None, None,
        None, None, None, None, None, created, False,
    )  # fmt: skip


def test_the_content_hash_ignores_ids_and_sibling_order() -> None:
    a = [_message("1", None, "q", "t1"), _message("2", "1", "x", "t2"), _message("3", "1", "y", "t3")]
    b = [_message("c", None, "q", "t1"), _message("b", "c", "y", "t3"), _message("a", "c", "x", "t2")]
    assert tree_content_hash("t0", a) == tree_content_hash("t0", b)


@pytest.mark.parametrize(
    "changed",
    [
        [_message("1", None, "q", "t1"), _message("2", "1", "x", "t2"), _message("3", "1", "Y", "t3")],
        [_message("1", None, "q", "t1"), _message("2", "1", "x", "t2"), _message("3", "1", "y", "t4")],
        [_message("1", None, "q", "t1"), _message("2", "1", "x", "t2"), _message("3", "2", "y", "t3")],
        [_message("1", None, "q", "t1"), _message("2", "1", "x", "t2")],
    ],
    ids=["content", "time", "shape", "a message fewer"],
)
def test_the_content_hash_sees_every_change(changed: list[StoredMessage]) -> None:
    original = [_message("1", None, "q", "t1"), _message("2", "1", "x", "t2"), _message("3", "1", "y", "t3")]
    assert tree_content_hash("t0", changed) != tree_content_hash("t0", original)
    assert tree_content_hash("t0", original) != tree_content_hash("t9", original)


def test_the_content_hash_of_a_long_chain_needs_no_recursion() -> None:
    chain = [_message(str(i), str(i - 1) if i else None, f"m{i}", f"t{i:05}") for i in range(5000)]
    assert len(tree_content_hash("t", chain)) == 64


# --- random trees ------------------------------------------------------------------------------

trees = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10**6),  # picks the parent among earlier messages, or none
        st.sampled_from(["user", "assistant", "system"]),
        st.text(max_size=40),
        st.sampled_from(["complete", "stopped", "error", "interrupted"]),
        st.none() | st.integers(min_value=0, max_value=10**6),
    ),
    max_size=25,
)


@settings(max_examples=25)
@given(tree=trees, leaf_choice=st.integers(min_value=0, max_value=10**6))
def test_random_trees_survive_the_round_trip(tree, leaf_choice: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        db = Database.open(root / "a.sqlite3")
        conversations, messages = ConversationRepository(db), MessageRepository(db)
        conversation = conversations.create("random")
        ids: list[str] = []
        for pick, role, text, status, tokens in tree:
            parent = None if not ids or pick % (len(ids) + 1) == len(ids) else ids[pick % (len(ids) + 1)]
            added = messages.append(
                conversation.id, parent_id=parent, role=role, content="", status="streaming"
            )
            usage = None if tokens is None else (tokens, tokens // 2, 0, 0)
            messages.finish(added.id, status=status, content=text, usage=usage)
            ids.append(added.id)
        if ids:
            messages.switch_branch(conversation.id, ids[leaf_choice % len(ids)])
        export_json_file(db, root / "out.json")
        other = Database.open(root / "b.sqlite3")
        assert import_file(other, root / "out.json").imported == 1
        assert table_contents(other.path) == table_contents(db.path)
        assert import_file(other, root / "out.json").skipped == 1
        other.close()
        db.close()


# --- Markdown ----------------------------------------------------------------------------------


def test_markdown_shows_the_branch_on_screen(source, tmp_path: Path) -> None:
    db, sample = source
    MessageRepository(db).switch_branch(sample.branched, MessageRepository(db).tree(sample.branched)[1].id)
    count = export_markdown_file(db, sample.branched, tmp_path / "chat.md")
    text = (tmp_path / "chat.md").read_text(encoding="utf-8")
    assert count == 4
    assert text.startswith("# Capital of France\n")
    assert "## System\n\nBe brief." in text
    assert text.index("## User\n\nWhat is the capital of France?") < text.index("Paris.")
    assert "> **Reasoning**\n>\n> The user wants a city." in text
    assert "*21 in / 2 out / 5 reasoning tokens*" in text
    assert "東京 (Tokyo)." in text
    assert "The capital of" not in text  # another branch


def test_markdown_marks_unfinished_and_failed_replies() -> None:
    failed = dataclasses.replace(
        _message("1", None, "", "t1"), role="assistant", status="error", error="HTTP 529: overloaded"
    )
    conversation = Conversation(
        "c", "", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z", False, None, False, None,
        None, "gpt-4o", "", {}, "1",
    )  # fmt: skip
    text = conversation_markdown(conversation, [failed])
    assert text.startswith("# Untitled conversation\n\n- Started: 2026-01-01T00:00:00.000Z\n- Model: gpt-4o")
    assert "*(empty)*" in text and "*error · error: HTTP 529: overloaded*" in text


def test_markdown_of_an_unknown_conversation_is_not_found(source, tmp_path: Path) -> None:
    db, _ = source
    with pytest.raises(NotFound):
        export_markdown_file(db, "7d1c4f52-0000-4000-8000-000000000000", tmp_path / "x.md")
    assert not (tmp_path / "x.md").exists()


# --- the documentation -------------------------------------------------------------------------


def _documented_example(repo_root: Path) -> dict:
    text = (repo_root / "docs" / "export-format.md").read_text(encoding="utf-8")
    block = text.split("## Example", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    return json.loads(block)


def test_the_documented_example_imports(repo_root: Path, target: Database, tmp_path: Path) -> None:
    document = _documented_example(repo_root)
    for conversation in document["conversations"]:
        assert conversation.pop("content_hash") == "…"  # shortened in the doc, as it says
    for template in document["templates"]:
        for version in template["versions"]:
            version.pop("content_hash")
    result = import_file(target, write_json(tmp_path / "example.json", document))
    assert (result.imported, result.folders, result.templates) == (1, 1, 1)
    path = MessageRepository(target).active_path("5d2f7c1e-3a4b-4c8d-9e0f-1a2b3c4d5e6f")
    assert [m.content for m in path] == ["What is the capital of France?", "The capital of France is Paris."]
    [attached] = path[0].attachments
    assert (attached.name, attached.media_type, attached.size) == ("hello.txt", "text/plain", 5)
    assert AttachmentRepository(target).load(attached.sha256) == b"hello"


def _hash_as_documented(conversation_created_at: str, messages: list[StoredMessage]) -> str:
    """The content hash exactly as docs/export-format.md defines it, written independently."""
    import hashlib

    def canonical(value: object) -> bytes:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def node_hash(message: StoredMessage) -> str:
        children = sorted(node_hash(c) for c in messages if c.parent_id == message.id)
        node = {
            "role": message.role,
            "content": message.content,
            "reasoning": message.reasoning,
            "created_at": message.created_at,
            "children": children,
        }
        return hashlib.sha256(canonical(node)).hexdigest()

    roots = sorted(node_hash(m) for m in messages if m.parent_id is None)
    return hashlib.sha256(canonical({"created_at": conversation_created_at, "roots": roots})).hexdigest()


@settings(max_examples=50)
@given(
    shape=st.lists(st.tuples(st.integers(min_value=0, max_value=10**6), st.text(max_size=8)), max_size=12),
    started=st.sampled_from(["2026-01-01T00:00:00.000Z", "2026-11-27T19:40:59.123Z"]),
)
def test_the_content_hash_is_the_documented_one(shape, started: str) -> None:
    messages: list[StoredMessage] = []
    for index, (pick, text) in enumerate(shape):
        parent = None if pick % (index + 1) == index else messages[pick % (index + 1)].id
        messages.append(
            dataclasses.replace(_message(str(index), parent, text, f"t{index}"), reasoning=text[:2])
        )
    assert tree_content_hash(started, messages) == _hash_as_documented(started, messages)
