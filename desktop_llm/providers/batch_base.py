"""Share what every provider batch client does: write request files in parts, stream them, read results.

A client writes its requests as one JSON text per row into part files on disk, starting a new
part before one would pass the provider's request count or byte limit (``BatchLimits``), so an
input of any size is split into jobs transparently and never held in memory. Each part file is
already the bytes the provider takes (a JSONL file to upload, or a JSON body whose array items
are the rows), so sending it is streaming the file. Results are downloaded to disk and read back
line by line. Rows are matched by their id, never by position.

HTTP goes through the ``Provider``: its pooled client, auth headers, error mapping, retries and
circuit breaker (``Provider.request_object`` and ``Provider.download``).
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from desktop_llm.providers.base import Provider
from desktop_llm.providers.batch_types import BatchItem, BatchLimits, BatchOutcome, RemoteJob
from desktop_llm.providers.errors import InvalidRequestError, ProviderError, redact
from desktop_llm.providers.http_errors import ServerSaid, error_from_status

__all__ = ["BatchClient", "FileBody", "Part", "PartFormat", "read_json_lines"]

_READ_LINES = 2000  # lines read per hop off the event loop's thread
_CHUNK = 1 << 20


@dataclass(frozen=True)
class PartFormat:
    """How rows sit in a part file: ``head``, rows separated by ``sep``, ``tail``; each row one line."""

    head: bytes = b""
    sep: bytes = b""
    tail: bytes = b""


JSONL = PartFormat()


@dataclass(frozen=True)
class Part:
    """One part file: the rows of one provider job.

    Args:
        path: the file.
        ids: the rows' ids, in file order.
        size: the file's size in bytes.
        model: the model of its rows (one model per batch run).
    """

    path: Path
    ids: tuple[str, ...]
    size: int
    model: str = ""


class FileBody:
    """Stream ``pieces`` (bytes, or a file's whole content) as a request body of known length.

    Each iteration opens the files afresh, so a retried request sends the same bytes again.
    File reads leave the event loop's thread.
    """

    def __init__(self, *pieces: bytes | Path) -> None:
        self.pieces = pieces
        self.length = sum(len(p) if isinstance(p, bytes) else p.stat().st_size for p in pieces)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            if isinstance(piece, bytes):
                yield piece
                continue
            source = await asyncio.to_thread(piece.open, "rb")
            try:
                while chunk := await asyncio.to_thread(source.read, _CHUNK):
                    yield chunk
            finally:
                await asyncio.to_thread(source.close)

    def body(self, content_type: str) -> Mapping[str, Any]:
        """Return httpx arguments that send it with a Content-Length (never chunked)."""
        return {
            "content": aiter(self),
            "headers": {"content-type": content_type, "content-length": str(self.length)},
        }


async def read_json_lines(path: Path) -> AsyncIterator[Any]:
    """Yield the JSON value of each non-blank line of ``path``, reading off the event loop's thread."""
    source = await asyncio.to_thread(path.open, "rb")
    try:
        while lines := await asyncio.to_thread(source.readlines, _READ_LINES * 512):
            for line in lines:
                if line.strip():
                    yield json.loads(line)
    finally:
        await asyncio.to_thread(source.close)


class BatchClient(ABC):
    """Submit, poll, read and cancel batch jobs on one provider.

    Args:
        provider: the chat provider whose client, key, retries and errors the batch calls share.
        limits: the most one job may hold (tests pass small ones); the provider's own by default.
    """

    default_limits: ClassVar[BatchLimits]
    part_format: ClassVar[PartFormat] = JSONL

    def __init__(self, provider: Provider, *, limits: BatchLimits | None = None) -> None:
        self.provider = provider
        self.limits = limits or self.default_limits
        self.base_url = provider.base_url
        self.name = provider.name

    # -- what a provider supplies ---------------------------------------------------------

    @abstractmethod
    def encode(self, item: BatchItem) -> dict[str, Any]:
        """Return one row as the provider's batch line (its id and its request body)."""

    @abstractmethod
    async def submit_part(self, part: Part) -> RemoteJob:
        """Send one part file as a new job and return it."""

    @abstractmethod
    async def status(self, job_id: str) -> RemoteJob:
        """Return the job as it stands now."""

    @abstractmethod
    async def cancel(self, job_id: str) -> RemoteJob:
        """Ask the provider to stop the job; rows already answered keep their results."""

    @abstractmethod
    def results(self, job: RemoteJob, folder: Path) -> AsyncIterator[BatchOutcome]:
        """Yield the outcome of every row the job has a result for (any order), via files in ``folder``."""

    # -- shared ----------------------------------------------------------------------------

    def write_parts(self, items: Iterable[BatchItem], folder: Path, stem: str = "part") -> list[Part]:
        """Write the rows into part files within the limits; return the parts. Blocking.

        Raises:
            InvalidRequestError: one row alone is over the byte limit, or two rows share an id.
        """
        writer = _PartWriter(self.part_format, self.limits, folder, stem)
        seen: set[str] = set()
        try:
            for item in items:
                if item.custom_id in seen:
                    raise InvalidRequestError(f"Two rows of the batch have the id {item.custom_id!r}.")
                seen.add(item.custom_id)
                line = json.dumps(self.encode(item), ensure_ascii=False, separators=(",", ":"))
                writer.add(item.custom_id, line.encode("utf-8"), item.request.model)
            return writer.finish()
        finally:
            writer.close()

    async def submit(self, items: Iterable[BatchItem], folder: Path) -> list[RemoteJob]:
        """Write the rows in parts and submit each as a job; return the jobs in order."""
        parts = await asyncio.to_thread(self.write_parts, items, folder)
        return [await self.submit_part(part) for part in parts]

    def row_error(self, status: int, payload: Any) -> str:
        """Return a person's words for one row's error (status and body as the provider gave them)."""
        said = ServerSaid.from_payload(payload)
        error: ProviderError = error_from_status(status, said, {}, self.provider.origin)
        return str(error)

    def row_message(self, what: str, message: str) -> str:
        """Return ``what`` happened to a row with the provider's own words, redacted and shortened."""
        text = " ".join(redact(message, self.provider.config.api_key).split())[:400]
        return f"{what}: {text}" if text else what

    async def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        return await self.provider.request_object(method, url, **kwargs)


class _PartWriter:
    """Append rows to part files, opening the next before a limit would be passed."""

    def __init__(self, form: PartFormat, limits: BatchLimits, folder: Path, stem: str) -> None:
        self.form = form
        self.limits = limits
        self.folder = folder
        self.stem = stem
        self.parts: list[Part] = []
        self._out: Any = None
        self._ids: list[str] = []
        self._size = 0
        self._model = ""

    def add(self, custom_id: str, line: bytes, model: str) -> None:
        self._model = model
        form, limits = self.form, self.limits
        if len(form.head) + len(line) + 1 + len(form.tail) > limits.max_bytes:
            raise InvalidRequestError(
                f"Row {custom_id} alone is larger than one batch may be ({limits.max_bytes:,} bytes). "
                "Shorten its text, or run it locally."
            )
        fits = self._size + len(form.sep) + len(line) + 1 + len(form.tail) <= limits.max_bytes
        if self._out is None or len(self._ids) >= limits.max_requests or not fits:
            self._next()
        elif form.sep:
            self._write(form.sep)
        self._write(line + b"\n")
        self._ids.append(custom_id)

    def finish(self) -> list[Part]:
        self._end()
        return self.parts

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def _next(self) -> None:
        self._end()
        path = self.folder / f"{self.stem}-{len(self.parts) + 1:03d}.jsonl"
        self._out = path.open("wb")
        self._path = path
        self._write(self.form.head)

    def _end(self) -> None:
        if self._out is None:
            return
        self._write(self.form.tail)
        self.close()
        self.parts.append(Part(self._path, tuple(self._ids), self._size, self._model))
        self._ids, self._size = [], 0

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._size += len(data)
