"""Provider batch engines at scale: build and upload a 100,000-row request file, read 100,000 results back.

Three figures, each against a baseline measured in the same run:

1. **Build and upload** the request file of N rows through ``OpenAIBatchClient`` (rows rendered
   lazily, written to part files on disk, streamed up as multipart) in a child process, for
   10,000 and for 100,000 rows. The child's peak memory (and its growth over the RSS after
   imports) must be flat: the same for 100,000 rows as for 10,000 (ratio near 1). The time baseline is
   the bare cost of serialising the same rows to a file with ``json.dumps``.
2. **Read results back into the store and the results table**: ``RemoteBatchService`` submits
   N rows (stored in SQLite), the fake server finishes the job at once, and ``refresh``
   downloads the output file and stores every row's result; then every row is read back into
   the window's results table model (offscreen Qt). Reported: seconds and rows a second; the
   baseline is ``executemany`` of the same number of plain UPDATEs on the same table.
3. **Local run**: ``bench/batch.py`` with 2,000 rows at concurrency 16 (target ≥ 85% of ideal).

The fake server runs in this process; the measured work runs in children, so the server's own
memory (it keeps uploaded files) never counts. ``--quick``: 2,000 / 20,000 rows and a 400-row
local run.

Usage: python bench/batch_engine.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

KEY = "bench-key"
MODEL = "gpt-4o-mini"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rows(count: int) -> Any:
    for index in range(count):
        yield {"text": f"Support mail {index}: my order has not arrived and I would like to know why. " * 2}


# -- children ---------------------------------------------------------------------------------------


async def _child_upload(count: int, base_url: str, folder: Path) -> dict[str, float]:
    from desktop_llm.providers import ChatRequest, Message, ProviderConfig, create_provider
    from desktop_llm.providers.batch_openai import OpenAIBatchClient
    from desktop_llm.providers.batch_types import BatchItem

    baseline_mb = _peak_mb()
    start = time.perf_counter()
    with (folder / "plain.jsonl").open("w") as out:  # the same rows, serialised as bare JSON lines
        for index, row in enumerate(_rows(count)):
            out.write(
                json.dumps(
                    {
                        "custom_id": f"row-{index}",
                        "body": {"model": MODEL, "messages": [{"role": "user", "content": row["text"]}]},
                    }
                )
                + "\n"
            )
    plain_seconds = time.perf_counter() - start
    provider = create_provider(ProviderConfig("openai", api_key=KEY, base_url=base_url))
    async with provider:
        client = OpenAIBatchClient(provider)
        items = (
            BatchItem(
                f"row-{index}",
                ChatRequest(MODEL, [Message("system", "Sort mail."), Message("user", row["text"])]),
            )
            for index, row in enumerate(_rows(count))
        )
        start = time.perf_counter()
        parts = await asyncio.to_thread(client.write_parts, items, folder)
        built = time.perf_counter() - start
        jobs = [await client.submit_part(part) for part in parts]
        total = time.perf_counter() - start
    return {
        "build_seconds": built,
        "build_and_upload_seconds": total,
        "plain_json_seconds": plain_seconds,
        "file_mb": sum(part.size for part in parts) / 2**20,
        "jobs": len(jobs),
        "baseline_rss_mb": baseline_mb,
        "peak_rss_mb": _peak_mb(),
    }


async def _child_store(count: int, base_url: str, folder: Path) -> dict[str, float]:
    import sqlite3

    from desktop_llm.core.prompt_templates import PromptTemplate
    from desktop_llm.providers import ProviderConfig, create_provider
    from desktop_llm.providers.batches import batch_client
    from desktop_llm.services.remote_batches import BatchSubmission, RemoteBatchService
    from desktop_llm.storage.executor import DatabaseThread

    template = PromptTemplate(name="Sort", system="Sort mail.", user="{text}")
    rows = list(_rows(count))
    provider = create_provider(ProviderConfig("openai", api_key=KEY, base_url=base_url))
    async with provider, DatabaseThread(folder / "bench.sqlite3") as db:

        async def client_for(_entry: str) -> Any:
            return batch_client(provider)

        service = RemoteBatchService(db, client_for, work_dir=folder / "work")
        start = time.perf_counter()
        record = await service.submit(
            BatchSubmission("env:openai", "openai", MODEL, template, rows, ("text",))
        )
        submitted = time.perf_counter() - start
        start = time.perf_counter()
        record = await service.refresh(record.id)
        fetched = time.perf_counter() - start
        if record.done != count:
            raise SystemExit(f"only {record.done} of {count} results were stored")
        start = time.perf_counter()
        table_rows = await _fill_results_table(service, record.id, rows)
        table = time.perf_counter() - start
    conn = sqlite3.connect(folder / "bench.sqlite3")
    start = time.perf_counter()
    with conn:
        conn.executemany(
            "UPDATE remote_batch_rows SET status = 'done', output = ? WHERE batch_id = ? AND row = ?",
            ((f"plain {index}", record.id, index) for index in range(count)),
        )
    plain = time.perf_counter() - start
    conn.close()
    return {
        "submit_seconds": submitted,
        "fetch_and_store_seconds": fetched,
        "plain_update_seconds": plain,
        "results_table_seconds": table,
        "results_table_rows": table_rows,
        "peak_rss_mb": _peak_mb(),
    }


async def _fill_results_table(service: Any, batch_id: str, rows: list[dict[str, str]]) -> int:
    """Read the stored results and show them in the window's results table model (offscreen Qt)."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from desktop_llm.services.batch_io import BatchInput
    from desktop_llm.ui.templates.batch_results import BatchResultsModel

    app = QApplication.instance() or QApplication([])
    results = await service.results(batch_id)
    model = BatchResultsModel()
    model.set_batch(BatchInput(("text",), tuple(rows)), results)
    del app
    return model.rowCount()


