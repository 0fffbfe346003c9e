"""Serve HTTP/1.1 on asyncio streams: parse requests, write (chunked) responses, notice clients leaving.

This is the transport half of the fake provider server; it knows nothing about any provider.
Requests are parsed by hand (request line, headers, ``Content-Length`` body, keep-alive) so the
server controls every byte it sends: the size of each TCP write, when it pauses, and when it
drops the connection without a goodbye.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

MAX_HEAD_BYTES = 64 * 1024
READ_SIZE = 64 * 1024


class BadRequest(Exception):
    """The client sent something that is not an HTTP/1.1 request we can parse."""


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the server received it.

    Args:
        method: upper-case method, e.g. "POST".
        path: the percent-decoded path without the query string.
        query: query parameters (the last value wins when a name repeats).
        headers: header names in lower case (the last value wins when a name repeats).
        body: the raw request body.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    json: Any = field(default=None, compare=False)

    @classmethod
    def parse(cls, head: bytes, body: bytes) -> RecordedRequest:
        """Build a request from its head (request line and headers) and its body."""
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ")
        except ValueError as error:
            raise BadRequest(f"bad request line {lines[0]!r}") from error
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise BadRequest(f"bad header line {line!r}")
            headers[name.strip().lower()] = value.strip()
        url = urlsplit(target)
        parsed: Any = None
        if body:
            with contextlib.suppress(UnicodeDecodeError, json.JSONDecodeError):
                parsed = json.loads(body)
        return cls(
            method=method.upper(),
            path=unquote(url.path),
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers=headers,
            body=body,
            json=parsed,
        )

    @property
    def keep_alive(self) -> bool:
        """Tell whether the client lets the connection serve another request."""
        return self.headers.get("connection", "").lower() != "close"


def reason_phrase(status: int) -> str:
    """Return the standard reason phrase for a status code (529 is Anthropic's own)."""
    if status == 529:
        return "Site Overloaded"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class HttpResponse:
    """Write one response on a connection, in writes of a chosen size.

    A streaming response is sent with ``Transfer-Encoding: chunked``; each piece handed to
    ``send`` becomes one or more HTTP chunks of at most ``write_size`` bytes, each its own TCP
    write followed by a drain. Because an HTTP client decodes chunks one by one, the client's
    byte stream is cut exactly there, even if TCP merges the segments.
    """

    def __init__(self, writer: asyncio.StreamWriter, write_size: int | None = None) -> None:
        self._writer = writer
        self.write_size = write_size
        self.started = False
        self.aborted = False
        self.bytes_sent = 0
        self._chunked = False

    async def start(self, status: int, headers: dict[str, str], *, content_length: int | None = None) -> None:
        """Send the status line and headers; without ``content_length`` the body is chunked."""
        lines = [f"HTTP/1.1 {status} {reason_phrase(status)}"]
        merged = {"connection": "keep-alive", **headers}
        self._chunked = content_length is None
        if self._chunked:
            merged["transfer-encoding"] = "chunked"
        else:
            merged["content-length"] = str(content_length)
        lines += [f"{name}: {value}" for name, value in merged.items()]
        self.started = True
        await self._write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def send(self, data: bytes) -> None:
        """Send body bytes, cut into pieces of ``write_size`` bytes (one piece when None)."""
        if not data:
            return  # an empty chunk would end a chunked body
        size = self.write_size or len(data)
        for offset in range(0, len(data), size):
            piece = data[offset : offset + size]
            if self._chunked:
                piece = b"%x\r\n%s\r\n" % (len(piece), piece)
            await self._write(piece)

    async def end(self) -> None:
        """Finish the body cleanly (the last-chunk marker when chunked)."""
        if self._chunked:
            await self._write(b"0\r\n\r\n")

    async def send_full(self, status: int, headers: dict[str, str], body: bytes) -> None:
        """Send a whole response with a ``Content-Length`` body."""
        await self.start(status, headers, content_length=len(body))
        await self.send(body)

    def abort(self) -> None:
        """Drop the TCP connection at once: no last chunk, no FIN handshake (an RST)."""
        self.aborted = True
        self._writer.transport.abort()

    async def _write(self, data: bytes) -> None:
        self.bytes_sent += len(data)
        self._writer.write(data)
        await self._writer.drain()


Handler = Callable[[RecordedRequest, HttpResponse], Awaitable[None]]


class HttpConnection:
    """Read requests from one client connection and hand each to a handler.

    While a handler runs, the connection keeps reading so that a client that leaves (EOF or
    reset) cancels the handler at once instead of at its next write.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._buffer = b""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Small scripted writes must leave at once, not wait for Nagle's algorithm.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def serve(self, handler: Handler) -> None:
        """Answer requests until the client closes, asks to close, or a response aborts."""
        try:
            while True:
                try:
                    request = await self._read_request()
                except BadRequest as error:
                    await HttpResponse(self._writer).send_full(
                        400, {"content-type": "text/plain", "connection": "close"}, str(error).encode()
                    )
                    return
                if request is None:
                    return
                response = HttpResponse(self._writer)
                if not await self._run_while_connected(handler(request, response)):
                    return
                if response.aborted or not request.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return  # the client went away mid-request or mid-response
        finally:
            # close() flushes what is still buffered; an abort already happened where scripted.
            self._writer.close()

    async def _run_while_connected(self, work: Awaitable[None]) -> bool:
        """Run a handler, cancelling it if the client leaves; return whether the client stayed."""
        task = asyncio.ensure_future(work)
        watcher = asyncio.ensure_future(self._wait_for_eof())
        try:
            await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            watcher.cancel()
            await asyncio.gather(task, watcher, return_exceptions=True)
            raise
        client_left = watcher.done()
        watcher.cancel()
        if client_left:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await watcher
        try:
            await task  # raises the handler's own error, e.g. ConnectionError on a reset
        except asyncio.CancelledError:
            if not client_left:
                raise
        return not client_left

    async def _wait_for_eof(self) -> None:
        """Keep reading (pipelined bytes go to the buffer) until the client closes."""
        while True:
            data = await self._reader.read(READ_SIZE)
            if not data:
                return
            self._buffer += data

    async def _read_request(self) -> RecordedRequest | None:
        """Read one request, or return None when the client closed between requests."""
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise BadRequest("request head too large")
            data = await self._reader.read(READ_SIZE)
            if not data:
                if self._buffer:
                    raise asyncio.IncompleteReadError(self._buffer, None)
                return None
            self._buffer += data
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        probe = RecordedRequest.parse(head, b"")
        if "chunked" in probe.headers.get("transfer-encoding", "").lower():
            raise BadRequest("chunked request bodies are not supported by the fake server")
        try:
            length = int(probe.headers.get("content-length", "0"))
        except ValueError as error:
            raise BadRequest("bad content-length") from error
        # Pieces joined once at the end: adding each read to one bytes object would copy a large
        # upload (a batch request file) once per read.
        pieces, have = [self._buffer], len(self._buffer)
        while have < length:
            data = await self._reader.read(READ_SIZE)
            if not data:
                raise asyncio.IncompleteReadError(b"".join(pieces), length)
            pieces.append(data)
            have += len(data)
        received = b"".join(pieces)
        body, self._buffer = received[:length], received[length:]
        return RecordedRequest.parse(head, body)
