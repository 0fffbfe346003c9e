"""Read a large JSON document piece by piece: one array item at a time, in bounded memory.

``json.load`` on a 200 MB export builds every conversation at once (several GB of Python
objects). ``JsonStream`` walks the outer structure itself and hands each member of an object or
item of an array to the standard library's ``raw_decode``, so only one item is held at a time.

    stream = JsonStream(binary_file)
    for key in stream.iter_object():        # top-level object
        if key == "conversations":
            for item in stream.iter_array():
                ...
        else:
            value = stream.read_value()
    stream.finish()
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER_TAIL = re.compile(r"[0-9eE.+-]*")
# Inside a string: where a plain run of characters ends (the closing quote, an escape, or a
# control character, which JSON forbids there).
_STRING_SPECIAL = re.compile(r'["\\\x00-\x1f]')
_ESCAPE = re.compile(
    r'\\(?:["\\/bfnrt]|u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u[0-9a-fA-F]{4})'
)
_LONGEST_ESCAPE = 12  # a surrogate pair: \ud83d\ude00


def _run_end(pattern: re.Pattern[str], text: str, start: int) -> int:
    """Return where the run of ``pattern`` (which also matches nothing) starting at ``start`` ends."""
    match = pattern.match(text, start)
    return match.end() if match else start


# A decode error this close to the end of the buffer may only mean the text is cut short.
_TRUNCATION_MARGIN = 16


class JsonStreamError(ValueError):
    """The text is not valid JSON (or not UTF-8); the message says where."""


class ValueTooLarge(JsonStreamError):
    """One value is larger than the reader accepts."""


class JsonStream:
    """Parse one JSON document from a binary file without loading all of it.

    Args:
        raw: a binary file opened for reading.
        chunk_chars: how much text to read at a time.
        max_value_chars: the largest single value (one array item, one member) accepted.
    """

    def __init__(
        self, raw: BinaryIO, *, chunk_chars: int = 1 << 20, max_value_chars: int = 256 << 20
    ) -> None:
        self._raw = raw
        # Plain UTF-8 (a leading BOM is dropped by hand): "utf-8-sig" counts a bad byte's
        # offset from after the BOM, which would misplace it by three.
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._bom_checked = False
        self._decode_value = json.JSONDecoder().raw_decode
        self._chunk = chunk_chars
        self._max_value = max_value_chars
        self._buffer = ""
        self._pos = 0
        self._eof = False
        self._dropped_chars = 0
        self._dropped_lines = 0
        self._dropped_line_tail = 0  # characters dropped since the last newline dropped
        self._bytes_read = 0

    # --- reading the text ---------------------------------------------------------------------

    def _read_more(self, size: int) -> bool:
        """Append up to ``size`` more characters to the buffer; return False at the end of the file."""
        if self._eof:
            return False
        if self._pos:
            consumed = self._buffer[: self._pos]
            newlines = consumed.count("\n")
            self._dropped_lines += newlines
            if newlines:
                self._dropped_line_tail = len(consumed) - consumed.rfind("\n") - 1
            else:
                self._dropped_line_tail += len(consumed)
            self._dropped_chars += self._pos
            self._buffer = self._buffer[self._pos :]
            self._pos = 0
        data = self._raw.read(size)
        pending = len(self._decoder.getstate()[0])  # bytes of a character split by the last read
        try:
            self._buffer += self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as error:
            offset = self._bytes_read - pending + error.start
            bad = error.object[error.start : error.start + 1]
            raise JsonStreamError(
                f"the file is not UTF-8 text: byte {offset:,} (counting from 0) is 0x{bad.hex() or '??'}, "
                f"{error.reason}; save the file as UTF-8 and try again"
            ) from error
        self._bytes_read += len(data)
        if not self._bom_checked and self._buffer:
            self._bom_checked = True
            if self._buffer[0] == "\ufeff":
                self._buffer = self._buffer[1:]
        if not data:
            self._eof = True
        return bool(data)

    def _skip_whitespace(self) -> None:
        while True:
            self._pos = _run_end(_WHITESPACE, self._buffer, self._pos)
            if self._pos < len(self._buffer) or not self._read_more(self._chunk):
                return

    def _peek(self) -> str:
        """Return the next non-blank character without consuming it ("" at the end)."""
        self._skip_whitespace()
        return self._buffer[self._pos] if self._pos < len(self._buffer) else ""

    def _take(self, expected: str) -> str:
        char = self._peek()
        if char not in expected or not char:
            found = repr(char) if char else "the end of the file"
            wanted = " or ".join(repr(c) for c in expected)
            raise JsonStreamError(f"not valid JSON at {self._where()}: expected {wanted}, found {found}")
        self._pos += 1
        return char

    @property
    def position(self) -> int:
        """Return how many characters have been consumed."""
        return self._dropped_chars + self._pos

    def _where(self, pos: int | None = None) -> str:
        pos = self._pos if pos is None else pos
        line = self._dropped_lines + self._buffer.count("\n", 0, pos) + 1
        newline = self._buffer.rfind("\n", 0, pos)
        column = pos - newline if newline >= 0 else self._dropped_line_tail + pos + 1
        return f"line {line} column {column}"

    # --- values -------------------------------------------------------------------------------

    def peek_kind(self) -> str:
        """Return the first character of the next value: ``{``, ``[``, ``"``... ("" at the end)."""
        return self._peek()

    def read_value(self) -> Any:
        """Parse and return the next complete value."""
        self._skip_whitespace()
        want = self._chunk
        while True:
            if len(self._buffer) - self._pos > self._max_value:
                raise ValueTooLarge(
                    f"a single value at {self._where()} is larger than {self._max_value:,} characters"
                )
            try:
                value, end = self._decode_value(self._buffer, self._pos)
            except RecursionError:
                raise JsonStreamError(
                    f"the value at {self._where()} is nested too deeply to read "
                    "(lists and objects inside each other about a thousand levels deep)"
                ) from None
            except json.JSONDecodeError as error:
                if self._eof or not self._maybe_cut_short(error):
                    raise JsonStreamError(
                        f"not valid JSON at {self._where(error.pos)}: {error.msg}"
                    ) from None
                self._read_more(want)
                want *= 2  # geometric growth keeps re-parsing a large value linear overall
                continue
            if isinstance(value, int | float) and not isinstance(value, bool) and self._may_continue(end):
                self._read_more(want)
                want *= 2
                continue  # "12" may be the start of "12.5e3"
            self._pos = end
            return value

    def _may_continue(self, end: int) -> bool:
        """Return True if the number ending at ``end`` may go on in text not read yet."""
        return not self._eof and _run_end(_NUMBER_TAIL, self._buffer, end) == len(self._buffer)

    def _maybe_cut_short(self, error: json.JSONDecodeError) -> bool:
        # "Unterminated string" reports where the string starts, which may be far from the end.
        return error.pos >= len(self._buffer) - _TRUNCATION_MARGIN or error.msg.startswith(
            "Unterminated string"
        )

    def iter_string(self) -> Iterator[str]:
        """Yield the string value that comes next in pieces, never holding it whole (base64 data).

        Escapes are decoded; a piece may be empty. The whole string must be read before the
        next value is asked for.
        """
        self._take('"')
        while True:
            special = _STRING_SPECIAL.search(self._buffer, self._pos)
            if special is None:
                piece, self._pos = self._buffer[self._pos :], len(self._buffer)
                yield piece
                if not self._read_more(self._chunk):
                    raise JsonStreamError(f"not valid JSON at {self._where()}: the text ends inside a string")
                continue
            start = special.start()
            if start > self._pos:
                yield self._buffer[self._pos : start]
                self._pos = start
            char = self._buffer[start]
            if char == '"':
                self._pos = start + 1
                return
            if char != "\\":
                raise JsonStreamError(
                    f"not valid JSON at {self._where(start)}: a control character in a string"
                )
            yield self._escape()

    def _escape(self) -> str:
        """Decode the escape sequence at the position (a surrogate pair is one sequence)."""
        while len(self._buffer) - self._pos < _LONGEST_ESCAPE and self._read_more(self._chunk):
            pass
        match = _ESCAPE.match(self._buffer, self._pos)
        if match is None:
            raise JsonStreamError(f"not valid JSON at {self._where()}: a bad escape in a string")
        self._pos = match.end()
        return str(json.loads(f'"{match.group()}"'))

    def iter_array(self) -> Iterator[Any]:
        """Yield the items of the array that comes next, one at a time."""
        self._take("[")
        if self._peek() == "]":
            self._pos += 1
            return
        while True:
            yield self.read_value()
            if self._take(",]") == "]":
                return

    def iter_items(self) -> Iterator[int]:
        """Yield the index of each item of the array that comes next; read each item before the next."""
        self._take("[")
        if self._peek() == "]":
            self._pos += 1
            return
        index = 0
        while True:
            yield index
            index += 1
            if self._take(",]") == "]":
                return

    def iter_object(self) -> Iterator[str]:
        """Yield the keys of the object that comes next; read each value before asking for the next key."""
        self._take("{")
        if self._peek() == "}":
            self._pos += 1
            return
        while True:
            if self._peek() != '"':
                raise JsonStreamError(f"not valid JSON at {self._where()}: expected a member name in quotes")
            key = self.read_value()
            self._take(":")
            yield key
            if self._take(",}") == "}":
                return

    def finish(self) -> None:
        """Check that nothing but whitespace follows the document."""
        if self._peek():
            raise JsonStreamError(f"not valid JSON at {self._where()}: extra data after the document")
