"""Keep template batches sent to a provider's batch engine: the batch, its provider jobs, its rows.

Everything here is blocking sqlite3 work for the database thread. A batch names its provider
entry, never a key. Rows are written and read in chunks so a batch of 100,000 rows never builds
one giant statement; results are matched to rows by the row number encoded in their id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import StorageError
from desktop_llm.storage.timeutil import now_timestamp

__all__ = [
    "FINISHED_STATES",
    "BatchJobRecord",
    "RemoteBatchRecord",
    "StoredRow",
    "add_job",
    "assign_rows",
    "batch_rows",
    "get_batch",
    "insert_batch",
    "jobs_of",
    "list_batches",
    "save_outcomes",
    "update_batch",
    "update_job",
]

FINISHED_STATES = frozenset({"ended", "cancelled", "expired", "failed"})
_CHUNK = 2000


@dataclass(frozen=True)
class RemoteBatchRecord:
    """One stored batch and its row counts (the provider's own counts for jobs still running).

    Args:
        id: our id (a UUID).
        provider_id: the provider entry (a setting id or ``env:<kind>``), never its key.
        provider_kind: "openai", "anthropic" or "gemini".
        columns: the input's column names, in order (for exports).
        params: temperature, max_tokens and whether the cache is used.
        state: "submitting", "running", "cancelling", "ended", "cancelled", "expired" or "failed".
        error: why the batch (or part of it) failed, when it did.
        done, failed: rows with a result or a failure so far; ``total`` rows in all.
    """

    id: str
    provider_id: str
    provider_kind: str
    model: str
    template_id: str | None
    template_version: int | None
    template_name: str
    columns: tuple[str, ...]
    params: dict[str, Any]
    state: str
    error: str | None
    total: int
    submitted_at: str
    updated_at: str
    finished_at: str | None
    done: int = 0
    failed: int = 0

    @property
    def finished(self) -> bool:
        """Return whether nothing more will happen to the batch."""
        return self.state in FINISHED_STATES

    @property
    def active_remote(self) -> bool:
        """Return whether the batch's jobs are all at the provider and still running (it can be cancelled)."""
        return self.state in ("running", "cancelling")

    @property
    def pending(self) -> int:
        """Return the rows still waiting for a result."""
        return self.total - self.done - self.failed


@dataclass(frozen=True)
class BatchJobRecord:
    """One provider job of a batch."""

    job_id: str
    position: int
    state: str
    rows: int
    error: str | None
    fetched: bool


@dataclass(frozen=True)
class StoredRow:
    """One row of a batch: its input and, once known, its result.

    Args:
        usage: (input, output, cached input, reasoning) tokens, when reported.
    """

    row: int
    job_id: str | None
    input: dict[str, str]
    cache_key: str | None
    status: str
    output: str | None
    reasoning: str | None
    error: str | None
    cached: bool
    model: str | None
    finish_reason: str | None
    usage: tuple[int, int, int, int] | None


def insert_batch(
    db: Database, record: RemoteBatchRecord, rows: Iterable[tuple[dict[str, str], str | None]]
) -> None:
    """Store a new batch and its rows (input values and cache key), numbered from 0."""
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO remote_batches (id, provider_id, provider_kind, model, template_id,"
            " template_version, template_name, columns, params, state, error, total, submitted_at,"
            " updated_at, finished_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.provider_id,
                record.provider_kind,
                record.model,
                record.template_id,
                record.template_version,
                record.template_name,
                json.dumps(list(record.columns)),
                json.dumps(record.params),
                record.state,
                record.error,
                record.total,
                record.submitted_at,
                record.updated_at,
                record.finished_at,
            ),
        )
        values = (
            (record.id, index, json.dumps(row, ensure_ascii=False), key)
            for index, (row, key) in enumerate(rows)
        )
        conn.executemany(
            "INSERT INTO remote_batch_rows (batch_id, row, input, cache_key) VALUES (?, ?, ?, ?)", values
        )


def add_job(db: Database, batch_id: str, job_id: str, position: int, state: str, rows: Sequence[int]) -> None:
    """Record a submitted provider job and mark its rows as belonging to it."""
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO remote_batch_jobs (batch_id, job_id, position, state, rows) VALUES (?, ?, ?, ?, ?)",
            (batch_id, job_id, position, state, len(rows)),
        )
        assign_rows(db, batch_id, job_id, rows)


