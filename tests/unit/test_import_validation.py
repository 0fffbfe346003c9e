"""Bad import input is named precisely and changes nothing."""

from __future__ import annotations

import copy
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fakes.exchange_samples import Sample, populate, table_contents

from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import ImportFailed
from desktop_llm.storage.export_json import export_json_file
from desktop_llm.storage.import_source import ImportLimits
from desktop_llm.storage.importer import import_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "chatgpt"
MISSING_ID = "9f9f9f9f-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def valid_document(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("valid")
    db = Database.open(folder / "db.sqlite3")
    sample = populate(db)
    export_json_file(db, folder / "all.json")
    db.close()
    document = json.loads((folder / "all.json").read_text(encoding="utf-8"))
    # conversations[0] is the branched one: question, three replies, a follow-up and its answer.
    document["conversations"].sort(key=lambda c: c["id"] != sample.branched)
    return document


@pytest.fixture
def store(tmp_path: Path) -> tuple[Database, Sample]:
    db = Database.open(tmp_path / "store.sqlite3")
    yield db, populate(db)
    db.close()


def fails(db: Database, path: Path, limits: ImportLimits | None = None) -> list[str]:
    """Import ``path``, expecting ImportFailed; check nothing changed; return the problems."""
    before = table_contents(db.path)
    with pytest.raises(ImportFailed) as failed:
        import_file(db, path, **({"limits": limits} if limits else {}))
    assert table_contents(db.path) == before
    assert "Nothing was changed" in str(failed.value)
    return failed.value.problems


def edited(document: dict, edit: Callable[[dict], object], tmp_path: Path) -> Path:
    changed = copy.deepcopy(document)
    edit(changed)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(changed), encoding="utf-8")
    return path


def write(tmp_path: Path, data: bytes | str, name: str = "input.json") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --- not our format, or not JSON at all --------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("", "the file is empty"),
        ("   \n", "the file is empty"),
        ("Hello, world", "not JSON: it starts with 'Hello, world'"),
        ("<!DOCTYPE html><html>", "not JSON: it starts with '<!DOCTYPE html><html'"),
        (
            '{"format": "desktop-llm-export", "version": 1, "conversations": [{"id": ',
            "not valid JSON at line 1",
        ),
        (
            '{"format": "desktop-llm-export", "version": 1 "conversations": []}',
            "line 1 column 47: expected ','",
        ),
        (b'{"format": "desktop-llm-export", "title": "caf\xe9"}', "not UTF-8 text"),
        ('{"format": "desktop-llm-export", "version": 1, "conversations": []} trailing', "extra data"),
        ('{"name": "a settings file"}', 'not a Desktop LLM export: the top-level object has no "format"'),
        (
            '{"format": "other-app", "version": 1, "conversations": []}',
            "another format: \"format\" is 'other-app'",
        ),
        (
            '[{"role": "user", "content": "hi"}]',
            "another format: a JSON list whose first item is not a ChatGPT",
        ),
        (
            '{"format": "desktop-llm-export", "version": 3, "conversations": []}',
            "newer Desktop LLM (format version 3",
        ),
        (
            '{"format": "desktop-llm-export", "version": "1", "conversations": []}',
            "version: expected a whole number",
        ),
        ('{"format": "desktop-llm-export", "version": 1}', "conversations: missing"),
        (
            '{"format": "desktop-llm-export", "version": 1, "conversations": {}}',
            "conversations: expected a list",
        ),
    ],
)
def test_input_that_is_not_a_readable_export(store, tmp_path: Path, data: str | bytes, expected: str) -> None:
    db, _ = store
    problems = fails(db, write(tmp_path, data))
    assert any(expected in problem for problem in problems), problems


def test_a_newer_version_is_named_even_when_the_rest_is_unreadable(store, tmp_path: Path) -> None:
    db, _ = store
    document = {"format": "desktop-llm-export", "version": 7, "conversations": [{"shape": "unknown"}]}
    problems = fails(db, write(tmp_path, json.dumps(document)))
    assert len(problems) == 1 and "update Desktop LLM" in problems[0]


def test_the_format_is_checked_wherever_it_stands(store, tmp_path: Path) -> None:
    db, _ = store
    document = {"conversations": [{"whatever": 1}], "version": 1, "format": "someone-else"}
    assert fails(db, write(tmp_path, json.dumps(document))) == [
        "another format: \"format\" is 'someone-else', expected 'desktop-llm-export'"
    ]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.mkdir(), "is a folder, not a file"),
        (lambda p: None, "does not exist"),
        (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), "is a damaged .zip file"),
    ],
    ids=["folder", "missing", "damaged zip"],
)
def test_files_that_cannot_be_read(
    store, tmp_path: Path, make: Callable[[Path], None], expected: str
) -> None:
    db, _ = store
    path = tmp_path / "thing"
    make(path)
    assert expected in fails(db, path)[0]


