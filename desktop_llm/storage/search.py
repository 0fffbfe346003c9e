"""Search message text and conversation titles with the full-text index.

Every word of the query is a prefix; CJK text is found inside longer runs (see searchtext.py);
anything FTS5 would read as syntax is a plain word, so no query raises. Titles that match come
first, then messages, newest first; the trash is left out unless asked for.
"""

from __future__ import annotations

from desktop_llm.storage.database import Database
from desktop_llm.storage.records import SearchHit
from desktop_llm.storage.searchtext import clean_snippet, match_expression

SNIPPET_TOKENS = 12  # about a line of text around the first match
_SNIPPET = "snippet({table}, 0, '[', ']', '…', " + str(SNIPPET_TOKENS) + ")"

_TITLES = f"""
SELECT c.id AS conversation_id, NULL AS message_id, c.title,
    {_SNIPPET.format(table="conversation_search")} AS snippet
FROM conversation_search JOIN conversations AS c ON c.seq = conversation_search.rowid
WHERE conversation_search MATCH :match {{trash}}
ORDER BY conversation_search.rowid DESC LIMIT :limit
"""

_MESSAGES = f"""
SELECT c.id AS conversation_id, m.id AS message_id, c.title,
    {_SNIPPET.format(table="message_search")} AS snippet
FROM message_search
JOIN messages AS m ON m.seq = message_search.rowid
JOIN conversations AS c ON c.id = m.conversation_id
WHERE message_search MATCH :match {{trash}}
ORDER BY message_search.rowid DESC LIMIT :limit
"""


def search(db: Database, query: str, *, limit: int = 50, include_trash: bool = False) -> list[SearchHit]:
    """Return up to ``limit`` hits for ``query``: matching titles first, then messages, newest first.

    Args:
        query: words (each a prefix), "quoted phrases", CJK text; never raises on odd input.
        include_trash: also search conversations in the trash.
    """
    match = match_expression(query)
    if match is None or limit <= 0:
        return []
    # Conversations an import is still writing are never found (see conversations.VISIBLE).
    trash = "AND c.hidden_by_import IS NULL" + ("" if include_trash else " AND c.deleted_at IS NULL")
    hits: list[SearchHit] = []
    for sql in (_TITLES, _MESSAGES):
        wanted = limit - len(hits)
        if wanted <= 0:
            break
        rows = db.conn.execute(sql.format(trash=trash), {"match": match, "limit": wanted})
        hits.extend(
            SearchHit(
                conversation_id=row["conversation_id"],
                message_id=row["message_id"],
                title=row["title"],
                snippet=clean_snippet(row["snippet"]),
            )
            for row in rows
        )
    return hits
