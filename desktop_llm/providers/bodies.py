"""Read what a server sends as data to check, never to trust: capped bodies, safe JSON, clean text.

A server (or anything pretending to be one) decides every byte of a reply. Nothing it sends
may crash the app, hold its memory or corrupt what is saved:

- bodies that are not streams (error bodies, model lists, a JSON reply to a streaming request)
  are read up to a cap, never whole, and the connection is dropped once the cap is reached;
- JSON is parsed with its failures (bad syntax, nesting too deep for the parser, numbers too
  long to convert) turned into one ``ValueError``;
- text taken from JSON loses lone UTF-16 surrogates (``"\\ud800"``), which no UTF-8 file,
  database or widget can store;
- values of the wrong type are read as absent, so a listing with odd entries still lists the
  good ones.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

# An error body is quoted in 300 characters; a megabyte is more than any real one.
MAX_ERROR_BODY = 1024 * 1024
# One page of models. OpenRouter's whole listing (hundreds of models with descriptions and
# prices) is already about a megabyte, so the cap leaves room to grow.
MAX_LISTING_BODY = 16 * 1024 * 1024

# After a reply's terminator, what is read so that the connection can be reused: a well-behaved
# server's end of body is already on its way; anything more is junk and the connection is dropped.
DRAIN_BYTES = 64 * 1024
DRAIN_SECONDS = 0.25

_SURROGATE = re.compile("[\ud800-\udfff]")

log = logging.getLogger(__name__)


class BodyTooLarge(ValueError):
    """A body that is not a stream went past its cap; reading stopped there."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than {limit:,} bytes")
        self.limit = limit


async def read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """Return up to ``limit`` bytes of ``response``'s body and whether there was more.

    Reading stops at the cap; the caller closes the response (``async with``), which drops the
    connection instead of draining the rest.
    """
    pieces: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        room = limit - size
        if len(chunk) > room:
            pieces.append(chunk[:room])
            return b"".join(pieces), True
        pieces.append(chunk)
        size += len(chunk)
    return b"".join(pieces), False


async def read_json_body(response: httpx.Response, limit: int) -> Any:
    """Return the parsed JSON body of ``response``, read up to ``limit`` bytes.

    Raises:
        BodyTooLarge: the body is longer than ``limit``.
        ValueError: it is not JSON (see ``loads``).
    """
    body, more = await read_capped(response, limit)
    if more:
        raise BodyTooLarge(limit)
    return loads(body)


async def drain(
    chunks: AsyncIterator[bytes], limit: int = DRAIN_BYTES, seconds: float = DRAIN_SECONDS
) -> None:
    """Read and drop the rest of a body, up to ``limit`` bytes and ``seconds``; then stop.

    Reaching the end lets the connection go back to the pool; otherwise the caller's closing of
    the response drops it, and the reply is not held up. Each read runs as its own task, so
    giving up cancels that read only, never the caller's task (the reply being finished).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    size = 0
    while size <= limit:
        read = asyncio.ensure_future(anext(chunks, b""))
        done, _pending = await asyncio.wait({read}, timeout=max(deadline - loop.time(), 0.0))
        if not done:
            read.cancel()
            await asyncio.wait({read})  # let the cancelled read finish before the response closes
            log.debug("the server kept the connection open after the end of a reply; dropping it")
            return
        chunk = read.result()
        if not chunk:
            return
        size += len(chunk)
    log.debug("more than %d bytes after the end of a reply; dropping the connection", limit)


def loads(data: str | bytes) -> Any:
    """Parse JSON from a server; every way it can fail is a ``ValueError`` saying why."""
    try:
        return json.loads(data)
    except RecursionError as error:
        raise ValueError("its values are nested too deeply to read") from error
    except ValueError as error:  # JSONDecodeError, bad UTF-8, an integer too long to convert
        raise ValueError(f"invalid JSON: {error}") from error


def clean(text: str) -> str:
    """Return ``text`` with lone surrogates replaced by U+FFFD (they cannot be saved or shown)."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def text(value: Any) -> str:
    """Return ``value`` if it is a string (cleaned), else ``""``."""
    return clean(value) if isinstance(value, str) else ""


def integer(value: Any) -> int | None:
    """Return ``value`` if it is an integer (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def objects(value: Any) -> list[dict[str, Any]]:
    """Return the JSON objects in ``value`` if it is a list; anything else gives none."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