def test_a_zip_without_conversations_json(store, tmp_path: Path) -> None:
    db, _ = store
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        archive.writestr("chat.html", "<html></html>")
    assert "holds no conversations.json" in fails(db, tmp_path / "export.zip")[0]


# --- valid JSON, invalid content ---------------------------------------------------------------

MESSAGES = "conversations[0].messages"


def _set(path: list, value: object) -> Callable[[dict], None]:
    def edit(document: dict) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _delete(path: list) -> Callable[[dict], None]:
    def edit(document: dict) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


def _both(*edits: Callable[[dict], None]) -> Callable[[dict], None]:
    def edit(document: dict) -> None:
        for one in edits:
            one(document)

    return edit


C0 = ["conversations", 0]
M = [*C0, "messages"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_delete([*M, 1, "role"]), f"{MESSAGES}[1].role: missing"),
        (_delete([*C0, "title"]), "conversations[0].title: missing"),
        (_delete([*C0, "messages"]), "conversations[0].messages: missing"),
        (
            _set([*M, 2, "role"], "robot"),
            f"{MESSAGES}[2].role: expected one of assistant, system, tool, user, found a string 'robot'",
        ),
        (_set([*M, 2, "role"], "tool"), f"{MESSAGES}[2].tool_call_id: missing"),
        (
            _both(_set(["version"], 1), _set([*M, 2, "role"], "tool")),
            f"{MESSAGES}[2].role: expected one of assistant, system, user, found a string 'tool'",
        ),
        (
            _set([*M, 2, "tool_calls"], [{"id": "call_1", "name": "add"}]),
            f"{MESSAGES}[2].tool_calls[0].arguments: missing",
        ),
        (
            _set([*M, 0, "tool_calls"], [{"id": "call_1", "name": "add", "arguments": "{}"}]),
            f"{MESSAGES}[0].tool_calls: only an assistant message asks for tools, not a user message",
        ),
        (
            _set(
                [*M, 0, "attachments"],
                [{"sha256": "A" * 64, "name": "x.png", "media_type": "image/png", "size": 1}],
            ),
            f"{MESSAGES}[0].attachments[0].sha256: expected 64 lowercase hex digits",
        ),
        (
            _both(
                _delete([*C0, "content_hash"]),
                _set(
                    [*M, 0, "attachments"],
                    [{"sha256": "a" * 64, "name": "x.png", "media_type": "image/png", "size": 1}],
                ),
            ),
            "conversations[0]: message",
        ),
        (
            _set([*M, 2, "input_tokens"], "12"),
            f"{MESSAGES}[2].input_tokens: expected a whole number ≥ 0 or null, found a string '12'",
        ),
        (
            _set([*M, 2, "output_tokens"], -1),
            f"{MESSAGES}[2].output_tokens: expected a whole number ≥ 0 or null",
        ),
        (_set([*M, 2, "latency_ms"], 1.5), f"{MESSAGES}[2].latency_ms: expected a whole number ≥ 0 or null"),
        (
            _set([*M, 0, "pinned"], "yes"),
            f"{MESSAGES}[0].pinned: expected true or false, found a string 'yes'",
        ),
        (_set([*M, 0, "content"], None), f"{MESSAGES}[0].content: expected a string, found null"),
        (_set([*M, 0, "created_at"], "yesterday"), f"{MESSAGES}[0].created_at: expected a UTC timestamp"),
        (
            _set([*M, 0, "created_at"], "2026-02-30T10:00:00.000Z"),
            f"{MESSAGES}[0].created_at: expected a UTC timestamp",
        ),
        (_set([*M, 0, "id"], "message-1"), f"{MESSAGES}[0].id: expected a UUID string"),
        (_set([*M, 0, "status"], "done"), f"{MESSAGES}[0].status: expected one of complete, error"),
        (_set([*M, 0], "hello"), f"{MESSAGES}[0]: expected an object, found a string 'hello'"),
        (_set([*C0, "messages"], {}), "conversations[0].messages: expected a list, found an object"),
        (_set([*C0, "params"], []), "conversations[0].params: expected an object, found a list"),
        (
            _set([*C0, "params", "max_tokens"], "lots"),
            "conversations[0].params.max_tokens: expected a whole number from 1 to 1,000,000 or null, "
            "found a string 'lots'",
        ),
        (
            _set([*C0, "params", "max_tokens"], 10**12),
            "conversations[0].params.max_tokens: expected a whole number from 1 to 1,000,000 or null, "
            "found a number 1000000000000",
        ),
        (
            _set([*C0, "params", "temperature"], [1]),
            "conversations[0].params.temperature: expected a number from 0 to 2 or null, found a list",
        ),
        (
            _set([*C0, "params", "temperature"], True),
            "conversations[0].params.temperature: expected a number from 0 to 2 or null, found a boolean",
        ),
        (
            _set([*C0, "params", "context"], "everything"),
            "conversations[0].params.context: expected 'sliding' or 'summarise', found a string 'everything'",
        ),
        (
            _set([*C0, "params", "summary"], {"text": 5}),
            'conversations[0].params.summary: expected an object with "text" and "covers_through_id" strings',
        ),
        (
            _set([*C0, "deleted_at"], 0),
            "conversations[0].deleted_at: expected a UTC timestamp like '2026-11-27T19:40:59.123Z' "
            "or null, found a number 0",
        ),
        (_set(["conversations", 1], None), "conversations[1]: expected an object, found null"),
        (_set(["folders", 0, "name"], 5), "folders[0].name: expected a string, found a number 5"),
        (
            _set(["templates", 0, "versions", 1, "number"], 3),
            "templates[0].versions: numbers must run 1, 2, 3...",
        ),
        (
            _set(["templates", 0, "default_version"], 4),
            "templates[0].default_version: 4 is not one of the versions [1, 2]",
        ),
        (
            _set(["templates", 0, "versions", 0, "body"], "text"),
            "templates[0].versions[0].body: expected an object",
        ),
    ],
)
def test_missing_and_mistyped_members_are_named(
    store, valid_document, tmp_path: Path, edit, expected: str
) -> None:
    db, _ = store
    problems = fails(db, edited(valid_document, edit, tmp_path))
    assert any(problem.startswith(expected) for problem in problems), problems


