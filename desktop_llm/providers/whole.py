"""Tell a streamed reply from one whole JSON reply to a streaming request, and collect the latter.

Some servers ignore ``stream: true`` and answer with the non-streamed JSON object (LiteLLM's
proxy in mock mode on Anthropic's route, other proxies). The reader looks at the response's
content type and its first byte that is not white space: an event stream starts with a field
name or a comment, never with ``{`` or ``[``. Ollama streams JSON lines, which start with
``{`` too, so for it only a plain ``application/json`` content type means a whole reply.
"""

from __future__ import annotations

from typing import Literal

from desktop_llm.providers.bodies import BodyTooLarge

# As large as one server-sent event may be: a whole reply is one event's worth of text.
MAX_WHOLE_REPLY = 64 * 1024 * 1024 + 1024 * 1024

_SKIPPED = b"\xef\xbb\xbf \t\r\n"  # a byte order mark and white space before the first real byte
_JSON_STARTS = (ord("{"), ord("["))

Mode = Literal["undecided", "stream", "whole"]


def is_plain_json(content_type: str) -> bool:
    """Return whether a content type names one JSON document (not JSON lines or an event stream)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class ReplyBody:
    """Hold back a response's first bytes until it is clear whether it streams; collect a whole reply.

    Args:
        json_lines: the protocol streams JSON lines (Ollama): decide by content type alone.
        limit: the largest whole reply accepted.
    """

    def __init__(self, *, json_lines: bool, limit: int = MAX_WHOLE_REPLY) -> None:
        self.content_type = ""
        self.mode: Mode = "undecided"
        self._json_lines = json_lines
        self._limit = limit
        self._held: list[bytes] = []
        self._size = 0

    def take(self, chunk: bytes) -> bytes:
        """Return the bytes the stream decoder should see now (none while undecided or whole).

        Raises:
            BodyTooLarge: a whole reply grew past the limit.
        """
        if self.mode == "stream":
            return chunk
        self._held.append(chunk)
        self._size += len(chunk)
        if self.mode == "undecided":
            first = b"".join(self._held).lstrip(_SKIPPED)[:1]
            if not first:
                return b""
            self.mode = "whole" if self._is_whole(first[0]) else "stream"
            if self.mode == "stream":
                return self.flush()
        if self._size > self._limit:
            self._held = []
            raise BodyTooLarge(self._limit)
        return b""

    def flush(self) -> bytes:
        """Return (and forget) the bytes held back: at the end of a body still undecided, or a whole reply."""
        held = b"".join(self._held)
        self._held = []
        return held

    def _is_whole(self, first: int) -> bool:
        if self._json_lines:
            return is_plain_json(self.content_type)
        return first in _JSON_STARTS
