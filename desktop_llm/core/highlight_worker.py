"""Highlight code with Pygments in a child process: one JSON request a line in, one reply a line out.

Some Pygments lexers backtrack exponentially on short hostile input (Scala on a quote followed
by forty backslashes runs for minutes), and a Python thread stuck in a regular expression can be
neither interrupted nor killed. So highlighting runs here, in a process of its own that the app
kills when a block is over its time budget (see ``highlight_pool``).

Protocol (UTF-8, one JSON object per line), after a first line ``{"ready": true}``:

- request ``{"id": int, "code": str, "language": str, "style": str}``;
- reply ``{"id": int, "html": str | null}``: inline-styled HTML (no ``<pre>``), or null when
  the language has no lexer.

Run as ``python -m desktop_llm.core.highlight_worker``.
"""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from typing import IO, Any

WORKER_NICENESS = 10


@lru_cache(maxsize=64)
def _lexer(language: str) -> Any:
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


@lru_cache(maxsize=8)
def _formatter(style: str) -> Any:
    from pygments.formatters import HtmlFormatter

    # noclasses: Qt understands inline ``style`` attributes but not class selectors.
    return HtmlFormatter(style=style, noclasses=True, nowrap=True)


def highlight_html(code: str, language: str, style: str) -> str | None:
    """Return ``code`` as inline-styled HTML in Pygments ``style``, or None if ``language`` has no lexer."""
    from pygments import highlight

    lexer = _lexer(language.lower()) if language else None
    if lexer is None:
        return None
    html: str = highlight(code, lexer, _formatter(style))
    return html.rstrip("\n")


def serve(requests: IO[str], replies: IO[str]) -> None:
    """Answer highlight requests from ``requests`` on ``replies`` until ``requests`` ends."""
    for line in requests:
        request = json.loads(line)
        html = highlight_html(request["code"], request["language"], request["style"])
        replies.write(json.dumps({"id": request["id"], "html": html}) + "\n")
        replies.flush()


def main() -> None:
    """Serve on standard input and output (the pool's pipes)."""
    stdin = open(sys.stdin.fileno(), encoding="utf-8", closefd=False)  # noqa: SIM115 (the process's own)
    stdout = open(sys.stdout.fileno(), "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    # Colours can wait; the window cannot. On a busy machine the app's thread goes first
    # (a streamed code block is highlighted again and again as it grows).
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)
    import pygments.formatters.html  # noqa: F401  (imported before "ready": not billed to a block)

    stdout.write(json.dumps({"ready": True}) + "\n")
    stdout.flush()
    serve(stdin, stdout)


if __name__ == "__main__":
    main()
