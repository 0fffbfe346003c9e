"""The token usage providers reported for each reply, read for the usage dashboard and cost totals.

Rows of batches answered by a provider's batch service count too (``batch`` True, no
conversation), once their results are in; answers taken from the response cache cost nothing
and do not count. Only assistant messages with reported usage count (``input_tokens`` not NULL): a reply whose
provider sent no usage, or that failed before any, has nothing to price. Replies in trashed
conversations still count: their tokens were spent. Each row carries the provider setting's kind
and preset when the setting still exists, so the service can price it with the right host's
list price; environment entries (``env:<kind>``) and deleted settings have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desktop_llm.storage.database import Database


@dataclass(frozen=True)
class UsageRow:
    """One reply's reported usage and where it came from.

    Attributes:
        created_at: when the reply started, as stored (ISO-8601 UTC with milliseconds).
        provider_id: the provider entry's id as stored on the message (a setting id or ``env:<kind>``).
        provider_kind, provider_preset: from the stored setting; None when there is none.
        output_tokens: includes ``reasoning_tokens``, as the provider contract defines it.
    """

    message_id: str
    conversation_id: str | None
    created_at: str
    provider_id: str | None
    provider_kind: str | None
    provider_preset: str | None
    model: str
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    reasoning_tokens: int
    batch: bool = False


# Batch rows are billed when the batch's results arrived (its last update).
_BATCH_ROWS = """
SELECT 'batch:' || r.batch_id || ':' || r.row, NULL, COALESCE(b.finished_at, b.updated_at), b.provider_id,
       p.kind, NULLIF(p.preset, ''), COALESCE(r.model, b.model), r.input_tokens, COALESCE(r.output_tokens, 0),
       COALESCE(r.cached_input_tokens, 0), COALESCE(r.reasoning_tokens, 0), 1
FROM remote_batch_rows AS r JOIN remote_batches AS b ON b.id = r.batch_id
LEFT JOIN provider_settings AS p ON p.id = b.provider_id
WHERE r.input_tokens IS NOT NULL AND NOT r.cached
"""

_SELECT = """
SELECT m.id, m.conversation_id, m.created_at, m.provider_id, p.kind, NULLIF(p.preset, ''),
       COALESCE(m.model, ''), m.input_tokens, COALESCE(m.output_tokens, 0),
       COALESCE(m.cached_input_tokens, 0), COALESCE(m.reasoning_tokens, 0), 0
FROM messages AS m LEFT JOIN provider_settings AS p ON p.id = m.provider_id
WHERE m.role = 'assistant' AND m.input_tokens IS NOT NULL
"""


def usage_records(
    db: Database, since: str | None = None, *, conversation_id: str | None = None
) -> list[UsageRow]:
    """Return every reply with reported usage, oldest first (batch rows too, unless one conversation).

    Args:
        since: a stored timestamp; only replies created at or after it (None: all of them).
        conversation_id: only this conversation's replies, every branch included.
    """
    sql, params = _SELECT, []
    if conversation_id is not None:
        sql += " AND m.conversation_id = ?"
        params.append(conversation_id)
    else:
        sql = f"SELECT * FROM ({_SELECT} UNION ALL {_BATCH_ROWS})"
    if since is not None:
        # Stored timestamps share one fixed-width format, so text order is time order.
        sql = f"SELECT * FROM ({sql}) WHERE created_at >= ?"
        params.append(since)
    # Column 3 is created_at; the id breaks ties in a fixed order.
    sql = f"SELECT * FROM ({sql}) ORDER BY 3, 1"
    return [_usage_row(row) for row in db.conn.execute(sql, params)]


def _usage_row(row: tuple[Any, ...]) -> UsageRow:
    (message_id, conversation, created_at, provider_id, kind, preset, model, *tokens, batch) = row
    input_tokens, output_tokens, cached_input_tokens, reasoning_tokens = tokens
    return UsageRow(
        message_id,
        conversation,
        created_at,
        provider_id,
        kind,
        preset,
        model,
        input_tokens,
        output_tokens,
        cached_input_tokens,
        reasoning_tokens,
        bool(batch),
    )
