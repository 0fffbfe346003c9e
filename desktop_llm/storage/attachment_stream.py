"""Move attachment bytes through the export format as base64 a piece at a time, checking their hash.

An export carries each attachment's bytes as one standard base64 string (RFC 4648 alphabet, with
padding, no line breaks). Neither side ever holds a whole attachment as text: the exporter
encodes blob pieces whose size is a multiple of 3 (so the pieces' encodings join into one valid
string), and the importer decodes the string as it streams by, hashing and counting, and keeps
the bytes only when asked, in a spooled temporary file (memory for small ones, disk for big).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

ENCODE_PIECE = 3 * (1 << 18)  # 768 KiB of bytes -> 1 MiB of base64 per write
SPOOL_IN_MEMORY = 1 << 20  # attachments up to this size stay in memory while importing


class Base64Error(ValueError):
    """The text is not standard base64; the message says where and why."""


def encode_pieces(pieces: Iterable[bytes]) -> Iterator[str]:
    """Yield the base64 of the joined ``pieces``, re-cut into whole byte triples (all but the last)."""
    carry = b""
    for piece in pieces:
        data = carry + piece
        cut = len(data) - len(data) % 3
        carry = data[cut:]
        if cut:
            yield base64.b64encode(data[:cut]).decode("ascii")
    if carry:
        yield base64.b64encode(carry).decode("ascii")


class Base64Decoder:
    """Decode base64 text fed in pieces; count, hash and (optionally) keep the bytes.

    Args:
        keep: keep the decoded bytes in :attr:`spool` for writing later.
    """

    def __init__(self, *, keep: bool) -> None:
        self.size = 0
        self._hash = hashlib.sha256()
        self._pending = ""
        self._chars = 0
        self._ended = False  # a padded group was seen: nothing may follow
        # Closed by close(), or by whoever takes the bytes (the importer, once written).
        self.spool: IO[bytes] | None = (
            tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) if keep else None  # noqa: SIM115
        )

    def feed(self, text: str) -> None:
        """Decode the next piece of the string."""
        text = self._pending + text
        cut = len(text) - len(text) % 4
        self._pending = text[cut:]
        if cut:
            self._decode(text[:cut])

    def finish(self) -> str:
        """Check the string ended well and return the lowercase hex sha256 of the bytes."""
        if self._pending:
            raise Base64Error(
                f"not valid base64: its length ({self._chars + len(self._pending):,} characters) "
                "is not a multiple of 4"
            )
        if self.spool is not None:
            self.spool.seek(0)
        return self._hash.hexdigest()

    def close(self) -> None:
        """Drop the kept bytes."""
        if self.spool is not None:
            self.spool.close()

    def _decode(self, text: str) -> None:
        if self._ended:
            raise Base64Error(f"not valid base64: text after the padding at character {self._chars:,}")
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as error:
            raise Base64Error(f"not valid base64 near character {self._chars:,} ({error})") from None
        if "=" in text:
            # Padding may only end the string: inside, b64decode would accept it per group.
            if "=" in text[:-2] or (text[-2] == "=" and text[-1] != "="):
                raise Base64Error(f"not valid base64: padding inside the text near character {self._chars:,}")
            self._ended = True
        self._chars += len(text)
        self.size += len(data)
        self._hash.update(data)
        if self.spool is not None:
            self.spool.write(data)


def read_pieces(spool: IO[bytes], size: int = ENCODE_PIECE) -> Iterator[bytes]:
    """Yield the contents of ``spool`` from where it is, a piece at a time."""
    while piece := spool.read(size):
        yield piece
