"""The app as real processes: the smoke test passes and can fail; a second launch raises the first."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ui


def app_environment(repo_root: Path) -> dict[str, str]:
    """The test's (isolated) environment, running the source tree unless the wheel is under test."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    if not os.environ.get("DESKTOP_LLM_TEST_INSTALLED"):
        env["PYTHONPATH"] = str(repo_root)
    return env


def run_app(repo_root: Path, cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop_llm", *args],
        cwd=cwd,
        env=app_environment(repo_root),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_smoke_test_passes_in_a_temporary_data_folder(repo_root, tmp_path) -> None:
    done = run_app(repo_root, tmp_path, "--smoke-test")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ok"] is True
    expected = {"window", "database", "fts5", "resources", "tokenizers", "math", "keyring"}
    assert set(report["checks"]) == expected
    assert all(check["ok"] for check in report["checks"].values())
    assert isinstance(report["checks"]["keyring"]["available"], bool)
    assert not (tmp_path / "data").exists()  # it never touched the configured data folder


def test_the_smoke_test_fails_when_the_data_folder_cannot_be_written(repo_root, tmp_path) -> None:
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("this is a file, not a folder")
    done = run_app(repo_root, tmp_path, "--smoke-test", "--data-dir", str(not_a_folder))
    assert done.returncode == 1
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ok"] is False
    assert report["checks"]["data_folder"]["ok"] is False
    assert str(not_a_folder) in report["checks"]["data_folder"]["detail"]


def _wait_for_text(path: Path, text: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(encoding="utf-8"):
            return
        if process.poll() is not None:
            raise AssertionError(f"the app exited early ({process.returncode}): {process.communicate()}")
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_a_second_launch_raises_the_running_window_and_exits_0(repo_root, tmp_path) -> None:
    data = tmp_path / "shared-data"
    log = data / "logs" / "desktop-llm.log"
    first = subprocess.Popen(
        [sys.executable, "-m", "desktop_llm", "--data-dir", str(data)],
        cwd=tmp_path,
        env=app_environment(repo_root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_text(log, "Desktop LLM started", first)

        second = run_app(repo_root, tmp_path, "--data-dir", str(data), timeout=30)

        assert second.returncode == 0, second.stderr
        _wait_for_text(log, "a second launch asked this window to come to the front", first)
        assert first.poll() is None  # the first one is still running
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGTERM)
        _out, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert "Desktop LLM closed cleanly" in log.read_text(encoding="utf-8")
