"""Side-by-side comparisons kept in the ``comparisons`` table (id, kind, payload JSON, created_at).

A comparison is one set of inputs run through two template versions or two models; the
templates feature writes what was asked, both replies and the person's pick into ``payload``.
The table holds any JSON object, so the payload's shape belongs to the service that writes it.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import NotFound
from desktop_llm.storage.timeutil import new_id, now_timestamp


@dataclass(frozen=True)
class ComparisonRecord:
    """One kept comparison: its ``kind`` (what was compared) and its JSON ``payload``."""

    id: str
    kind: str
    payload: dict[str, Any]
    created_at: str


def _record(row: sqlite3.Row) -> ComparisonRecord:
    return ComparisonRecord(
        id=row["id"], kind=row["kind"], payload=json.loads(row["payload"]), created_at=row["created_at"]
    )


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class ComparisonRepository:
    """Add, read, update and delete comparisons.

    Args:
        db: the open database; call only from the thread that owns it.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, kind: str, payload: dict[str, Any]) -> ComparisonRecord:
        """Keep a new comparison and return it."""
        record = ComparisonRecord(id=new_id(), kind=kind, payload=payload, created_at=now_timestamp())
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO comparisons (id, kind, payload, created_at) VALUES (?, ?, ?, ?)",
                (record.id, record.kind, _json(payload), record.created_at),
            )
        return record

    def get(self, comparison_id: str) -> ComparisonRecord:
        """Return one comparison; raise NotFound when there is none."""
        row = self._db.conn.execute(
            "SELECT id, kind, payload, created_at FROM comparisons WHERE id = ?", (comparison_id,)
        ).fetchone()
        if row is None:
            raise NotFound("comparison", comparison_id)
        return _record(row)

    def list(self, *, kind: str | None = None, limit: int = 100) -> builtins.list[ComparisonRecord]:
        """Return the newest comparisons first, of one ``kind`` or of all."""
        where, params = ("WHERE kind = ?", (kind,)) if kind is not None else ("", ())
        rows = self._db.conn.execute(
            f"SELECT id, kind, payload, created_at FROM comparisons {where} "
            "ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [_record(row) for row in rows]

    def update_payload(self, comparison_id: str, payload: dict[str, Any]) -> ComparisonRecord:
        """Replace a comparison's payload (the person picked a reply) and return it."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE comparisons SET payload = ? WHERE id = ?", (_json(payload), comparison_id)
            )
            if cursor.rowcount == 0:
                raise NotFound("comparison", comparison_id)
        return self.get(comparison_id)

    def delete(self, comparison_id: str) -> None:
        """Delete a comparison."""
        with self._db.transaction() as conn:
            if conn.execute("DELETE FROM comparisons WHERE id = ?", (comparison_id,)).rowcount == 0:
                raise NotFound("comparison", comparison_id)
