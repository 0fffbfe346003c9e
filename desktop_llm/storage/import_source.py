"""Find out what a file to import is, by its content: desktop-llm JSON, ChatGPT JSON, or ChatGPT's .zip.

The name says nothing (a ChatGPT export may be renamed, a desktop-llm export may end in .txt):
a file starting with the zip signature is opened as a zip and must hold ``conversations.json``;
otherwise the first character decides: ``{`` is a desktop-llm export, ``[`` a ChatGPT
``conversations.json``. Sizes are checked before anything is parsed, and again while reading
(a zip's header may lie about its uncompressed size).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, BinaryIO, Literal

from desktop_llm.storage.errors import ImportFailed
from desktop_llm.storage.json_stream import ValueTooLarge

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

Kind = Literal["desktop-llm", "chatgpt"]
_ZIP_SIGNATURE = b"PK\x03\x04"
_CHATGPT_MEMBER = "conversations.json"
_SNIFF_BYTES = 4096


@dataclass(frozen=True)
class ImportLimits:
    """The largest input accepted: the whole (uncompressed) JSON, and one conversation in it."""

    max_bytes: int = 2 << 30
    max_item_chars: int = 64 << 20


DEFAULT_LIMITS = ImportLimits()


@dataclass(frozen=True)
class ImportSource:
    """A checked input: where its JSON is, what kind it is, and how big."""

    path: Path
    kind: Kind
    size: int
    member: str | None = None  # the zip member holding the JSON

    @contextmanager
    def open(self, limits: ImportLimits) -> Iterator[BinaryIO]:
        """Yield the JSON bytes as a stream that refuses to run past ``limits.max_bytes``."""
        if self.member is None:
            with self.path.open("rb") as raw:
                yield io.BufferedReader(_Bounded(raw, limits.max_bytes, self.describe()))
        else:
            with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as raw:
                yield io.BufferedReader(_Bounded(raw, limits.max_bytes, self.describe()))

    def describe(self) -> str:
        """Return the input's name for messages: the file, and the zip member if any."""
        return f"{self.path} ({self.member})" if self.member else str(self.path)


class _Bounded(io.RawIOBase):
    """A read-only stream that raises once more than ``limit`` bytes have been read."""

    def __init__(self, raw: IO[bytes], limit: int, name: str) -> None:
        super().__init__()
        self._raw = raw
        self._limit = limit
        self._name = name
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        self._count += len(data)
        if self._count > self._limit:
            raise ValueTooLarge(_too_big(self._name, self._count, self._limit))
        view[: len(data)] = data
        return len(data)


def _too_big(name: str, size: int, limit: int) -> str:
    return f"{name} is too large to import ({size:,} bytes or more; the limit is {limit:,} bytes)"


def _sniff(head: bytes) -> Kind:
    """Return the kind a JSON text starting with ``head`` is, or raise ImportFailed."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text:
        raise ImportFailed(["the file is empty"])
    if text[0] == "{":
        return "desktop-llm"
    if text[0] == "[":
        return "chatgpt"
    shown = text[:20].split("\n")[0]
    raise ImportFailed(
        [f"not JSON: it starts with {shown!r} (expected a desktop-llm export or a ChatGPT export)"]
    )


def detect_source(path: Path, limits: ImportLimits = DEFAULT_LIMITS) -> ImportSource:
    """Return what ``path`` holds, or raise ImportFailed naming why it cannot be imported."""
    try:
        with path.open("rb") as raw:
            head = raw.read(_SNIFF_BYTES)
    except IsADirectoryError:
        raise ImportFailed([f"{path} is a folder, not a file"]) from None
    except FileNotFoundError:
        raise ImportFailed([f"{path} does not exist"]) from None
    except OSError as error:
        raise ImportFailed([f"{path} cannot be read: {error.strerror or error}"]) from None
    if not head.startswith(_ZIP_SIGNATURE):
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise ImportFailed([_too_big(str(path), size, limits.max_bytes)])
        try:
            return ImportSource(path, _sniff(head), size)
        except ImportFailed as failed:
            raise ImportFailed(failed.problems, source=str(path)) from None
    return _zip_source(path, limits)


def _zip_source(path: Path, limits: ImportLimits) -> ImportSource:
    try:
        with zipfile.ZipFile(path) as archive:
            candidates = [
                info
                for info in archive.infolist()
                if PurePosixPath(info.filename).name == _CHATGPT_MEMBER and not info.is_dir()
            ]
            if not candidates:
                raise ImportFailed(
                    [f"the .zip file holds no {_CHATGPT_MEMBER} (is it a ChatGPT data export?)"],
                    source=str(path),
                )
            info = min(candidates, key=lambda i: i.filename.count("/"))
            if info.file_size > limits.max_bytes:
                raise ImportFailed([_too_big(f"{path} ({info.filename})", info.file_size, limits.max_bytes)])
            with archive.open(info) as member:
                head = member.read(_SNIFF_BYTES)
    except (zipfile.BadZipFile, EOFError) as error:
        raise ImportFailed([f"{path} is a damaged .zip file: {error}"]) from None
    except NotImplementedError as error:  # an unsupported compression method
        raise ImportFailed([f"{path} uses a .zip feature Python cannot read: {error}"]) from None
    return ImportSource(path, _sniff(head), info.file_size, info.filename)
