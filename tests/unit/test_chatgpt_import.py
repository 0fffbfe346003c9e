"""ChatGPT's export (conversations.json, or the .zip it comes in) imported from hand-written fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fakes.exchange_samples import table_contents

from desktop_llm.storage.attachments import AttachmentRepository
from desktop_llm.storage.chatgpt import read_chatgpt_conversation
from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.importer import import_file
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.search import search
from desktop_llm.storage.validation import Problems

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "chatgpt"
PLOT = "6f3e2a10-5b7c-4d8e-9f01-23456789abcd"
KYOTO = "7a4b3c21-6d8e-4f90-a012-3456789abcde"
DRAFT = "8b5c4d32-7e9f-4a01-b123-456789abcdef"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database.open(tmp_path / "store.sqlite3")
    yield database
    database.close()


@pytest.fixture
def imported(db: Database) -> Database:
    result = import_file(db, FIXTURES / "conversations.json")
    assert (result.format, result.imported, result.skipped, result.renamed) == ("chatgpt", 3, 0, 0)
    assert result.messages == 15
    return db


def contents(db: Database, conversation_id: str) -> list[str]:
    return [message.content for message in MessageRepository(db).tree(conversation_id)]


def test_conversations_keep_their_ids_titles_times_and_flags(imported: Database) -> None:
    repository = ConversationRepository(imported)
    plot = repository.get(PLOT)
    assert plot.title == "Plotting a sine wave"
    assert (plot.created_at, plot.updated_at) == ("2024-06-10T06:13:20.123Z", "2024-06-10T06:19:50.500Z")
    assert plot.model == "gpt-4o" and not plot.archived
    assert repository.get(KYOTO).archived is True
    assert repository.get(DRAFT).updated_at == repository.get(DRAFT).created_at  # update_time was null


def test_hidden_system_and_context_messages_are_left_out(imported: Database) -> None:
    texts = contents(imported, PLOT)
    assert not any("physics" in text or "Be concise" in text for text in texts)
    assert all(message.role != "system" for message in MessageRepository(imported).tree(PLOT))


def test_branches_survive_and_current_node_is_the_leaf(imported: Database) -> None:
    messages = MessageRepository(imported)
    path = messages.active_path(PLOT)
    assert [m.content for m in path] == [
        "Plot cos(x) instead.",
        "Replace `np.sin` with `np.cos`; the rest stays the same.",
    ]
    # The two prompts were siblings under the hidden messages: they stay siblings (the tree stays whole).
    first_prompt = next(m for m in messages.tree(PLOT) if m.content.startswith("Plot sin"))
    assert [m.content for m in messages.siblings(first_prompt.id)] == [
        "Plot sin(x) from 0 to 2π, please.",
        "Plot cos(x) instead.",
    ]
    replies = messages.siblings(path[-1].id)
    assert [(m.finish_reason, m.status, m.model) for m in replies] == [
        ("length", "complete", "gpt-4o"),
        ("interrupted", "stopped", "gpt-4o-mini"),
    ]
    assert path[0].created_at == "2024-06-10T06:18:20.000Z"


def test_code_tool_output_and_images_become_text(imported: Database) -> None:
    messages = MessageRepository(imported)
    first_prompt = next(m for m in messages.tree(PLOT) if m.content.startswith("Plot sin"))
    branch = messages.switch_branch(PLOT, first_prompt.id)
    assert [m.role for m in branch] == ["user", "assistant", "assistant", "assistant", "assistant"]
    code, output, image, answer = (m.content for m in branch[1:])
    assert code.startswith("```\nimport numpy as np\n") and code.endswith("plt.show()\n```")
    assert output == "Tool output (python):\n\n```\n<<ImageDisplayed>>\n```"
    assert image == "Tool output (python):\n\n[image]"
    assert answer == "Here is the plot of sin(x) over one period."


def test_thoughts_become_the_replys_reasoning_and_empty_messages_vanish(imported: Database) -> None:
    path = MessageRepository(imported).active_path(KYOTO)
    assert [m.role for m in path] == ["user", "assistant", "user", "assistant", "assistant"]
    question, answer, follow_up, quote, final = path
    assert question.content == "[image]\n\nWhich temple is this, and is it near 京都駅?"
    assert answer.reasoning.startswith("Identifying the temple\n\nThe vermilion gates suggest Fushimi Inari.")
    assert "Thought for 9 seconds" not in "".join(m.content + m.reasoning for m in path)
    assert quote.parent_id == follow_up.id  # the empty browsing message was skipped, the tree kept whole
    assert quote.content == (
        "Tool output (web.run):\n\n> The shrine grounds are open 24 hours a day.\n\n"
        "— Fushimi Inari Taisha https://inari.jp/en/"
    )
    assert final.content == "The grounds are open around the clock." and final.model == "o3"


def test_an_unfinished_reply_is_interrupted_and_a_missing_current_node_picks_the_newest_leaf(
    imported: Database,
) -> None:
    path = MessageRepository(imported).active_path(DRAFT)
    assert [(m.content, m.status) for m in path] == [
        ("Write a haiku about rain.", "complete"),
        ("Soft rain on the roof", "interrupted"),
    ]


def test_imported_text_is_searchable(imported: Database) -> None:
    assert {hit.conversation_id for hit in search(imported, "Fushimi")} == {KYOTO}
    assert {hit.conversation_id for hit in search(imported, "京都")} == {KYOTO}
    assert [hit.conversation_id for hit in search(imported, "sine wave")] == [PLOT]


def test_the_zip_imports_the_json_and_the_images_it_holds(imported: Database, tmp_path: Path) -> None:
    other = Database.open(tmp_path / "from-zip.sqlite3")
    result = import_file(other, FIXTURES / "chatgpt-export.zip")
    assert (result.format, result.imported) == ("chatgpt", 3)

    question = next(m for m in MessageRepository(other).tree(KYOTO) if "temple" in m.content)
    assert question.content == "Which temple is this, and is it near 京都駅?"  # an attachment now
    [photo] = question.attachments
    assert (photo.name, photo.media_type, photo.size) == ("IMG_2044.jpeg", "image/jpeg", 22)
    assert AttachmentRepository(other).load(photo.sha256).startswith(b"\xff\xd8\xff")
    from_json = next(m for m in MessageRepository(imported).tree(KYOTO) if "temple" in m.content)
    assert from_json.content == "[image]\n\nWhich temple is this, and is it near 京都駅?"
    assert from_json.attachments == ()
    # Everything else is the same, row for row.
    zipped, plain = table_contents(other.path), table_contents(imported.path)
    for contents in (zipped, plain):
        contents["messages"] = [row for row in contents["messages"] if row[0] != question.id]
        del contents["attachment_blobs"], contents["message_attachments"]
    assert zipped == plain
    other.close()


@pytest.mark.parametrize(
    ("fixture", "disguise"),
    [
        ("chatgpt-export.zip", "export.json"),
        ("conversations.json", "notes.txt"),
        ("chatgpt-export.zip", "data"),
    ],
)
def test_the_kind_of_file_is_found_by_content_not_name(
    db: Database, tmp_path: Path, fixture: str, disguise: str
) -> None:
    shutil.copy(FIXTURES / fixture, tmp_path / disguise)
    assert import_file(db, tmp_path / disguise).imported == 3


def test_importing_again_skips_what_is_there(imported: Database) -> None:
    before = table_contents(imported.path)
    result = import_file(imported, FIXTURES / "conversations.json")
    assert (result.imported, result.skipped) == (0, 3)
    assert table_contents(imported.path) == before
    # The zip carries the Kyoto photo the JSON alone could not: that conversation is new content.
    result = import_file(imported, FIXTURES / "chatgpt-export.zip")
    assert (result.imported, result.skipped, result.renamed) == (1, 2, 1)
    after_zip = table_contents(imported.path)
    result = import_file(imported, FIXTURES / "chatgpt-export.zip")
    assert (result.imported, result.skipped) == (0, 3)
    assert table_contents(imported.path) == after_zip


def _one_message_conversation(content: dict, role: str = "assistant", name: str | None = None) -> list[str]:
    conversation = {
        "title": "t",
        "create_time": 1700000000.0,
        "mapping": {
            "root": {"id": "root", "message": None, "parent": None, "children": ["m"]},
            "m": {
                "id": "m",
                "parent": "root",
                "children": [],
                "message": {
                    "author": {"role": role, "name": name},
                    "create_time": 1700000001.0,
                    "content": content,
                },
            },
        },
        "current_node": "m",
    }
    problems = Problems()
    bundle = read_chatgpt_conversation(conversation, "conversations[0]", problems)
    assert not problems and bundle is not None
    return [message.content for message in bundle.messages]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"content_type": "text", "parts": ["a", "", "b"]}, ["a\n\nb"]),
        ({"content_type": "code", "language": "python", "text": "print(1)"}, ["```python\nprint(1)\n```"]),
        (
            {"content_type": "system_error", "name": "tool_error", "text": "Timeout"},
            ["Error (tool_error): Timeout"],
        ),
        (
            {"content_type": "tether_browsing_display", "result": "# Page\nbody", "summary": None},
            ["# Page\nbody"],
        ),
        (
            {
                "content_type": "multimodal_text",
                "parts": [
                    {"content_type": "audio_transcription", "text": "hello there", "direction": "in"},
                    {"content_type": "audio_asset_pointer", "asset_pointer": "sediment://file_1"},
                    {"content_type": "real_time_user_audio_video_asset_pointer", "frames_asset_pointers": []},
                ],
            },
            ["hello there\n\n[audio]\n\n[video]"],
        ),
        ({"content_type": "sonic_webpage", "url": "https://example.org"}, ["[sonic_webpage content]"]),
        ({"content_type": "model_editable_context", "model_set_context": "remembers things"}, []),
        ({"content_type": "text", "parts": ["   "]}, []),
    ],
    ids=["parts", "code", "system error", "browsing", "voice", "unknown", "memory context", "blank"],
)
def test_every_kind_of_content_is_read(content: dict, expected: list[str]) -> None:
    assert _one_message_conversation(content) == expected


def test_tool_messages_are_labelled_with_the_tool() -> None:
    content = {"content_type": "execution_output", "text": "42"}
    assert _one_message_conversation(content, role="tool", name="python") == [
        "Tool output (python):\n\n```\n42\n```"
    ]


def test_ids_that_are_not_uuids_become_stable_uuids() -> None:
    conversation = {
        "title": "t",
        "id": "conv-1",
        "create_time": 1700000000.0,
        "mapping": {
            "n1": {
                "id": "n1",
                "parent": None,
                "children": [],
                "message": {
                    "author": {"role": "user"},
                    "create_time": 1700000001.0,
                    "content": {"content_type": "text", "parts": ["hi"]},
                },
            },
        },
    }
    first = read_chatgpt_conversation(conversation, "c", Problems())
    second = read_chatgpt_conversation(conversation, "c", Problems())
    assert first == second
    assert len(first.conversation.id) == 36 and len(first.messages[0].id) == 36
    assert first.conversation.current_leaf_id == first.messages[0].id
