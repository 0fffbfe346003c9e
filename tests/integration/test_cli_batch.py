"""``desktop-llm batch`` run for real, as a subprocess, against the fake server and a real SQLite file.

Local mode; remote mode returning an id, then list, status and fetch; a command killed between
submit and finish, completed by ``fetch --wait``; cancel; errors as one line; no key stored.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.fake_clock import FakeClock
from fakes.provider_server import BatchScript, ProviderServer

import desktop_llm

KEY = "sk-cli-batch-SECRET-77aa"
PACKAGE_ROOT = str(Path(desktop_llm.__file__).resolve().parent.parent)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[ProviderServer]:
    with ProviderServer(api_key=KEY, batch_clock=clock) as running:
        yield running


@pytest.fixture
def env(server: ProviderServer, tmp_path: Path) -> dict[str, str]:
    values = dict(os.environ, PYTHONPATH=PACKAGE_ROOT, PYTHONIOENCODING="utf-8")
    for name in list(values):
        if name.endswith(("_API_KEY", "_BASE_URL")) or name == "OLLAMA_HOST":
            del values[name]
    values |= {
        "DESKTOP_LLM_DATA_DIR": str(tmp_path / "data"),
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": server.url_for("openai"),
        "ANTHROPIC_API_KEY": KEY,
        "ANTHROPIC_BASE_URL": server.url_for("anthropic"),
        "OLLAMA_HOST": server.url_for("ollama"),
    }
    return values


@pytest.fixture
def rows_csv(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text("text,target_language\n" + "".join(f"row text {i},French\n" for i in range(6)))
    return path


def batch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop_llm", "batch", *args, "--poll", "0.05"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=90,
        check=False,
    )


def run_translate(
    env: dict[str, str], rows: Path, provider: str, model: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run ``batch run Translate`` over ``rows`` with ``provider`` and ``model``, then ``args``."""
    return batch(
        env, "run", "Translate", "--input", str(rows), "--provider", provider, "--model", model, *args
    )


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_local_mode_runs_every_row_like_the_window(
    env: dict[str, str], rows_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "local.jsonl"
    result = run_translate(
        env,
        rows_csv,
        "openai",
        "gpt-4o-mini",
        "--concurrency",
        "3",
        "--rpm",
        "600",
        "--output",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    lines = lines_of(out)
    assert [line["row"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert set(lines[0]) == {"row", "input", "output", "error", "cached", "usage"}
    assert lines[2]["input"] == {"text": "row text 2", "target_language": "French"}
    assert all(line["output"] == "Hello from the fake server." and line["error"] is None for line in lines)
    assert lines[0]["usage"]["output_tokens"] == 5
    assert "6 done, 0 failed" in result.stderr


def test_remote_mode_returns_the_id_then_status_and_fetch_complete_it(
    env: dict[str, str], rows_csv: Path, tmp_path: Path, server: ProviderServer, clock: FakeClock
) -> None:
    server.batches.script = BatchScript(shuffle=True, row_errors={"row-4": (400, "row five is not allowed")})
    submitted = run_translate(env, rows_csv, "Anthropic", "claude-haiku-4-5", "--remote")
    assert submitted.returncode == 0, submitted.stderr
    batch_id = submitted.stdout.strip()
    [listed] = [json.loads(line) for line in batch(env, "list").stdout.splitlines()]
    assert listed["id"] == batch_id and listed["state"] == "running" and listed["total"] == 6
    early = batch(env, "fetch", batch_id, "--output", str(tmp_path / "early.jsonl"))
    assert early.returncode == 1 and early.stderr.count("\n") == 1 and "still running" in early.stderr
    clock.advance(60)
    status = json.loads(batch(env, "status", batch_id).stdout)
    assert (status["state"], status["done"], status["failed"]) == ("ended", 5, 1)
    assert status["cost_usd"] is not None and status["cost_usd"] > 0
    out = tmp_path / "remote.jsonl"
    assert batch(env, "fetch", batch_id, "--output", str(out)).returncode == 0
    lines = lines_of(out)
    for line in lines:
        if line["row"] == 5:
            assert line["output"] is None and "row five is not allowed" in line["error"]
        else:
            assert f"row text {line['row'] - 1}" in line["output"] and line["input"]["text"] in line["output"]


def test_a_command_killed_between_submit_and_finish_is_completed_later(
    env: dict[str, str], rows_csv: Path, tmp_path: Path, server: ProviderServer, clock: FakeClock
) -> None:
    command = [
        sys.executable,
        "-m",
        "desktop_llm",
        "batch",
        "run",
        "Translate",
        "--input",
        str(rows_csv),
        "--provider",
        "openai",
        "--model",
        "gpt-4o-mini",
        "--remote",
        "--wait",
        "--output",
        str(tmp_path / "never.jsonl"),
        "--poll",
        "0.05",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        batch_id = process.stdout.readline().strip()  # printed once the jobs are submitted
        polls = len(server.requests)
        deadline = time.monotonic() + 30
        while len(server.requests) < polls + 2 and time.monotonic() < deadline:
            time.sleep(0.02)  # it is polling now, waiting for the provider
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
    assert process.returncode == -signal.SIGKILL and batch_id
    assert not (tmp_path / "never.jsonl").exists()
    clock.advance(60)
    out = tmp_path / "later.jsonl"
    fetched = batch(env, "fetch", batch_id, "--output", str(out), "--wait")
    assert fetched.returncode == 0, fetched.stderr
    assert [line["row"] for line in lines_of(out)] == [1, 2, 3, 4, 5, 6]
    assert all(line["output"].startswith("Echo: ") for line in lines_of(out))


def test_cancel_keeps_what_finished(
    env: dict[str, str], rows_csv: Path, tmp_path: Path, server: ProviderServer, clock: FakeClock
) -> None:
    server.batches.script = BatchScript(validate_seconds=0, run_seconds=6, cancel_seconds=1)
    batch_id = run_translate(env, rows_csv, "openai", "gpt-4o-mini", "--remote").stdout.strip()
    clock.advance(2)
    cancelled = json.loads(batch(env, "cancel", batch_id).stdout)
    assert cancelled["state"] == "cancelling"
    clock.advance(5)
    out = tmp_path / "cancelled.jsonl"
    assert batch(env, "fetch", batch_id, "--output", str(out), "--wait").returncode == 0
    assert [line["error"] is None for line in lines_of(out)] == [True, True, False, False, False, False]
    assert json.loads(batch(env, "status", batch_id).stdout)["state"] == "cancelled"
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("*.sqlite3*"))
    assert b"Echo: " in stored and KEY.encode() not in stored


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ("run", "Translate", "--provider", "nobody", "--model", "m", "--output", "o.jsonl"),
            "no provider 'nobody'",
        ),
        (
            ("run", "No such template", "--provider", "openai", "--model", "m", "--output", "o.jsonl"),
            "no template",
        ),
        (("run", "Translate", "--provider", "ollama", "--model", "m", "--remote"), "has no batch service"),
        (("status", "7d1c4f52-0000-4000-8000-000000000000"), "no batch"),
    ],
)
def test_errors_are_one_line_and_non_zero(
    env: dict[str, str], rows_csv: Path, args: tuple[str, ...], words: str
) -> None:
    result = batch(env, *args[:1], *args[1:], *(("--input", str(rows_csv)) if args[0] == "run" else ()))
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
