"""Turn stored text into what the full-text index reads, and a person's query into an FTS5 match.

SQLite's ``unicode61`` tokenizer splits words at spaces and punctuation, so a run of Chinese or
Japanese (written without spaces) would become one long token and "東京" would not be found in
"私は東京に住んでいます". The ``trigram`` tokenizer cannot match words shorter than three
characters, and most Chinese words are two. So every CJK character is set apart with a zero-width
space before it is indexed: each becomes its own token, and a CJK query becomes a phrase of
consecutive characters, which is substring search for CJK and word-prefix search for everything
else, in one index. The zero-width spaces never reach the stored text or a snippet.

If :func:`index_text` ever changes, a migration must rebuild both search indexes (their rows are
removed by re-deriving the indexed text, which must match what was inserted).
"""

from __future__ import annotations

import re

SEPARATOR = "\u200b"  # zero-width space: a token separator for unicode61, invisible if it leaks

# Han (with extensions and compatibility forms), kana, Hangul: scripts written without spaces.
_CJK = re.compile(
    "(["
    "\u1100-\u11ff\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0003134f"
    "])"
)
_WORD_CHARACTER = re.compile(r"[^\W_]")  # a letter or digit: what unicode61 keeps
_QUOTED = re.compile(r'"([^"]*)"')
MAX_TERMS = 32  # a pasted paragraph should still answer quickly

INDEX_FUNCTION = "desktop_llm_search_text"  # the SQL name the schema's views and triggers call


def index_text(text: str | None) -> str:
    """Return ``text`` as the search index reads it: each CJK character set apart."""
    if not text:
        return ""
    return _CJK.sub(SEPARATOR + r"\1" + SEPARATOR, text)


def clean_snippet(snippet: str | None) -> str:
    """Return an index snippet as plain one-line text (no separators, no line breaks)."""
    if not snippet:
        return ""
    return " ".join(snippet.replace(SEPARATOR, "").split())


def _string(text: str) -> str:
    # Inside an FTS5 string every character is literal except the quote, which is doubled.
    return '"' + index_text(text).replace('"', '""') + '"'


def match_expression(query: str) -> str | None:
    """Return an FTS5 match for ``query``, or None when it has no word to look for.

    Every word must appear, each as a prefix ("hel wor" finds "hello world"); a balanced
    ``"quoted phrase"`` must appear exactly. Everything else FTS5 would read as syntax
    (``AND``, ``NEAR(``, ``*``, ``-``, ``:``, an unbalanced quote) is a plain word here, so no
    query can raise.
    """
    query = query.replace("\x00", " ")  # FTS5's query parser stops at a NUL
    terms: list[str] = []
    position = 0
    for quoted in _QUOTED.finditer(query):
        terms.extend(_prefix_terms(query[position : quoted.start()]))
        if _WORD_CHARACTER.search(quoted.group(1)):
            terms.append(_string(quoted.group(1)))
        position = quoted.end()
    terms.extend(_prefix_terms(query[position:]))
    if not terms:
        return None
    return " AND ".join(terms[:MAX_TERMS])


def _prefix_terms(text: str) -> list[str]:
    # A leftover quote is punctuation; the tokenizer drops it along with the rest.
    return [_string(word) + "*" for word in text.replace('"', " ").split() if _WORD_CHARACTER.search(word)]
