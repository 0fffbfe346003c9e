"""Attachments stored once by content hash, kept in order per message, freed when nothing refers to them."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from desktop_llm.storage.attachments import AttachmentRepository
from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import NotFound
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.records import AttachmentRef, Conversation

SCREENSHOT = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
PDF = b"%PDF-1.7\n" + b"x" * 5000


@pytest.fixture
def files(db: Database) -> AttachmentRepository:
    return AttachmentRepository(db)


@pytest.fixture
def messages(db: Database) -> MessageRepository:
    return MessageRepository(db)


@pytest.fixture
def conversation(db: Database) -> Conversation:
    return ConversationRepository(db).create("chat")


def _blobs(db: Database) -> int:
    return db.conn.execute("SELECT count(*) FROM attachment_blobs").fetchone()[0]


def _send(
    db: Database,
    conversation: Conversation,
    text: str,
    *attached: tuple[str, str, bytes],
    parent: str | None = None,
):
    files, messages = AttachmentRepository(db), MessageRepository(db)
    with db.transaction():
        references = [files.store(name, kind, data) for name, kind, data in attached]
        return messages.append(
            conversation.id, parent_id=parent, role="user", content=text, attachments=references
        )


def test_a_message_keeps_its_attachments_in_order_and_their_bytes_round_trip(
    db: Database, files: AttachmentRepository, messages: MessageRepository, conversation: Conversation
) -> None:
    sent = _send(
        db,
        conversation,
        "what are these?",
        ("shot.png", "image/png", SCREENSHOT),
        ("paper.pdf", "application/pdf", PDF),
        ("notes.txt", "text/plain", b"hello"),
    )

    expected = (
        AttachmentRef(hashlib.sha256(SCREENSHOT).hexdigest(), "shot.png", "image/png", len(SCREENSHOT)),
        AttachmentRef(hashlib.sha256(PDF).hexdigest(), "paper.pdf", "application/pdf", len(PDF)),
        AttachmentRef(hashlib.sha256(b"hello").hexdigest(), "notes.txt", "text/plain", 5),
    )
    assert sent.attachments == expected
    assert messages.get(sent.id).attachments == expected
    assert messages.active_path(conversation.id)[0].attachments == expected
    assert messages.tree(conversation.id)[0].attachments == expected
    assert tuple(files.references(sent.id)) == expected
    assert files.load(expected[0].sha256) == SCREENSHOT
    assert b"".join(files.chunks(expected[1].sha256, size=1000)) == PDF
    assert [len(piece) for piece in files.chunks(expected[1].sha256, size=4000)] == [4000, len(PDF) - 4000]


def test_the_same_screenshot_in_ten_messages_is_stored_once(
    db: Database, files: AttachmentRepository, messages: MessageRepository, conversation: Conversation
) -> None:
    parent = None
    for number in range(10):
        parent = _send(
            db, conversation, f"look {number}", (f"shot-{number}.png", "image/png", SCREENSHOT), parent=parent
        ).id

    assert _blobs(db) == 1
    names = [message.attachments[0].name for message in messages.active_path(conversation.id)]
    assert names == [f"shot-{number}.png" for number in range(10)]  # each message keeps its own name


def test_the_same_bytes_twice_in_one_message_keep_both_names(
    db: Database, messages: MessageRepository, conversation: Conversation
) -> None:
    sent = _send(
        db, conversation, "twins", ("a.png", "image/png", SCREENSHOT), ("b.png", "image/png", SCREENSHOT)
    )
    assert [ref.name for ref in messages.get(sent.id).attachments] == ["a.png", "b.png"]
    assert _blobs(db) == 1


def test_deleting_the_last_message_that_refers_to_bytes_deletes_them_and_not_before(
    db: Database, files: AttachmentRepository, messages: MessageRepository, conversation: Conversation
) -> None:
    first = _send(
        db, conversation, "one", ("shot.png", "image/png", SCREENSHOT), ("paper.pdf", "application/pdf", PDF)
    )
    other = ConversationRepository(db).create("other")
    second = _send(db, other, "two", ("again.png", "image/png", SCREENSHOT))
    digest = second.attachments[0].sha256

    messages.delete(first.id)
    assert _blobs(db) == 1  # the PDF went; the screenshot is still referred to by the other conversation
    assert files.load(digest) == SCREENSHOT
    with pytest.raises(NotFound, match="attachment"):
        files.load(hashlib.sha256(PDF).hexdigest())

    messages.delete(second.id)
    assert _blobs(db) == 0
    assert db.conn.execute("SELECT count(*) FROM message_attachments").fetchone()[0] == 0


def test_purging_a_conversation_and_emptying_the_trash_free_their_attachments(
    db: Database, conversation: Conversation
) -> None:
    conversations = ConversationRepository(db)
    question = _send(db, conversation, "q", ("shot.png", "image/png", SCREENSHOT))
    _send(db, conversation, "follow-up", ("shot.png", "image/png", SCREENSHOT), parent=question.id)
    trashed = conversations.create("trashed")
    _send(db, trashed, "old", ("paper.pdf", "application/pdf", PDF))
    assert _blobs(db) == 2

    conversations.purge(conversation.id)
    assert _blobs(db) == 1
    conversations.trash(trashed.id)
    assert _blobs(db) == 1  # the trash keeps everything until it is emptied
    conversations.empty_trash()
    assert _blobs(db) == 0


def test_attaching_bytes_that_are_not_stored_fails_and_keeps_nothing(
    db: Database, messages: MessageRepository, conversation: Conversation
) -> None:
    ghost = AttachmentRef("0" * 64, "ghost.png", "image/png", 3)
    with pytest.raises(NotFound, match="attachment"):
        messages.append(conversation.id, parent_id=None, role="user", content="x", attachments=[ghost])
    assert messages.tree(conversation.id) == []
    assert ConversationRepository(db).get(conversation.id).current_leaf_id is None


def test_bytes_stored_but_never_attached_are_collected(db: Database, files: AttachmentRepository) -> None:
    files.store("dropped.png", "image/png", SCREENSHOT)
    assert _blobs(db) == 1
    assert files.collect_garbage() == 1
    assert _blobs(db) == 0


def test_a_blob_still_referred_to_cannot_be_deleted_behind_the_messages_back(
    db: Database, files: AttachmentRepository, conversation: Conversation
) -> None:
    sent = _send(db, conversation, "q", ("shot.png", "image/png", SCREENSHOT))
    assert files.collect_garbage() == 0
    with pytest.raises(sqlite3.IntegrityError), db.transaction() as conn:
        conn.execute("DELETE FROM attachment_blobs")
    assert files.load(sent.attachments[0].sha256) == SCREENSHOT


def test_attach_adds_after_existing_references(
    db: Database, files: AttachmentRepository, messages: MessageRepository, conversation: Conversation
) -> None:
    sent = _send(db, conversation, "q", ("first.png", "image/png", SCREENSHOT))
    with db.transaction():
        files.attach(sent.id, [files.store("second.pdf", "application/pdf", PDF)])
    assert [ref.name for ref in messages.get(sent.id).attachments] == ["first.png", "second.pdf"]
    with pytest.raises(NotFound, match="message"):
        files.attach("missing", [sent.attachments[0]])


def test_an_edited_copy_keeps_the_originals_attachments_and_deleting_one_branch_keeps_them(
    db: Database, messages: MessageRepository, conversation: Conversation
) -> None:
    original = _send(db, conversation, "what is this?", ("shot.png", "image/png", SCREENSHOT))
    messages.append(conversation.id, parent_id=original.id, role="assistant", content="a cat")
    edited = messages.append(
        conversation.id,
        parent_id=None,
        role="user",
        content="what is this animal?",
        attachments=original.attachments,
    )

    assert messages.get(edited.id).attachments == original.attachments
    assert [m.attachments for m in messages.siblings(edited.id)] == [
        original.attachments,
        original.attachments,
    ]
    messages.delete(original.id)
    assert messages.get(edited.id).attachments == original.attachments
    assert _blobs(db) == 1


def test_messages_without_attachments_have_none(
    messages: MessageRepository, conversation: Conversation
) -> None:
    plain = messages.append(conversation.id, parent_id=None, role="user", content="hi")
    assert plain.attachments == ()
    assert messages.get(plain.id).attachments == ()
