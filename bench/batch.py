"""Batch throughput: 500 rows at 50 ms a request with 8 at a time, against the ideal and bare httpx.

Every request to the fake provider server (started in this process) waits 50 ms before its
first byte (``Reply(silence_before=0.05)``), so 8 at a time can at best take
``rows × 0.05 / 8`` seconds: the ideal. The figure is the ``BatchRunner``'s wall time for the
whole batch through our OpenAI provider (templates rendered, progress reported after every row);
the same-run baseline is bare httpx posting the same requests with 8 workers and reading each
streamed body to the end. Reported: each time, the runner's share of the ideal
(target ≥ 85%), its ratio to the bare client, and the process's RSS at the start, middle and
end of the runner's batch (it should stay flat: results are small, nothing accumulates).

Usage: python bench/batch.py [--quick] [--rows N] [--concurrency N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fakes.provider_server import ProviderServer, Reply  # noqa: E402

from desktop_llm.core.prompt_templates import PromptTemplate  # noqa: E402
from desktop_llm.providers import ProviderConfig, create_provider  # noqa: E402
from desktop_llm.services.batch import BatchProgress, BatchRunner  # noqa: E402

LATENCY = 0.05
CONCURRENCY = 8
TARGET_SHARE = 0.85
MODEL = "gpt-4o-mini"
KEY = "bench-key"
TEMPLATE = PromptTemplate(name="Summarise", system="You summarise.", user="Summarise in one line: {text}")
REPLY_TEXT = "A short summary of the row, about a dozen tokens long in all."


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _script(server: ProviderServer, rows: int) -> None:
    server.push(*(Reply(text=REPLY_TEXT, silence_before=LATENCY, tokens_per_event=4) for _ in range(rows)))


async def _runner_batch(
    server: ProviderServer, rows: list[dict[str, str]], concurrency: int
) -> dict[str, float]:
    provider = create_provider(ProviderConfig("openai", api_key=KEY, base_url=server.url_for("openai")))
    rss = {"rss_start_mb": _rss_mb()}

    def sample_middle(progress: BatchProgress) -> None:
        if progress.finished == len(rows) // 2:
            rss["rss_middle_mb"] = _rss_mb()

    async with provider:
        runner = BatchRunner(
            provider, TEMPLATE, rows, model=MODEL, concurrency=concurrency, on_progress=sample_middle
        )
        start = time.perf_counter()
        results = await runner.run()
        seconds = time.perf_counter() - start
    rss["rss_end_mb"] = _rss_mb()
    failed = sum(not result.ok for result in results.values())
    if failed:
        raise SystemExit(f"{failed} rows failed; the benchmark needs a clean run")
    return {"seconds": seconds, **rss}


async def _bare_batch(server: ProviderServer, rows: list[dict[str, str]], concurrency: int) -> float:
    url = f"{server.url_for('openai')}/chat/completions"
    headers = {"authorization": f"Bearer {KEY}"}
    queue = list(range(len(rows)))

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            row = rows[queue.pop()]
            body = {
                "model": MODEL,
                "messages": [
                    {"role": "system", "content": "You summarise."},
                    {"role": "user", "content": f"Summarise in one line: {row['text']}"},
                ],
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            async with client.stream("POST", url, json=body, headers=headers) as response:
                async for _chunk in response.aiter_bytes():
                    pass

    # The same pool settings as our provider's client.
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30.0)
    async with httpx.AsyncClient(limits=limits, http2=True, timeout=120.0) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 rows instead of 500")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="requests at once (default 8)")
    options = parser.parse_args()
    count = options.rows or (100 if options.quick else 500)
    concurrency = options.concurrency
    rows = [{"text": f"Row {index}: " + "some words to summarise " * 8} for index in range(count)]
    ideal = count * LATENCY / concurrency

    with ProviderServer() as server:
        _script(server, concurrency)  # warm up: connections, imports, first-call costs
        asyncio.run(_bare_batch(server, rows[:concurrency], concurrency))
        server.reset()
        _script(server, count)
        bare = asyncio.run(_bare_batch(server, rows, concurrency))
        server.reset()
        _script(server, count)
        ours = asyncio.run(_runner_batch(server, rows, concurrency))
        sent = len(server.chat_requests)

    report = {
        "benchmark": "batch",
        "rows": count,
        "requests_sent": sent,
        "latency_ms": LATENCY * 1000,
        "concurrency": concurrency,
        "ideal_seconds": round(ideal, 3),
        # Whole rounds: what even a zero-overhead client needs when rows % concurrency != 0.
        "whole_rounds_floor_seconds": round(math.ceil(count / concurrency) * LATENCY, 3),
        "runner_seconds": round(ours["seconds"], 3),
        "baseline_bare_httpx_seconds": round(bare, 3),
        "runner_share_of_ideal": round(ideal / ours["seconds"], 3),
        "bare_share_of_ideal": round(ideal / bare, 3),
        "runner_vs_bare_ratio": round(ours["seconds"] / bare, 3),
        "target_share_of_ideal": TARGET_SHARE,
        "meets_target": ideal / ours["seconds"] >= TARGET_SHARE,
        "rss_start_mb": round(ours["rss_start_mb"], 1),
        "rss_middle_mb": round(ours.get("rss_middle_mb", float("nan")), 1),
        "rss_end_mb": round(ours["rss_end_mb"], 1),
        "rss_growth_mb": round(ours["rss_end_mb"] - ours["rss_start_mb"], 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
