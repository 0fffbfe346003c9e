"""Crash safety for real: a child process streams a reply into the store and is killed with SIGKILL.

The child takes the data-folder lock like the GUI, appends the user's message and a streaming
reply, saves the reply every ~50 ms and reports each save on stdout. The parent kills it
mid-stream, then checks what a restart would find; or, in the second test, reads and searches
from its own connection while the child streams to the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import StorageError
from desktop_llm.storage.lock import DataFolderLock
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.search import search

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from desktop_llm.storage.conversations import ConversationRepository
    from desktop_llm.storage.database import Database
    from desktop_llm.storage.lock import DataFolderLock
    from desktop_llm.storage.messages import MessageRepository

    folder, saves, finish = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "finish"
    lock = DataFolderLock(folder)
    assert lock.acquire(), "the data folder should be free"
    db = Database.open(folder / "desktop-llm.sqlite3")
    conversation = ConversationRepository(db).create("Crash test")
    messages = MessageRepository(db)
    question = messages.append(conversation.id, parent_id=None, role="user", content="Tell me a long story")
    reply = messages.append(
        conversation.id, parent_id=question.id, role="assistant", content="", status="streaming"
    )
    print("ready", conversation.id, question.id, reply.id, flush=True)
    text = ""
    for index in range(saves):
        text += f"word{index} "
        messages.update_streaming(reply.id, text)
        print("saved", index, flush=True)
        time.sleep(0.05)
    if finish:
        messages.finish(reply.id, status="complete", content=text + "THE-END", finish_reason="stop")
        print("finished", flush=True)
    """
)


def _story(words: int) -> str:
    return "".join(f"word{index} " for index in range(words))


class Child:
    """The streaming child process and the ids it reported."""

    def __init__(self, folder: Path, repo_root: Path, saves: int, finish: bool) -> None:
        env = {**os.environ, "PYTHONPATH": str(repo_root)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(folder), str(saves), "finish" if finish else "stream"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        word, self.conversation_id, self.question_id, self.reply_id = self.read_line().split()
        assert word == "ready"

    def read_line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"the child ended early (exit status {self.process.poll()})"
        return line.strip()

    def wait_for(self, expected: str) -> None:
        while (line := self.read_line()) != expected:
            pass
        assert line == expected


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        if child.process.poll() is None:
            child.process.kill()
        child.process.wait(timeout=10)
        if child.process.stdout is not None:
            child.process.stdout.close()


def test_sigkill_mid_stream_keeps_the_partial_reply_and_releases_the_lock(
    folder: Path, repo_root: Path, children: list[Child]
) -> None:
    child = Child(folder, repo_root, saves=10_000, finish=False)
    children.append(child)
    child.wait_for("saved 10")

    lock = DataFolderLock(folder)
    assert not lock.acquire(attempts=1)
    assert lock.holder_pid() == child.process.pid

    child.process.kill()  # SIGKILL on Linux and macOS: no cleanup of any kind runs
    child.process.wait(timeout=10)
    assert child.process.returncode == (-9 if sys.platform != "win32" else 1)

    assert lock.acquire(), "the OS releases the lock when its holder dies"
    try:
        with Database.open(folder / "desktop-llm.sqlite3") as db:
            assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            messages = MessageRepository(db)
            assert messages.get(child.reply_id).status == "streaming"  # until the holder recovers it
            assert messages.recover_interrupted() == 1

            question, reply = messages.active_path(child.conversation_id)
            assert (question.id, question.content, question.status) == (
                child.question_id,
                "Tell me a long story",
                "complete",
            )
            assert (reply.id, reply.status) == (child.reply_id, "interrupted")
            saved_words = len(reply.content.split())
            assert saved_words >= 11  # "saved 10" was printed after its commit
            assert reply.content == _story(saved_words)  # whole saves only, nothing torn
            assert {hit.message_id for hit in search(db, "word3")} == {child.reply_id}
            assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        lock.release()


def test_reading_and_searching_from_another_process_does_not_disturb_a_stream(
    folder: Path, repo_root: Path, children: list[Child]
) -> None:
    saves = 40
    child = Child(folder, repo_root, saves=saves, finish=True)
    children.append(child)
    child.wait_for("saved 2")

    reads = 0
    with Database.open(folder / "desktop-llm.sqlite3") as db:  # no lock: like the command line
        messages = MessageRepository(db)
        conversations = ConversationRepository(db)
        with pytest.raises(StorageError, match="lock"):
            messages.recover_interrupted()
        while child.process.poll() is None:
            path = messages.active_path(child.conversation_id)
            if path[-1].status == "streaming":
                assert path[-1].content == _story(len(path[-1].content.split()))
            search(db, "word")
            search(db, "story")
            conversations.list()
            reads += 1
            time.sleep(0.02)  # a reader, not a busy loop
        assert child.process.wait(timeout=30) == 0
        assert reads > 3

    with Database.open(folder / "desktop-llm.sqlite3") as db:
        reply = MessageRepository(db).get(child.reply_id)
        assert (reply.status, reply.finish_reason) == ("complete", "stop")
        assert reply.content == _story(saves) + "THE-END"
        assert {hit.message_id for hit in search(db, "THE-END")} == {child.reply_id}
        assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
