"""Decode newline-delimited JSON (Ollama's stream format) incrementally: bytes in, values out.

One JSON value a line. Blank lines are skipped; ``\\r\\n`` is tolerated (a lone ``\\r`` also
ends a line, which is harmless: JSON never contains a raw carriage return inside a value).
Lines are split as bytes and decoded whole, so a UTF-8 character split between chunks is safe.
"""

from __future__ import annotations

import json
from typing import Any

from desktop_llm.providers.lines import LineSplitter

DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
_EXCERPT_CHARS = 80


class NDJSONDecodeError(ValueError):
    """A line of the stream is not valid JSON (or is too long); says which line and why.

    Args:
        line_number: the 1-based line of the stream, counting blank lines.
        reason: what is wrong with it.
        excerpt: the start of the offending line, for the message.
    """

    def __init__(self, line_number: int, reason: str, excerpt: str = "") -> None:
        message = f"Line {line_number} of the JSON stream is invalid: {reason}"
        if excerpt:
            message += f" (line starts {excerpt!r})"
        super().__init__(message)
        self.line_number = line_number
        self.reason = reason


def _excerpt(raw: bytes) -> str:
    text = raw[: _EXCERPT_CHARS * 4].decode("utf-8", "replace")
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "…"


class NDJSONDecoder:
    """Turn chunks of an NDJSON stream into parsed JSON values, in linear time.

    Args:
        max_line_bytes: the longest line accepted; a longer one raises ``NDJSONDecodeError``
            as soon as it is known to be too long, without waiting for its end.
    """

    __slots__ = ("_deferred", "_line_number", "_lines", "_max_line_bytes")

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._max_line_bytes = max_line_bytes
        self._lines = LineSplitter()
        self._line_number = 0
        # A bad line after good ones in the same chunk: the good values are returned first and
        # the error is raised on the next call (a reader that stops at its terminator never makes one).
        self._deferred: NDJSONDecodeError | None = None

    def feed(self, chunk: bytes) -> list[Any]:
        """Return the values on the lines completed by ``chunk``.

        Raises:
            NDJSONDecodeError: a line is not UTF-8 JSON, or is longer than ``max_line_bytes``.
        """
        self._raise_deferred()
        values = self._parse(self._lines.feed(chunk))
        pending = self._lines.pending_bytes
        if pending > self._max_line_bytes:
            raise NDJSONDecodeError(self._line_number + 1, self._too_long(pending))
        return values

    def close(self) -> list[Any]:
        """Return the value on a final line that has no newline, if there is one."""
        self._raise_deferred()
        return self._parse(self._lines.close())

    def _raise_deferred(self) -> None:
        if self._deferred is not None:
            raise self._deferred

    def _too_long(self, size: int) -> str:
        return f"it is longer than the limit of {self._max_line_bytes:,} bytes (at least {size:,})"

    def _parse(self, lines: list[bytes]) -> list[Any]:
        values: list[Any] = []
        try:
            self._parse_into(values, lines)
        except NDJSONDecodeError as error:
            if not values:
                raise
            self._deferred = error
        return values

    def _parse_into(self, values: list[Any], lines: list[bytes]) -> None:
        for raw in lines:
            self._line_number += 1
            if len(raw) > self._max_line_bytes:
                raise NDJSONDecodeError(self._line_number, self._too_long(len(raw)), _excerpt(raw))
            if not raw or raw.isspace():
                continue
            try:
                # Decode first: json.loads(bytes) would also accept UTF-16/32, which NDJSON is not.
                values.append(json.loads(raw.decode("utf-8")))
            except UnicodeDecodeError as error:
                raise NDJSONDecodeError(
                    self._line_number, f"byte {error.start} is not valid UTF-8", _excerpt(raw)
                ) from error
            except json.JSONDecodeError as error:
                reason = f"{error.msg} (column {error.colno})"
                raise NDJSONDecodeError(self._line_number, reason, _excerpt(raw)) from error
            except RecursionError as error:
                reason = "its values are nested too deeply to parse"
                raise NDJSONDecodeError(self._line_number, reason, _excerpt(raw)) from error
