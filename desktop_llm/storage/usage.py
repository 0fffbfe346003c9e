"""The token usage providers reported for each reply, read for the usage dashboard and cost totals.

Only assistant messages with reported usage count (``input_tokens`` not NULL): a reply whose
provider sent no usage, or that failed before any, has nothing to price. Replies in trashed
conversations still count: their tokens were spent. Each row carries the provider setting's kind
and preset when the setting still exists, so the service can price it with the right host's
list price; environment entries (``env:<kind>``) and deleted settings have none.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    conversation_id: str
    created_at: str
    provider_id: str | None
    provider_kind: str | None
    provider_preset: str | None
    model: str
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    reasoning_tokens: int


_SELECT = """
SELECT m.id, m.conversation_id, m.created_at, m.provider_id, p.kind, NULLIF(p.preset, ''),
       COALESCE(m.model, ''), m.input_tokens, COALESCE(m.output_tokens, 0),
       COALESCE(m.cached_input_tokens, 0), COALESCE(m.reasoning_tokens, 0)
FROM messages AS m LEFT JOIN provider_settings AS p ON p.id = m.provider_id
WHERE m.role = 'assistant' AND m.input_tokens IS NOT NULL
"""


def usage_records(
    db: Database, since: str | None = None, *, conversation_id: str | None = None
) -> list[UsageRow]:
    """Return every reply with reported usage, oldest first.

    Args:
        since: a stored timestamp; only replies created at or after it (None: all of them).
        conversation_id: only this conversation's replies, every branch included.
    """
    sql, params = _SELECT, []
    if since is not None:
        # Stored timestamps share one fixed-width format, so text order is time order.
        sql += " AND m.created_at >= ?"
        params.append(since)
    if conversation_id is not None:
        sql += " AND m.conversation_id = ?"
        params.append(conversation_id)
    sql += " ORDER BY m.created_at, m.seq"
    return [UsageRow(*row) for row in db.conn.execute(sql, params)]
