"""``desktop-llm export | import | search`` run for real, as a subprocess, against real SQLite files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes.chatgpt_export import write_export
from fakes.exchange_samples import Sample, populate, table_contents

import desktop_llm
from desktop_llm.core.paths import resolve_paths
from desktop_llm.storage.database import Database
from desktop_llm.storage.lock import DataFolderLock
from desktop_llm.storage.messages import MessageRepository

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "chatgpt"
# Run the package the tests import: the source tree when developing, the installed wheel in CI.
PACKAGE_ROOT = str(Path(desktop_llm.__file__).resolve().parent.parent)
UNKNOWN_ID = "7d1c4f52-0000-4000-8000-000000000000"


def _command(args: tuple[str, ...], script: bool) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT, PYTHONIOENCODING="utf-8")
    console_script = Path(sys.executable).with_name("desktop-llm")
    command = [str(console_script)] if script else [sys.executable, "-m", "desktop_llm"]
    return [*command, *args], env


def desktop_llm_command(*args: str, script: bool = False) -> subprocess.CompletedProcess[str]:
    command, env = _command(args, script)
    return subprocess.run(
        command, capture_output=True, text=True, encoding="utf-8", env=env, timeout=60, check=False
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("desktop-llm")
    assert ": error: " in lines[0]
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def home(tmp_path: Path) -> tuple[Path, Sample]:
    """A data folder with one of everything, the way the app leaves it."""
    folder = tmp_path / "home"
    db = Database.open(resolve_paths(folder).database)
    sample = populate(db)
    db.close()
    return folder, sample


def test_export_import_search_with_options_before_or_after(home, tmp_path: Path) -> None:
    folder, sample = home
    out = tmp_path / "all.json"
    exported = desktop_llm_command("export", str(out), "--data-dir", str(folder))
    assert exported.returncode == 0, exported.stderr
    assert "Exported 4 conversations (10 messages), 2 folders and 1 template to" in exported.stdout

    other = tmp_path / "other"
    imported = desktop_llm_command("--data-dir", str(other), "import", str(out))
    assert imported.returncode == 0, imported.stderr
    assert "Imported 4 conversations (10 messages)" in imported.stdout
    assert table_contents(resolve_paths(other).database) == table_contents(resolve_paths(folder).database)

    again = desktop_llm_command("import", "--data-dir", str(other), str(out))
    assert again.returncode == 0 and "Imported 0 conversations" in again.stdout
    assert "skipped 4 already present" in again.stdout

    found = desktop_llm_command("search", "東京", "--data-dir", str(other))
    assert found.returncode == 0, found.stderr
    hits = [json.loads(line) for line in found.stdout.splitlines()]
    assert len(hits) == 1
    assert set(hits[0]) == {"conversation_id", "message_id", "title", "snippet"}
    assert hits[0]["conversation_id"] == sample.branched and "[東京]" in hits[0]["snippet"]

    titles = desktop_llm_command("--data-dir", str(other), "search", "capital France")
    assert any(json.loads(line)["message_id"] is None for line in titles.stdout.splitlines())


def test_a_search_without_matches_prints_nothing_and_succeeds(home) -> None:
    folder, _ = home
    result = desktop_llm_command("--data-dir", str(folder), "search", 'NEAR( "unbalanced -x:y')
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_environment_variable_names_the_data_folder(home, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, _ = home
    monkeypatch.setenv("DESKTOP_LLM_DATA_DIR", str(folder))
    result = desktop_llm_command("search", "Paris", script=True)  # the installed console script
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1


def test_export_chosen_conversations_and_markdown(home, tmp_path: Path) -> None:
    folder, sample = home
    out = tmp_path / "two.json"
    result = desktop_llm_command(
        "--data-dir",
        str(folder),
        "export",
        "--conversation",
        sample.branched,
        "--conversation",
        sample.empty,
        str(out),
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    assert [c["id"] for c in document["conversations"]] == [sample.branched, sample.empty]

    markdown = tmp_path / "chat.md"
    result = desktop_llm_command(
        "export", "--markdown", "--conversation", sample.branched, str(markdown), "--data-dir", str(folder)
    )
    assert result.returncode == 0, result.stderr
    assert markdown.read_text(encoding="utf-8").startswith("# Capital of France\n")


def test_chatgpt_zip_import(tmp_path: Path) -> None:
    result = desktop_llm_command(
        "--data-dir", str(tmp_path / "fresh"), "import", str(FIXTURES / "chatgpt-export.zip")
    )
    assert result.returncode == 0, result.stderr
    assert "Imported 3 conversations (15 messages) from the ChatGPT export" in result.stdout


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (["export", "--markdown", "OUT"], ["--markdown exports one conversation"]),
        (["export", "--conversation", UNKNOWN_ID, "OUT"], [f"No conversation '{UNKNOWN_ID}'"]),
        (["search", "x", "--limit", "0"], ["--limit must be at least 1"]),
    ],
)
def test_errors_are_one_line_and_change_nothing(
    home, tmp_path: Path, arguments: list[str], fragments
) -> None:
    folder, _ = home
    before = table_contents(resolve_paths(folder).database)
    arguments = [str(tmp_path / "out") if a == "OUT" else a for a in arguments]
    result = desktop_llm_command("--data-dir", str(folder), *arguments)
    assert_one_line_error(result, *fragments)
    assert result.returncode == 1
    assert not (tmp_path / "out").exists()
    assert table_contents(resolve_paths(folder).database) == before


def test_a_bad_import_is_one_line_and_changes_nothing(home, tmp_path: Path) -> None:
    folder, _ = home
    before = table_contents(resolve_paths(folder).database)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "desktop-llm-export", "version": 1, "conversations": [{"id": 1}]}')
    result = desktop_llm_command("import", str(bad), "--data-dir", str(folder))
    assert_one_line_error(result, "conversations[0].id: expected a UUID string", "Nothing was changed")
    assert table_contents(resolve_paths(folder).database) == before


_ALIASED_NODES = {
    "title": "t",
    "create_time": 1700000000.0,
    "current_node": "nowhere",
    "mapping": {
        "root": {"message": None, "parent": None},
        "6F3E2A10-5B7C-4D8E-9F01-23456789ABCD": {
            "parent": "root",
            "message": {"author": {"role": "user"}, "content": {"content_type": "text", "parts": ["a"]}},
        },
        "6f3e2a10-5b7c-4d8e-9f01-23456789abcd": {
            "parent": "6F3E2A10-5B7C-4D8E-9F01-23456789ABCD",
            "message": {"author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["b"]}},
        },
    },
}


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        (
            '{"format": "desktop-llm-export", "version": 2, "conversations": ['
            + "[" * 100_000
            + "]" * 100_000
            + "]}",
            ["the value at line 1 column 66 is nested too deeply"],
        ),
        ("[" * 100_000 + "]" * 100_000, ["the value at line 1 column 2 is nested too deeply"]),
        (
            json.dumps([_ALIASED_NODES]),
            [
                "conversations[0].mapping['6f3e2a10-5b7c-4d8e-9f01-23456789abcd']: ",
                "the same node id as '6F3E2A10-5B7C-4D8E-9F01-23456789ABCD' written another way",
            ],
        ),
        (
            b'{"format": "desktop-llm-export", "title": "' + "é".encode() * 10 + b'\xff"}',
            ["not UTF-8 text: byte 63 (counting from 0) is 0xff"],
        ),
    ],
    ids=["deep desktop-llm", "deep chatgpt", "aliased chatgpt ids", "bad utf-8"],
)
def test_hostile_imports_are_one_named_line_and_change_nothing(
    home, tmp_path: Path, data: str | bytes, fragments: list[str]
) -> None:
    folder, _ = home
    before = table_contents(resolve_paths(folder).database)
    bad = tmp_path / "bad.json"
    bad.write_bytes(data.encode() if isinstance(data, str) else data)
    result = desktop_llm_command("import", str(bad), "--data-dir", str(folder))
    assert_one_line_error(result, *fragments, "Nothing was changed")
    assert "Traceback" not in result.stderr
    assert table_contents(resolve_paths(folder).database) == before


def test_commands_that_read_refuse_a_folder_without_a_database(tmp_path: Path) -> None:
    for arguments in (["search", "x"], ["export", str(tmp_path / "out.json")]):
        result = desktop_llm_command("--data-dir", str(tmp_path / "typo"), *arguments)
        assert_one_line_error(result, "there is no Desktop LLM database in")
    assert not (tmp_path / "typo").exists()


def test_a_usage_error_is_one_line(tmp_path: Path) -> None:
    result = desktop_llm_command("export", "--data-dir", str(tmp_path))
    assert_one_line_error(result, "the following arguments are required: OUT")
    assert result.returncode == 2


def test_the_command_line_works_beside_a_running_gui_and_leaves_its_stream_alone(
    home, tmp_path: Path
) -> None:
    folder, _ = home
    streaming_before = [m.id for m in _streaming(folder)]
    assert streaming_before  # the sample has a reply still streaming
    gui_lock = DataFolderLock(folder)
    assert gui_lock.acquire()  # this test process plays the running GUI
    try:
        out = tmp_path / "all.json"
        for arguments in (
            ["export", str(out)],
            ["search", "Paris"],
            ["import", str(FIXTURES / "conversations.json")],
        ):
            result = desktop_llm_command("--data-dir", str(folder), *arguments)
            assert result.returncode == 0, result.stderr
        assert gui_lock.holder_pid() == os.getpid()
    finally:
        gui_lock.release()
    assert [m.id for m in _streaming(folder)] == streaming_before


def _streaming(folder: Path) -> list:
    db = Database.open(resolve_paths(folder).database)
    try:
        rows = db.conn.execute("SELECT id FROM messages WHERE status = 'streaming'").fetchall()
        return [MessageRepository(db).get(row["id"]) for row in rows]
    finally:
        db.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_during_an_import_rolls_it_back(home, tmp_path: Path) -> None:
    folder, _ = home
    database = resolve_paths(folder).database
    before = table_contents(database)
    export = tmp_path / "conversations.json"
    write_export(export, 8_000_000)
    command, env = _command(("--data-dir", str(folder), "import", str(export)), script=False)
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wal = database.with_name(database.name + "-wal")
    deadline = time.monotonic() + 60
    # Wait for the second pass: rows being written make the write-ahead log grow.
    while child.poll() is None and time.monotonic() < deadline:
        if wal.exists() and wal.stat().st_size > 512 * 1024:
            break
        time.sleep(0.02)
    assert child.poll() is None, "the import finished before it could be interrupted"
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stderr
    assert stderr.strip() == "desktop-llm: error: interrupted; nothing was changed"
    assert stdout == ""
    assert table_contents(database) == before