def assign_rows(db: Database, batch_id: str, job_id: str, rows: Sequence[int]) -> None:
    """Mark ``rows`` as sent in ``job_id``."""
    with db.transaction() as conn:
        conn.executemany(
            "UPDATE remote_batch_rows SET job_id = ? WHERE batch_id = ? AND row = ?",
            ((job_id, batch_id, row) for row in rows),
        )


def update_job(
    db: Database,
    batch_id: str,
    job_id: str,
    *,
    state: str,
    error: str | None = None,
    fetched: bool | None = None,
    counts: tuple[int, int] | None = None,
) -> None:
    """Store what the provider last said about a job (``counts``: its succeeded and failed rows)."""
    succeeded, failed = counts if counts is not None else (None, None)
    with db.transaction() as conn:
        conn.execute(
            "UPDATE remote_batch_jobs SET state = ?, error = ?, fetched = COALESCE(?, fetched),"
            " succeeded = COALESCE(?, succeeded), failed = COALESCE(?, failed)"
            " WHERE batch_id = ? AND job_id = ?",
            (state, error, None if fetched is None else int(fetched), succeeded, failed, batch_id, job_id),
        )


def update_batch(db: Database, batch_id: str, *, state: str, error: str | None = None) -> None:
    """Set the batch's state (and error); a finished state stamps ``finished_at``."""
    now = now_timestamp()
    with db.transaction() as conn:
        conn.execute(
            "UPDATE remote_batches SET state = ?, error = COALESCE(?, error), updated_at = ?,"
            " finished_at = CASE WHEN ? THEN COALESCE(finished_at, ?) ELSE NULL END WHERE id = ?",
            (state, error, now, state in FINISHED_STATES, now, batch_id),
        )


# (row, status, output, reasoning, error, cached, model, finish_reason, usage or None)
Outcome = tuple[
    int,
    str,
    str | None,
    str | None,
    str | None,
    bool,
    str | None,
    str | None,
    tuple[int, int, int, int] | None,
]


def save_outcomes(
    db: Database, batch_id: str, outcomes: Iterable[Outcome], *, only_pending: bool = True
) -> int:
    """Store row results in chunks; return how many rows changed.

    Args:
        only_pending: leave rows that already have a result alone (a result fetched twice).
    """
    sql = (
        "UPDATE remote_batch_rows SET status = ?, output = ?, reasoning = ?, error = ?, cached = ?,"
        " model = ?, finish_reason = ?, input_tokens = ?, output_tokens = ?, cached_input_tokens = ?,"
        " reasoning_tokens = ?"
        " WHERE batch_id = ? AND row = ?" + (" AND status = 'pending'" if only_pending else "")
    )
    changed = 0
    chunk: list[tuple[Any, ...]] = []

    def flush() -> None:
        nonlocal changed
        with db.transaction() as conn:
            changed += conn.executemany(sql, chunk).rowcount
        chunk.clear()

    for row, status, output, reasoning, error, cached, model, finish, usage in outcomes:
        tokens = usage if usage is not None else (None, None, None, None)
        chunk.append((status, output, reasoning, error, int(cached), model, finish, *tokens, batch_id, row))
        if len(chunk) >= _CHUNK:
            flush()
    if chunk:
        flush()
    return changed


def fail_pending(db: Database, batch_id: str, error: str, *, job_id: str | None = None) -> int:
    """Fail every row still pending (in one job, or with no job when ``job_id`` is None); return the count."""
    with db.transaction() as conn:
        if job_id is None:
            cursor = conn.execute(
                "UPDATE remote_batch_rows SET status = 'failed', error = ?"
                " WHERE batch_id = ? AND status = 'pending' AND job_id IS NULL",
                (error, batch_id),
            )
        else:
            cursor = conn.execute(
                "UPDATE remote_batch_rows SET status = 'failed', error = ?"
                " WHERE batch_id = ? AND status = 'pending' AND job_id = ?",
                (error, batch_id, job_id),
            )
        return cursor.rowcount


