"""Decode Server-Sent Events incrementally: bytes in, events out, nothing about HTTP.

Follows the WHATWG "event stream interpretation" rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):

- one leading UTF-8 byte order mark is dropped; invalid UTF-8 becomes U+FFFD;
- lines end in ``\\n``, ``\\r\\n`` or ``\\r``, even when the ``\\r`` and ``\\n`` arrive in
  different chunks; a line starting with ``:`` is a comment (pings);
- ``field: value`` with one optional space after the colon; a line without a colon is a field
  with an empty value; unknown fields are ignored;
- ``data`` lines are joined with ``\\n``; ``event`` names the type (``"message"`` when absent);
  ``id`` sets the last event id, which persists across events (ignored if it contains NUL);
  ``retry`` is honoured only when it is all ASCII digits;
- a blank line dispatches the event, unless no ``data`` line was seen since the last one
  (a block of only ``event:``/``id:``/``retry:`` lines dispatches nothing). A ``data:`` line
  with an empty value does count: it dispatches an event whose data is ``""``.

One deliberate departure: at the end of input (``close()``) an event that has data but no
closing blank line IS dispatched, where the specification discards it. A server or proxy that
drops the final blank line has still sent the reply's last chunk (often the one carrying the
finish reason); losing it would turn a finished reply into an interrupted one.

Speed: lines are split with ``bytes`` methods on whole chunks (no per-line regex), data stays
bytes until its event is dispatched and is then decoded in one call. Decoding whole lines is
what makes a UTF-8 character split across chunks safe: line terminators are ASCII and never
occur inside a multi-byte character, so a line is only decoded once all its bytes are here.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop_llm.providers.lines import LineSplitter

_BOM = b"\xef\xbb\xbf"

# 64 MiB of data plus room for the field names and the JSON around it.
DEFAULT_MAX_EVENT_BYTES = 64 * 1024 * 1024 + 1024 * 1024


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event.

    Args:
        event: the event type; ``"message"`` when the stream named none.
        data: the ``data`` lines joined with ``\\n``.
        id: the last event id in effect, or None when there is none.
        retry: the reconnection time in milliseconds given in this event's own block, if any.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class EventTooLarge(ValueError):
    """An event grew past the decoder's limit; the stream cannot be trusted any further."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"A server-sent event reached {size:,} bytes, more than the limit of {limit:,} bytes; "
            "the stream was abandoned."
        )
        self.size = size
        self.limit = limit


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class SSEDecoder:
    """Turn chunks of an event stream into ``SSEEvent`` objects, in linear time.

    Feed chunks as they arrive, split anywhere; call ``close()`` at the end of input. After
    ``EventTooLarge`` the decoder refuses further input (it raises the same error again).

    Args:
        max_event_bytes: the largest event accepted, counted as the bytes of its data lines
            (plus one per line) and of any unfinished line waiting for its terminator.
    """

    __slots__ = (
        "_bom_checked",
        "_data",
        "_data_size",
        "_error",
        "_event",
        "_head",
        "_last_id",
        "_lines",
        "_max_event_bytes",
        "_retry",
        "reconnection_time",
    )

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._max_event_bytes = max_event_bytes
        self._lines = LineSplitter()
        self._bom_checked = False
        self._head = b""  # the first bytes, while they might still be a split BOM
        self._data: list[bytes] = []
        self._data_size = 0
        self._event = ""
        self._last_id = ""
        self._retry: int | None = None
        self._error: EventTooLarge | None = None
        # The spec's reconnection time: the latest valid ``retry`` value, kept even when its
        # block dispatched no event.
        self.reconnection_time: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Return the events completed by ``chunk``.

        Raises:
            EventTooLarge: an event (or an unfinished line) passed ``max_event_bytes``.
        """
        if self._error is not None:
            raise self._error
        if not self._bom_checked:
            chunk = self._strip_bom(chunk)
        events = self._interpret(self._lines.feed(chunk))
        pending = self._data_size + self._lines.pending_bytes
        if pending > self._max_event_bytes:
            self._fail(pending)
        return events

    def close(self) -> list[SSEEvent]:
        """Return what the end of input completes, including an unterminated final event."""
        if self._error is not None:
            raise self._error
        lines = []
        if not self._bom_checked:
            # Fewer than three bytes arrived and they were a BOM's start: plain (bad) text.
            self._bom_checked = True
            lines = self._lines.feed(self._head)
        lines += self._lines.close()
        lines.append(b"")
        return self._interpret(lines)

    def _strip_bom(self, chunk: bytes) -> bytes:
        head = self._head + chunk
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._head = head
            return b""
        self._bom_checked = True
        self._head = b""
        return head[len(_BOM) :] if head.startswith(_BOM) else head

    def _interpret(self, lines: list[bytes]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(
                        SSEEvent(
                            self._event or "message",
                            _decode(b"\n".join(data)),
                            self._last_id or None,
                            self._retry,
                        )
                    )
                    data.clear()
                    self._data_size = 0
                self._event = ""
                self._retry = None
            elif line.startswith(b"data: "):
                # The hot path: nearly every line of an LLM stream is this.
                self._add_data(line[6:])
            elif line.startswith(b"event: "):
                # The other hot line: Anthropic names every event.
                self._event = _decode(line[7:])
            elif line[0] != 0x3A:  # ":" starts a comment
                self._field(line)
        return events

    def _field(self, line: bytes) -> None:
        name, colon, value = line.partition(b":")
        if colon and value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            self._add_data(value)
        elif name == b"event":
            self._event = _decode(value)
        elif name == b"id":
            if b"\0" not in value:
                self._last_id = _decode(value)
        elif name == b"retry" and value.isdigit():  # bytes.isdigit is ASCII-only, as the spec requires
            self._retry = self.reconnection_time = int(value)

    def _add_data(self, value: bytes) -> None:
        self._data.append(value)
        self._data_size += len(value) + 1  # the "\n" that joins it to the next line
        if self._data_size > self._max_event_bytes:
            self._fail(self._data_size)

    def _fail(self, size: int) -> None:
        # Drop what was buffered so the memory is released even if the caller keeps us.
        self._data = []
        self._lines = LineSplitter()
        self._error = EventTooLarge(size, self._max_event_bytes)
        raise self._error