def test_known_settings_in_range_and_unknown_ones_import(store, valid_document, tmp_path: Path) -> None:
    db, _ = store
    params = {"temperature": 0, "max_tokens": 1_000_000, "context": "summarise", "a_newer_setting": [1]}
    path = edited(valid_document, _set([*C0, "params"], params), tmp_path)
    result = import_file(db, path)
    assert result.imported == 4
    stored = [
        c for c in ConversationRepository(db).list(limit=50, include_archived=True) if c.params == params
    ]
    assert len(stored) == 1


def test_a_dangling_parent_is_named(store, valid_document, tmp_path: Path) -> None:
    db, _ = store
    problems = fails(db, edited(valid_document, _set([*M, 3, "parent_id"], MISSING_ID), tmp_path))
    assert problems == [f"{MESSAGES}[3].parent_id: '{MISSING_ID}' does not exist in this conversation"]


def test_a_parent_in_another_conversation_is_dangling(store, valid_document, tmp_path: Path) -> None:
    db, _ = store
    elsewhere = valid_document["conversations"][1]["messages"][0]["id"]
    problems = fails(db, edited(valid_document, _set([*M, 3, "parent_id"], elsewhere), tmp_path))
    assert problems == [f"{MESSAGES}[3].parent_id: '{elsewhere}' does not exist in this conversation"]


def test_a_cycle_is_named(store, valid_document, tmp_path: Path) -> None:
    db, _ = store

    def loop(document: dict) -> None:
        messages = document["conversations"][0]["messages"]
        messages[0]["parent_id"] = messages[1]["id"]  # the root now hangs under its own reply

    problems = fails(db, edited(valid_document, loop, tmp_path))
    assert problems and all("loops (a cycle)" in problem for problem in problems)
    assert any(problem.startswith(f"{MESSAGES}[0].parent_id") for problem in problems)


def test_a_message_that_is_its_own_parent_is_a_cycle(store, valid_document, tmp_path: Path) -> None:
    db, _ = store
    own = valid_document["conversations"][0]["messages"][5]["id"]
    problems = fails(db, edited(valid_document, _set([*M, 5, "parent_id"], own), tmp_path))
    assert problems == [f"{MESSAGES}[5].parent_id: the parent chain of '{own}' loops (a cycle)"]


def test_duplicate_message_ids_are_named(store, valid_document, tmp_path: Path) -> None:
    db, _ = store
    first = valid_document["conversations"][0]["messages"][1]["id"]
    problems = fails(db, edited(valid_document, _set([*M, 2, "id"], first), tmp_path))
    assert (
        f"{MESSAGES}[2].id: '{first}' is used twice in this conversation (also at {MESSAGES}[1])" in problems
    )


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            _set([*C0, "current_leaf_id"], MISSING_ID),
            f"conversations[0].current_leaf_id: '{MISSING_ID}' is not a message",
        ),
        (
            _set([*C0, "folder_id"], MISSING_ID),
            f"conversations[0].folder_id: '{MISSING_ID}' is not one of the file's folders",
        ),
        (_set([*C0, "content_hash"], "0" * 64), "conversations[0].content_hash: does not match the messages"),
        (
            _set([*M, 1, "content"], "edited by hand"),
            "conversations[0].content_hash: does not match the messages",
        ),
    ],
)
def test_references_and_hashes_are_checked(
    store, valid_document, tmp_path: Path, edit, expected: str
) -> None:
    db, _ = store
    problems = fails(db, edited(valid_document, edit, tmp_path))
    assert any(problem.startswith(expected) for problem in problems), problems