_SELECT_BATCH = """
SELECT b.id, b.provider_id, b.provider_kind, b.model, b.template_id, b.template_version, b.template_name,
       b.columns, b.params, b.state, b.error, b.total, b.submitted_at, b.updated_at, b.finished_at,
       (SELECT count(*) FROM remote_batch_rows r WHERE r.batch_id = b.id AND r.status = 'done')
         + (SELECT COALESCE(sum(j.succeeded), 0) FROM remote_batch_jobs j
            WHERE j.batch_id = b.id AND NOT j.fetched),
       (SELECT count(*) FROM remote_batch_rows r WHERE r.batch_id = b.id AND r.status = 'failed')
         + (SELECT COALESCE(sum(j.failed), 0) FROM remote_batch_jobs j
            WHERE j.batch_id = b.id AND NOT j.fetched)
FROM remote_batches b
"""


def _record(row: Sequence[Any]) -> RemoteBatchRecord:
    values = list(row)
    values[7] = tuple(json.loads(values[7]))
    values[8] = json.loads(values[8])
    return RemoteBatchRecord(*values)


def get_batch(db: Database, batch_id: str) -> RemoteBatchRecord:
    """Return one batch; ``StorageError`` naming the id when there is none."""
    row = db.conn.execute(_SELECT_BATCH + " WHERE b.id = ?", (batch_id,)).fetchone()
    if row is None:
        raise StorageError(f"There is no batch {batch_id}. See the list with: desktop-llm batch list")
    return _record(row)


def list_batches(db: Database, *, active_only: bool = False) -> list[RemoteBatchRecord]:
    """Return the batches, newest first (only those still running, if asked)."""
    where = " WHERE b.state NOT IN ('ended', 'cancelled', 'expired', 'failed')" if active_only else ""
    return [_record(row) for row in db.conn.execute(_SELECT_BATCH + where + " ORDER BY b.seq DESC")]


def jobs_of(db: Database, batch_id: str) -> list[BatchJobRecord]:
    """Return the batch's provider jobs in submission order."""
    rows = db.conn.execute(
        "SELECT job_id, position, state, rows, error, fetched FROM remote_batch_jobs"
        " WHERE batch_id = ? ORDER BY position",
        (batch_id,),
    )
    return [
        BatchJobRecord(job, position, state, count, error, bool(fetched))
        for job, position, state, count, error, fetched in rows
    ]


def batch_rows(db: Database, batch_id: str, *, start: int = 0, limit: int | None = None) -> list[StoredRow]:
    """Return rows ``start`` .. ``start + limit`` of a batch, in order."""
    cursor = db.conn.execute(
        "SELECT row, job_id, input, cache_key, status, output, reasoning, error, cached, model,"
        " finish_reason, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens"
        " FROM remote_batch_rows"
        " WHERE batch_id = ? AND row >= ? ORDER BY row LIMIT ?",
        (batch_id, start, -1 if limit is None else limit),
    )
    return [_stored(row) for row in cursor]


def iter_rows(db: Database, batch_id: str) -> Iterator[StoredRow]:
    """Yield every row of a batch in order, a chunk at a time."""
    start = 0
    while chunk := batch_rows(db, batch_id, start=start, limit=_CHUNK):
        yield from chunk
        start = chunk[-1].row + 1


def pending_rows(db: Database, batch_id: str) -> list[int]:
    """Return the numbers of the rows still waiting for a result, in order."""
    cursor = db.conn.execute(
        "SELECT row FROM remote_batch_rows WHERE batch_id = ? AND status = 'pending' ORDER BY row",
        (batch_id,),
    )
    return [row for (row,) in cursor]


def cache_keys(db: Database, batch_id: str, job_id: str) -> dict[int, str]:
    """Return the cache keys of one job's rows, by row number."""
    cursor = db.conn.execute(
        "SELECT row, cache_key FROM remote_batch_rows"
        " WHERE batch_id = ? AND job_id = ? AND cache_key IS NOT NULL",
        (batch_id, job_id),
    )
    return dict(cursor.fetchall())


def _stored(row: Sequence[Any]) -> StoredRow:
    (index, job, values, key, status, output, reasoning, error, cached, model, finish, *tokens) = row
    usage = None if tokens[0] is None else (tokens[0], tokens[1] or 0, tokens[2] or 0, tokens[3] or 0)
    return StoredRow(
        index,
        job,
        json.loads(values),
        key,
        status,
        output,
        reasoning,
        error,
        bool(cached),
        model,
        finish,
        usage,
    )
