"""Run a fake LLM provider server that speaks the OpenAI, Anthropic, Gemini and Ollama wire protocols.

A real HTTP/1.1 server on 127.0.0.1 (a free port) with its own thread and event loop, so any client
loop can use it: pytest's ``asyncio.run``, qasync, or a synchronous SDK. Tests script replies
(text, reasoning, usage, finish reason, errors, faults) and inspect the recorded requests::

    with ProviderServer() as server:
        server.push(Reply(text="Hi there"), Reply(status=429, headers={"retry-after": "2"}))
        ...  # point a client at server.url_for("openai")
        assert server.chat_requests[0].json["model"] == "gpt-4o-mini"

Each chat request (any protocol) pops the next scripted reply; when none is queued, ``Reply()``
answers. Requests refused for a wrong key, a missing ``anthropic-version`` or ``max_tokens``, or
a file, tool, tool call or tool result the real API would refuse (``wire_checks``) are answered
by the server itself (400 in the provider's error shape) and pop nothing. ``Reply.tool_calls``
scripts calls (``ScriptedCall``), streamed in each protocol's way. ``server.listing``, when set,
answers model listings with whatever bytes it returns (hostile pages). ``Reply`` documents the script; each
``wire_*`` module documents one protocol's encoding.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Final

from .wire_anthropic import AnthropicDialect
from .wire_base import DEFAULT, Dialect, Reply, Route, Turn
from .wire_batches import BatchEngine, BatchScript
from .wire_gemini import GeminiDialect
from .wire_http import HttpConnection, HttpResponse, RecordedRequest
from .wire_ollama import OllamaDialect
from .wire_openai import OpenAIDialect
from .wire_play import play_complete, play_json, play_raw, play_stream

__all__ = ["DEFAULT", "BatchScript", "Listing", "ProviderServer", "RecordedRequest", "Reply", "ServerBug"]

# Answers a model listing request (its query) with a raw JSON body, instead of ``models``.
Listing = Callable[[Mapping[str, str]], bytes]

DEFAULT_MODELS: Final = ("model-a", "model-b")
DEFAULT_PAGE_SIZE: Final = 100
BASE_PATHS = {"openai": "/v1", "openai-compatible": "/v1", "anthropic": "", "gemini": "", "ollama": ""}


class ServerBug(AssertionError):
    """The fake server itself failed while answering a request (a bug in the fake, not the client)."""


class ProviderServer:
    """A scripted provider server on its own thread; use it as a context manager.

    Args:
        api_key: when set, requests without this key (where the protocol carries it) get a 401.
        batch_clock: the clock batch jobs move on (a ``FakeClock`` in tests; default: real time).
    """

    def __init__(self, *, api_key: str | None = None, batch_clock: Callable[[], float] | None = None) -> None:
        self._initial_api_key = api_key
        self.api_key = api_key
        self.models: list[str] = list(DEFAULT_MODELS)
        self.page_size = DEFAULT_PAGE_SIZE
        self.listing: Listing | None = None
        self.port = 0
        # OpenAI last among those sharing GET /v1/models: the others claim it by their headers.
        self._dialects: tuple[Dialect, ...] = (
            AnthropicDialect(),
            GeminiDialect(),
            OpenAIDialect(),
            OllamaDialect(),
        )
        # The three batch APIs; set ``batches.clock`` and ``batches.script`` to drive them.
        self.batches = BatchEngine() if batch_clock is None else BatchEngine(batch_clock)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._replies: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._chat_requests: list[RecordedRequest] = []
        self._bugs: list[BaseException] = []
        self._sent: list[int] = []
        self._open = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    # -- the test's side (any thread) ------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:PORT``."""
        if not self.port:
            raise RuntimeError("the fake provider server is not running; use it as a context manager")
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, kind: str) -> str:
        """Return the base URL a ``ProviderConfig`` of this kind wants (``/v1`` for OpenAI kinds)."""
        try:
            return self.base_url + BASE_PATHS[kind]
        except KeyError:
            raise ValueError(f"unknown provider kind {kind!r}") from None

    def push(self, *replies: Reply) -> None:
        """Queue scripted replies; each chat request pops the next one."""
        with self._lock:
            self._replies.extend(replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Return a copy of every request received so far, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Return the requests to chat endpoints (not model listings), in order."""
        with self._lock:
            return list(self._chat_requests)

    @property
    def bytes_sent(self) -> list[int]:
        """Return how many bytes each finished response wrote (head included), in order."""
        with self._lock:
            return list(self._sent)

    @property
    def open_connections(self) -> int:
        """Return how many client TCP connections are open right now."""
        return self._open

    @property
    def bugs(self) -> list[BaseException]:
        """Return the errors the server itself raised while answering (should stay empty)."""
        with self._lock:
            return list(self._bugs)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until ``count`` requests were received; raise ``TimeoutError`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {count} requests, got {len(self._requests)} in {timeout} s")
                self._arrived.wait(left)
            return list(self._requests)

    def wait_for_responses(self, count: int, timeout: float = 5.0) -> list[int]:
        """Block until ``count`` responses finished (or were cut off); return ``bytes_sent``."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._sent) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {count} responses, got {len(self._sent)} in {timeout} s")
                self._arrived.wait(left)
            return list(self._sent)

    def reset(self) -> None:
        """Forget queued replies and recorded requests; restore models, page size and key."""
        with self._lock:
            self._replies.clear()
            self._requests.clear()
            self._chat_requests.clear()
            self._bugs.clear()
            self._sent.clear()
            self.models = list(DEFAULT_MODELS)
            self.page_size = DEFAULT_PAGE_SIZE
            self.listing = None
            self.api_key = self._initial_api_key
            self.batches.reset()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> ProviderServer:
        """Start the server thread and wait until it listens."""
        if self._thread is not None:
            raise RuntimeError("the fake provider server is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name="fake-provider-server", daemon=True
        )
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError("the fake provider server could not start") from failure[0]
        return self

    def stop(self) -> None:
        """Close every connection, stop the loop and join the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None
        self.port = 0

    def __enter__(self) -> ProviderServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        bugs = self.bugs
        if bugs and exc_type is None:
            raise ServerBug(f"the fake provider server failed {len(bugs)} time(s)") from bugs[0]

    # -- the server's side (its own thread and loop) ---------------------------------------

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(asyncio.start_server(self._on_connection, "127.0.0.1", 0))
            self.port = self._server.sockets[0].getsockname()[1]
        except OSError as error:
            failure.append(error)
            loop.close()
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        # An aborted transport ends its connection task through EOF, which the task handles.
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = list(self._connections)
        if tasks:
            _, stragglers = await asyncio.wait(tasks, timeout=2)
            for task in stragglers:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._writers.add(writer)
        self._open += 1
        try:
            await HttpConnection(reader, writer).serve(self._answer)
        except asyncio.CancelledError:
            pass  # only _shutdown cancels, and asyncio's stream callback would log it as an error
        finally:
            self._open -= 1
            self._writers.discard(writer)
            self._connections.discard(task)

    def _match(self, request: RecordedRequest) -> tuple[Dialect, Route] | None:
        for dialect in self._dialects:
            route = dialect.route(request)
            if route is not None:
                return dialect, route
        return None

    def _record(self, request: RecordedRequest, is_chat: bool) -> None:
        with self._arrived:
            self._requests.append(request)
            if is_chat:
                self._chat_requests.append(request)
            self._arrived.notify_all()

    async def _answer(self, request: RecordedRequest, response: HttpResponse) -> None:
        """Answer one request; a failure of the fake itself is kept for ``__exit__`` to report."""
        try:
            await self._dispatch(request, response)
        except (ConnectionError, asyncio.CancelledError):
            raise  # the client left: not our bug
        except Exception as error:  # noqa: BLE001 - kept and raised again by __exit__
            with self._lock:
                self._bugs.append(error)
            if not response.started:
                await play_json(response, 500, {"error": f"fake server bug: {error!r}"})
            else:
                response.abort()
        finally:
            with self._arrived:
                self._sent.append(response.bytes_sent)
                self._arrived.notify_all()

    async def _dispatch(self, request: RecordedRequest, response: HttpResponse) -> None:
        batch_kind = self.batches.kind_of(request)
        if batch_kind is not None:
            await self._answer_batch(batch_kind, request, response)
            return
        match = self._match(request)
        self._record(request, is_chat=match is not None and match[1].action == "chat")
        if match is None:
            await play_json(response, 404, {"error": f"no such endpoint: {request.method} {request.path}"})
            return
        dialect, route = match
        if self.api_key is not None and dialect.api_key(request) != self.api_key:
            body = dialect.error_body(401, "Invalid API key. Check the key in your settings.", None)
            await play_json(response, 401, body)
            return
        problem = dialect.validate(request, route)
        if problem is not None:
            status, message, error_type = problem
            await play_json(response, status, dialect.error_body(status, message, error_type))
            return
        if route.action == "models":
            with self._lock:
                models, page_size, listing = list(self.models), self.page_size, self.listing
            if listing is not None:
                await response.send_full(200, {"content-type": "application/json"}, listing(request.query))
                return
            await play_json(response, 200, dialect.list_models(models, page_size, request.query))
            return
        with self._lock:
            reply = self._replies.popleft() if self._replies else Reply()
        response.write_size = reply.write_size
        if reply.raw_body is not None:
            await play_raw(response, reply)
            return
        if reply.status != 200:
            if reply.silence_before:
                await asyncio.sleep(reply.silence_before)
            body = dialect.error_body(reply.status, reply.error_message, reply.error_type)
            await play_json(response, reply.status, body, reply.headers)
            return
        encoder = dialect.make_encoder(request, Turn.build(reply, route.model, request.json))
        streamed = route.stream and not reply.whole_json
        await (play_stream if streamed else play_complete)(encoder, response)

    async def _answer_batch(self, kind: str, request: RecordedRequest, response: HttpResponse) -> None:
        self._record(request, is_chat=False)
        dialect = next(d for d in self._dialects if d.name == kind)
        if self.api_key is not None and dialect.api_key(request) != self.api_key:
            body = dialect.error_body(401, "Invalid API key. Check the key in your settings.", None)
            await play_json(response, 401, body)
            return
        with self._lock:
            status, headers, body_bytes = self.batches.answer(kind, request)
        await response.send_full(status, headers, body_bytes)