def _child(kind: str, count: int, base_url: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = _child_upload if kind == "upload" else _child_store
        print(json.dumps(asyncio.run(work(count, base_url, Path(folder)))))


# -- parent -----------------------------------------------------------------------------------------


def _run_child(kind: str, count: int, base_url: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--rows", str(count), "--base-url", base_url],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {kind} child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _local_run(rows: int, concurrency: int) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "batch.py"),
            "--rows",
            str(rows),
            "--concurrency",
            str(concurrency),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 / 20,000 rows and a 400-row local run")
    parser.add_argument("--child", choices=("upload", "store"), help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        _child(options.child, options.rows, options.base_url)
        return

    from fakes.provider_server import BatchScript, ProviderServer

    small, large = (2_000, 20_000) if options.quick else (10_000, 100_000)
    with ProviderServer() as server:
        # Jobs stay "validating" while uploads are measured, so the fake server does not answer
        # every row inside the measured creation call; for the results, jobs finish at once.
        server.batches.script = BatchScript(validate_seconds=1e9)
        url = server.url_for("openai")
        upload_small = _run_child("upload", small, url)
        server.batches.reset()
        server.batches.script = BatchScript(validate_seconds=1e9)
        upload_large = _run_child("upload", large, url)
        server.batches.reset()
        server.batches.script = BatchScript(validate_seconds=0, run_seconds=0)
        store = _run_child("store", large, url)
    local = _local_run(400 if options.quick else 2_000, 16)

    def growth(run: dict[str, float]) -> float:
        return run["peak_rss_mb"] - run["baseline_rss_mb"]

    report = {
        "benchmark": "batch_engine",
        "rows_small": small,
        "rows_large": large,
        "request_file_mb_large": round(upload_large["file_mb"], 1),
        "build_seconds_large": round(upload_large["build_seconds"], 3),
        "build_and_upload_seconds_large": round(upload_large["build_and_upload_seconds"], 3),
        "baseline_plain_json_seconds_large": round(upload_large["plain_json_seconds"], 3),
        "build_and_upload_vs_plain_json_ratio": round(
            upload_large["build_and_upload_seconds"] / upload_large["plain_json_seconds"], 2
        ),
        "upload_peak_rss_mb_small": round(upload_small["peak_rss_mb"], 1),
        "upload_peak_rss_mb_large": round(upload_large["peak_rss_mb"], 1),
        "upload_peak_ratio_large_vs_small": round(
            upload_large["peak_rss_mb"] / upload_small["peak_rss_mb"], 2
        ),
        "upload_rss_growth_mb_small": round(growth(upload_small), 1),
        "upload_rss_growth_mb_large": round(growth(upload_large), 1),
        "memory_flat_target": "peak ratio near 1 for 10x the rows (independent of row count)",
        "results_rows": large,
        "submit_and_store_rows_seconds": round(store["submit_seconds"], 3),
        "fetch_and_store_results_seconds": round(store["fetch_and_store_seconds"], 3),
        "results_rows_per_second": round(large / store["fetch_and_store_seconds"]),
        "baseline_plain_update_seconds": round(store["plain_update_seconds"], 3),
        "fetch_vs_plain_update_ratio": round(
            store["fetch_and_store_seconds"] / store["plain_update_seconds"], 2
        ),
        "results_table_seconds": round(store["results_table_seconds"], 3),
        "results_table_rows": store["results_table_rows"],
        "store_child_peak_rss_mb": round(store["peak_rss_mb"], 1),
        "local_run": {
            key: local[key]
            for key in (
                "rows",
                "concurrency",
                "ideal_seconds",
                "runner_seconds",
                "baseline_bare_httpx_seconds",
                "runner_share_of_ideal",
                "target_share_of_ideal",
                "meets_target",
            )
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
