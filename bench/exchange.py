"""Measure exporting everything to the JSON format and importing it into an empty store, losslessly.

Figure: seconds for the round trip (export of the whole library, then import into a new
database), beside a baseline measured in the same run: copying the same database with SQLite's
backup API, the fastest way to move everything with nothing parsed. The round trip is checked to
be lossless: every row of every content table (ids and timestamps included) is the same in both
databases.

``bench/storage.py`` calls :func:`measure_round_trip` on its library and adds the result to its
JSON as ``export_import``. Run alone, this builds its own library with ``bench/storage.py``'s
``populate``.

Usage: python bench/exchange.py [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure the source tree

from desktop_llm.storage.database import Database  # noqa: E402
from desktop_llm.storage.export_json import export_json_file  # noqa: E402
from desktop_llm.storage.importer import import_file  # noqa: E402

CONTENT_TABLES = ("folders", "conversations", "messages", "templates", "template_versions")


def _columns(conn: sqlite3.Connection, table: str) -> str:
    return ", ".join(row[1] for row in conn.execute(f"PRAGMA table_info({table})") if row[1] != "seq")


def differences(first: Path, second: Path) -> dict[str, int]:
    """Return, per content table, how many rows are in one database but not the other (counted in SQL)."""
    conn = sqlite3.connect(first)
    try:
        conn.execute("ATTACH DATABASE ? AS other", (str(second),))
        found = {}
        for table in CONTENT_TABLES:
            columns = _columns(conn, table)
            found[table] = sum(
                conn.execute(
                    f"SELECT count(*) FROM (SELECT {columns} FROM {one}.{table} "
                    f"EXCEPT SELECT {columns} FROM {two}.{table})"
                ).fetchone()[0]
                for one, two in (("main", "other"), ("other", "main"))
            )
        return found
    finally:
        conn.close()


def _backup_copy(source: Path, target: Path) -> float:
    started = time.perf_counter()
    with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)
    copy.close()
    origin.close()
    return time.perf_counter() - started


def measure_round_trip(database: Path, *, quick: bool) -> dict[str, Any]:
    """Export everything in ``database`` and import it into a fresh one; return the figures as JSON data."""
    with tempfile.TemporaryDirectory(prefix="desktop-llm-exchange-") as scratch:
        folder = Path(scratch)
        export_path = folder / "everything.json"
        with Database.open(database) as source:
            started = time.perf_counter()
            summary = export_json_file(source, export_path)
            export_seconds = time.perf_counter() - started
        with Database.open(folder / "imported.sqlite3") as target:
            started = time.perf_counter()
            result = import_file(target, export_path)
            import_seconds = time.perf_counter() - started
        different_rows = differences(database, folder / "imported.sqlite3")
        baseline = _backup_copy(database, folder / "backup.sqlite3")
        round_trip = export_seconds + import_seconds
        return {
            "round_trip_seconds": round(round_trip, 3),
            "baseline": round(baseline, 3),
            "baseline_is": "SQLite backup API copy of the same database",
            "unit": "s",
            "ratio": round(round_trip / baseline, 2) if baseline else None,
            "export_seconds": round(export_seconds, 3),
            "import_seconds": round(import_seconds, 3),
            "conversations": summary.conversations,
            "messages": summary.messages,
            "export_mb": round(export_path.stat().st_size / 1e6, 1),
            "messages_per_second": round(summary.messages / round_trip) if round_trip else None,
            "imported": result.imported,
            "lossless": result.imported == summary.conversations and not any(different_rows.values()),
            "different_rows": different_rows,
            "quick": quick,
        }


def _storage_bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_storage", Path(__file__).with_name("storage.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    """Build a library, measure the round trip, print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 conversations, 20,000 messages")
    args = parser.parse_args(argv)
    conversations, messages = (200, 20_000) if args.quick else (2_000, 200_000)
    with tempfile.TemporaryDirectory(prefix="desktop-llm-bench-") as scratch:
        library = _storage_bench().populate(
            Path(scratch) / "desktop-llm.sqlite3", conversations=conversations, messages=messages
        )
        figures = measure_round_trip(library.database, quick=args.quick)
    figures["benchmark"] = "export_import"
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
