"""The highlight pool: code highlighted in a worker process, each block within a time budget."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from desktop_llm.core.highlight_pool import HighlightJob, HighlightPool, worker_command
from desktop_llm.core.highlight_worker import WORKER_NICENESS, highlight_html

# Pygments' Scala lexer backtracks exponentially on a quote followed by backslashes: about
# 20 s at 40 backslashes and minutes at 44 (upstream issue), from a 74-character reply.
SCALA_TRAP = '"' + "\\" * 44


def wait_idle(pool: HighlightPool, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not pool.idle():
        assert time.monotonic() < deadline, "the pool never finished"
        time.sleep(0.01)


def test_a_block_over_budget_stays_plain_and_the_next_one_is_highlighted() -> None:
    pool = HighlightPool(budget=2.0)
    finished = []
    pool.add_listener(finished.append)
    try:
        trap = HighlightJob(SCALA_TRAP, "scala", "xcode")
        after = HighlightJob("val x = 1\n", "scala", "xcode")
        assert pool.submit(trap) and pool.submit(after)
        wait_idle(pool)
        assert pool.lookup(trap.key) == (True, None)
        assert pool.timeouts == 1
        known, html = pool.lookup(after.key)
        assert known and html is not None and "<span" in html  # a fresh worker took over
        assert finished == [trap.key, after.key]
        # Known for good: reopening the conversation does not try it again.
        assert not pool.submit(trap)
    finally:
        pool.close()


def test_unknown_languages_and_huge_blocks_stay_plain() -> None:
    pool = HighlightPool(max_chars=100)
    try:
        unknown = HighlightJob("x", "no-such-language", "xcode")
        huge = HighlightJob("x = 1\n" * 100, "python", "xcode")
        assert pool.submit(unknown)
        assert not pool.submit(huge)  # decided at once, nothing sent to the worker
        assert pool.lookup(huge.key) == (True, None)
        wait_idle(pool)
        assert pool.lookup(unknown.key) == (True, None)
    finally:
        pool.close()


def test_a_worker_that_cannot_start_leaves_code_plain() -> None:
    pool = HighlightPool(command=["/nonexistent/highlighter"])
    try:
        job = HighlightJob("x = 1", "python", "xcode")
        pool.submit(job)
        wait_idle(pool)
        assert pool.lookup(job.key) == (True, None)
    finally:
        pool.close()


def test_the_worker_function_writes_inline_colours() -> None:
    html = highlight_html("def f(): pass", "Python", "xcode")
    assert html is not None and 'style="color:' in html and "<pre" not in html
    assert highlight_html("x", "", "xcode") is None


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="no process priorities here")
def test_the_worker_runs_below_the_app_so_the_window_goes_first() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    worker = subprocess.Popen(
        worker_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, encoding="utf-8", env=env
    )
    try:
        assert worker.stdout is not None and json.loads(worker.stdout.readline()) == {"ready": True}
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, worker.pid) == min(19, mine + WORKER_NICENESS)
    finally:
        worker.kill()
        worker.wait(timeout=10)
        for stream in (worker.stdin, worker.stdout):
            if stream is not None:
                stream.close()
