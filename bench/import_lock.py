"""Measure how long a window writing during a command-line import waits for the database.

Another process plays the window: its own connection, a write (one small transaction) every 20 ms for
as long as the import runs, timing each wait for the write lock. Figure: the longest wait while
``import_file`` writes in its short, hidden batches. Baseline, in the same run on the same file:
the longest wait while the same import is written in one transaction (how the import worked
before: the window's writes failed with DatabaseBusy after 5 s). Also reported: attachments'
memory, the peak Python allocation while a 20 MB attachment is exported and imported.

The import is a fake ChatGPT export (``tests/fakes/chatgpt_export.py``) of 8 MB (``--quick``: 2 MB).

Usage: python bench/import_lock.py [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure the source tree
sys.path.insert(0, str(ROOT / "tests"))  # the fake export writer

from fakes.chatgpt_export import write_export  # noqa: E402

from desktop_llm.storage.attachments import AttachmentRepository  # noqa: E402
from desktop_llm.storage.conversations import ConversationRepository  # noqa: E402
from desktop_llm.storage.database import Database  # noqa: E402
from desktop_llm.storage.export_json import export_json_file  # noqa: E402
from desktop_llm.storage.import_writer import BATCH_MESSAGES  # noqa: E402
from desktop_llm.storage.importer import import_file  # noqa: E402
from desktop_llm.storage.messages import MessageRepository  # noqa: E402

WRITE_EVERY = 0.02


def _window(path: str, stop: Any, result: Any) -> None:
    """Write a setting every 20 ms until ``stop`` is set; send back the longest wait and the count."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=600)
    longest, writes = 0.0, 0
    try:
        while not stop.is_set():
            started = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            longest = max(longest, time.perf_counter() - started)
            conn.execute(
                "INSERT OR REPLACE INTO app_settings (key, value) VALUES ('bench', ?)", (str(writes),)
            )
            conn.execute("COMMIT")
            writes += 1
            time.sleep(WRITE_EVERY)
    finally:
        conn.close()
        result.send((longest, writes))


def longest_wait(folder: Path, export: Path, name: str, batch_messages: int) -> dict[str, Any]:
    """Import ``export`` into a new database while another process writes; return its longest wait."""
    with Database.open(folder / f"{name}.sqlite3") as db:
        stop = multiprocessing.Event()
        receive, send = multiprocessing.Pipe(duplex=False)
        window = multiprocessing.Process(target=_window, args=(str(db.path), stop, send), daemon=True)
        window.start()
        time.sleep(0.2)  # let the window start writing
        started = time.perf_counter()
        result = import_file(db, export, batch_messages=batch_messages)
        took = time.perf_counter() - started
        stop.set()
        longest, writes = receive.recv()
        window.join()
    return {
        "longest_wait_ms": round(longest * 1000, 1),
        "import_s": round(took, 2),
        "window_writes": writes,
        "messages": result.messages,
    }


def attachment_memory(folder: Path, size: int) -> dict[str, Any]:
    """Return the peak Python allocation exporting and importing one attachment of ``size`` bytes."""
    data = hashlib.sha256(b"bench").digest() * (size // 32)
    with Database.open(folder / "files-source.sqlite3") as db:
        conversation = ConversationRepository(db).create("file")
        with db.transaction():
            ref = AttachmentRepository(db).store("big.bin", "application/octet-stream", data)
            MessageRepository(db).append(
                conversation.id, parent_id=None, role="user", content="x", attachments=[ref]
            )
        del data
        tracemalloc.start()
        export_json_file(db, folder / "files.json")
        export_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    with Database.open(folder / "files-target.sqlite3") as db:
        tracemalloc.start()
        import_file(db, folder / "files.json")
        import_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {
        "attachment_bytes": size,
        "export_peak_bytes": export_peak,
        "import_peak_bytes": import_peak,
        "peak_over_size": round(max(export_peak, import_peak) / size, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 2 MB export and a 5 MB attachment")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        export = folder / "conversations.json"
        counts = write_export(export, (2 if args.quick else 8) * 1_000_000)
        batched = longest_wait(folder, export, "batched", batch_messages=BATCH_MESSAGES)
        whole = longest_wait(folder, export, "whole", batch_messages=10**12)
        figures = {
            "import_lock": {
                "figure": batched["longest_wait_ms"],
                "baseline": whole["longest_wait_ms"],
                "unit": "ms (longest wait of a window writing during the import)",
                "ratio": round(batched["longest_wait_ms"] / whole["longest_wait_ms"], 3)
                if whole["longest_wait_ms"]
                else None,
                "export_bytes": counts["bytes"],
                "batched": batched,
                "one_transaction": whole,
            },
            "attachment_memory": attachment_memory(folder, (5 if args.quick else 20) << 20),
        }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