def test_every_problem_is_reported_at_once(store, valid_document, tmp_path: Path) -> None:
    db, _ = store

    def break_three(document: dict) -> None:
        document["conversations"][0]["messages"][0]["role"] = "robot"
        document["conversations"][1]["title"] = 42
        document["folders"][0]["created_at"] = "now"

    problems = fails(db, edited(valid_document, break_three, tmp_path))
    assert [p.split(":")[0] for p in problems] == [
        "folders[0].created_at",
        "conversations[0].messages[0].role",
        "conversations[1].title",
    ]


def test_a_flood_of_problems_is_capped(store, tmp_path: Path) -> None:
    db, _ = store
    document = {"format": "desktop-llm-export", "version": 1, "conversations": [{}] * 500}
    problems = fails(db, write(tmp_path, json.dumps(document)))
    assert len(problems) == 201 and problems[-1].startswith("... and ")


def test_a_problem_late_in_the_file_still_blocks_everything(store, valid_document, tmp_path: Path) -> None:
    db, _ = store
    path = edited(valid_document, _set(["conversations", 3, "updated_at"], "soon"), tmp_path)
    assert fails(db, path) == [
        "conversations[3].updated_at: expected a UTC timestamp like '2026-11-27T19:40:59.123Z', "
        "found a string 'soon'"
    ]


# --- too large ---------------------------------------------------------------------------------


def test_a_file_over_the_size_limit(store, valid_document, tmp_path: Path) -> None:
    db, _ = store
    path = edited(valid_document, lambda d: None, tmp_path)
    problems = fails(db, path, ImportLimits(max_bytes=1000))
    assert "is too large to import" in problems[0] and "the limit is 1,000 bytes" in problems[0]


def test_one_conversation_over_the_item_limit(store, valid_document, tmp_path: Path) -> None:
    db, _ = store
    path = edited(valid_document, _set([*M, 0, "content"], "x" * 50_000), tmp_path)
    problems = fails(db, path, ImportLimits(max_item_chars=20_000))
    assert "is larger than 20,000 characters" in problems[0]


def test_a_zip_whose_json_is_over_the_limit(store, tmp_path: Path) -> None:
    db, _ = store
    with zipfile.ZipFile(tmp_path / "big.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("conversations.json", "[" + " " * 200_000 + "]")
    problems = fails(db, tmp_path / "big.zip", ImportLimits(max_bytes=100_000))
    assert "(conversations.json) is too large to import (200,002 bytes" in problems[0]


# --- ChatGPT input with a broken tree ----------------------------------------------------------


def _chatgpt() -> list:
    return json.loads((FIXTURES / "conversations.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda c: c[1].pop("mapping"), "conversations[1].mapping: missing: not a ChatGPT conversation"),
        (
            lambda c: c[2]["mapping"]["c3f2e4d6-0002-4c7d-8e9f-0a1b2c3d4e5f"].update(parent="nowhere"),
            "conversations[2].mapping['c3f2e4d6-0002-4c7d-8e9f-0a1b2c3d4e5f'].parent: "
            "'nowhere' is not a node",
        ),
        (
            lambda c: c[2]["mapping"]["c3f2e4d6-0000-4c7d-8e9f-0a1b2c3d4e5f"].update(
                parent="c3f2e4d6-0002-4c7d-8e9f-0a1b2c3d4e5f"
            ),
            "conversations[2].mapping['c3f2e4d6-0000-4c7d-8e9f-0a1b2c3d4e5f'].parent: the parent chain loops",
        ),
        (
            lambda c: c[2]["mapping"]["c3f2e4d6-0001-4c7d-8e9f-0a1b2c3d4e5f"].update(message="hi"),
            "conversations[2].mapping['c3f2e4d6-0001-4c7d-8e9f-0a1b2c3d4e5f'].message: "
            "expected an object or null",
        ),
        (lambda c: c.append(7), "conversations[3]: expected an object, found a number 7"),
    ],
)
def test_a_broken_chatgpt_tree_is_named(store, tmp_path: Path, edit, expected: str) -> None:
    db, _ = store
    conversations = _chatgpt()
    edit(conversations)
    problems = fails(db, write(tmp_path, json.dumps(conversations), "conversations.json"))
    assert any(problem.startswith(expected) for problem in problems), problems
