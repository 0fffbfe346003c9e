"""Split a byte stream into lines across arbitrary chunk boundaries, in linear time."""

from __future__ import annotations


class LineSplitter:
    """Cut incoming chunks into complete lines ending in ``\\n``, ``\\r\\n`` or ``\\r``.

    Lines are returned as bytes without their terminator. Splitting happens on bytes, before
    any UTF-8 decoding: the terminators are ASCII and never occur inside a multi-byte
    character, so a character split between chunks is reassembled with its line.

    Each byte is scanned a constant number of times: an unfinished line is kept as a list of
    pieces and joined once, when its terminator arrives, never re-scanned per chunk.
    """

    __slots__ = ("_partial", "_partial_size", "_skip_lf")

    def __init__(self) -> None:
        self._partial: list[bytes] = []
        self._partial_size = 0
        # A chunk ended in "\r": a "\n" at the start of the next chunk belongs to that line end.
        self._skip_lf = False

    @property
    def pending_bytes(self) -> int:
        """Return the size of the unfinished line held back for the next chunk."""
        return self._partial_size

    def feed(self, chunk: bytes) -> list[bytes]:
        """Return the lines completed by ``chunk``; keep its unfinished tail for later."""
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._skip_lf = chunk.endswith(b"\r")
            # Order matters: CRLF first, so it counts as one line end, not two.
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if lines and self._partial:
            self._partial.append(lines[0])
            lines[0] = b"".join(self._partial)
            self._partial = []
            self._partial_size = 0
        if tail:
            self._partial.append(tail)
            self._partial_size += len(tail)
        return lines

    def close(self) -> list[bytes]:
        """Return the final line if the input ended without a terminator, and forget it."""
        if not self._partial:
            return []
        line = b"".join(self._partial)
        self._partial = []
        self._partial_size = 0
        return [line]
