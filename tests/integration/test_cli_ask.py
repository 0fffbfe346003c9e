"""``desktop-llm ask`` run for real, as a subprocess, against the fake provider server and real SQLite."""

from __future__ import annotations

import base64
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.provider_server import ProviderServer, Reply
from fakes.sample_files import image_bytes, pdf_bytes

import desktop_llm

PACKAGE_ROOT = str(Path(desktop_llm.__file__).resolve().parent.parent)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {
        "photo.png": image_bytes(300, 200),
        "report.pdf": pdf_bytes("Revenue rose in the third quarter"),
        "sales.csv": b"month,total\njan,3\n",
        "archive.bin": b"\x00\x01\x02\x03binary",
    }
    for name, data in made.items():
        (tmp_path / name).write_bytes(data)
    return {name: tmp_path / name for name in made}


def _environment(server: ProviderServer, kind: str) -> dict[str, str]:
    env = dict(
        os.environ,
        PYTHONPATH=PACKAGE_ROOT,
        PYTHONIOENCODING="utf-8",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "OLLAMA_HOST"):
        env.pop(name, None)
    if kind == "openai":
        env.update(OPENAI_API_KEY="sk-ask-test", OPENAI_BASE_URL=server.url_for("openai"))
    elif kind == "anthropic":
        env.update(ANTHROPIC_API_KEY="sk-ant-ask-test", ANTHROPIC_BASE_URL=server.url_for("anthropic"))
    elif kind == "gemini":
        env.update(GOOGLE_API_KEY="gemini-ask-test", GOOGLE_GEMINI_BASE_URL=server.url_for("gemini"))
    elif kind == "ollama":
        env.update(OLLAMA_HOST=server.url_for("ollama"))
    return env


def ask(server: ProviderServer, data: Path, kind: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "desktop_llm", "--data-dir", str(data), "ask", "--provider", kind, *args]
    return subprocess.run(
        command, capture_output=True, text=True, encoding="utf-8", env=_environment(server, kind), timeout=60
    )


def _messages(data: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(data / "desktop-llm.sqlite3") as conn:
        return conn.execute("SELECT conversation_id, role, content FROM messages ORDER BY seq").fetchall()


def test_ask_with_an_image_a_pdf_and_a_csv_streams_the_reply_and_saves_the_conversation(
    server, files, tmp_path
) -> None:
    data = tmp_path / "data"
    server.push(Reply(text="A chart, a report and a table."))
    result = ask(
        server,
        data,
        "openai",
        "--model",
        "gpt-4o",
        "--system",
        "Be brief.",
        "-a",
        str(files["photo.png"]),
        "-a",
        str(files["report.pdf"]),
        "-a",
        str(files["sales.csv"]),
        "What are these?",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "A chart, a report and a table.\n"
    conversation_id = result.stderr.strip()
    assert UUID.match(conversation_id), result.stderr
    body = server.chat_requests[0].json
    assert body["model"] == "gpt-4o"
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    parts = body["messages"][-1]["content"]
    assert parts[0]["text"] == "What are these?\n\nFile: sales.csv\n```csv\nmonth,total\njan,3\n```"
    assert base64.b64decode(parts[1]["image_url"]["url"].split(",", 1)[1]) == files["photo.png"].read_bytes()
    assert parts[2]["file"]["filename"] == "report.pdf"

    server.push(Reply(text="It rose."))
    again = ask(server, data, "openai", "--conversation", conversation_id, "And the revenue?")
    assert again.returncode == 0, again.stderr
    assert again.stdout == "It rose.\n" and again.stderr.strip() == conversation_id
    history = server.chat_requests[1].json["messages"]
    assert [m["role"] for m in history] == ["system", "user", "assistant", "user"]
    assert isinstance(history[1]["content"], list)  # the first turn's files go again
    assert server.chat_requests[1].json["model"] == "gpt-4o"
    assert [(c, r) for c, r, _ in _messages(data)] == [
        (conversation_id, r) for r in ("user", "assistant") * 2
    ]


@pytest.mark.parametrize("kind", ["anthropic", "gemini"])
def test_ask_sends_a_pdf_natively_to_anthropic_and_gemini(server, files, tmp_path, kind) -> None:
    model = {"anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash"}[kind]
    result = ask(
        server, tmp_path / "data", kind, "--model", model, "-a", str(files["report.pdf"]), "Summarise"
    )
    assert result.returncode == 0, result.stderr
    body = server.chat_requests[0].json
    if kind == "anthropic":
        blocks = body["messages"][-1]["content"]
        assert [b["type"] for b in blocks] == ["text", "document"]
    else:
        parts = body["contents"][-1]["parts"]
        assert parts[-1]["inline_data"]["mime_type"] == "application/pdf"


def test_ask_gives_ollama_a_pdf_as_text_and_refuses_an_image_for_a_model_that_cannot_see(
    server, files, tmp_path
) -> None:
    data = tmp_path / "data"
    result = ask(server, data, "ollama", "--model", "llama3.1", "-a", str(files["report.pdf"]), "Summarise")
    assert result.returncode == 0, result.stderr
    content = server.chat_requests[0].json["messages"][-1]["content"]
    assert "File: report.pdf (text of a 1-page PDF)" in content
    assert "Revenue rose in the third quarter" in content

    refused = ask(server, data, "ollama", "--model", "llama3.1", "-a", str(files["photo.png"]), "What is it?")
    assert refused.returncode != 0 and refused.stdout == ""
    lines = refused.stderr.splitlines()
    assert len(lines) == 2 and UUID.match(lines[0])  # the id, then the one-line error
    assert lines[1].startswith("desktop-llm: error: llama3.1 cannot see images, so photo.png was not sent.")
    assert "Models that can: gemma3" in lines[1]
    assert len(server.chat_requests) == 1  # nothing went out
    assert len({c for c, _, _ in _messages(data)}) == 1  # and no empty conversation was left


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("missing.png", "missing.png: no such file"), ("archive.bin", "archive.bin cannot be sent")],
)
def test_a_missing_or_unsupported_file_is_one_line_and_no_request(
    server, files, tmp_path, name, fragment
) -> None:
    data = tmp_path / "data"
    path = files.get(name, tmp_path / name)
    result = ask(server, data, "openai", "--model", "gpt-4o", "-a", str(path), "Hello")
    assert result.returncode != 0 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and fragment in result.stderr, result.stderr
    assert server.chat_requests == []
    assert not (data / "desktop-llm.sqlite3").exists()


def test_an_unknown_provider_is_named_in_one_line(server, tmp_path) -> None:
    result = ask(server, tmp_path / "data", "nonesuch", "Hello")
    assert result.returncode != 0
    assert result.stderr.splitlines() == ["desktop-llm: error: no provider named 'nonesuch'; none is set up"]


def test_ask_prints_each_piece_of_the_reply_as_it_arrives(server, tmp_path) -> None:
    server.push(Reply(text="first second third fourth", delay=0.4))
    command = [sys.executable, "-m", "desktop_llm", "--data-dir", str(tmp_path / "d"), "ask", "--provider"]
    with subprocess.Popen(
        [*command, "openai", "--model", "gpt-4o", "Count"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_environment(server, "openai"),
    ) as process:
        assert process.stdout is not None
        first = os.read(process.stdout.fileno(), 100)
        assert first.startswith(b"first")
        assert process.poll() is None  # still streaming: the rest has not arrived yet
        rest = process.stdout.read()
        process.wait(timeout=30)
    assert (first + rest).decode() == "first second third fourth\n"
    assert process.returncode == 0
