"""Run the fake provider server in a process of its own, for benchmarks of the app's event loop.

In the test's process the server's thread takes the GIL whenever it encodes a stream or reads
a large request (a 20 MB PDF's JSON), and the Qt thread being measured waits for it: a stall
no person meets, since a real provider runs on another machine. Out of process, what the
probe measures is the app's own work. Replies and requests cross as pickles over a pipe::

    with ServerProcess() as server:
        server.push(Reply(text="Hi"))
        ...  # point a client at server.url_for("openai")
        assert server.chat_request_count() == 1
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from fakes.provider_server import BASE_PATHS, ProviderServer, RecordedRequest, Reply


def _serve(control: Connection) -> None:
    with ProviderServer() as server:
        control.send(server.port)
        while True:
            command, argument = control.recv()
            if command == "stop":
                return
            if command == "push":
                server.push(*argument)
                control.send(None)
            elif command == "chat_request_count":
                control.send(len(server.chat_requests))
            elif command == "chat_requests":
                control.send(server.chat_requests)
            else:
                control.send(ValueError(f"unknown command {command!r}"))


class ServerProcess:
    """The fake provider server (``ProviderServer``) in a child process; use it as a context manager."""

    def __init__(self) -> None:
        # spawn, never fork: the parent has Qt's threads, which a forked child would inherit half of.
        context = multiprocessing.get_context("spawn")
        self._control, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), name="fake-provider", daemon=True)
        self.port = 0

    def __enter__(self) -> ServerProcess:
        self._process.start()
        self.port = self._control.recv()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._control.send(("stop", None))
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()

    def url_for(self, kind: str) -> str:
        """Return the base URL a ``ProviderConfig`` of this kind wants (``/v1`` for OpenAI kinds)."""
        return f"http://127.0.0.1:{self.port}{BASE_PATHS[kind]}"

    def _ask(self, command: str, argument: Any = None) -> Any:
        self._control.send((command, argument))
        answer = self._control.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def push(self, *replies: Reply) -> None:
        """Queue scripted replies; each chat request pops the next one."""
        self._ask("push", replies)

    def chat_request_count(self) -> int:
        """Return how many chat requests arrived so far."""
        return int(self._ask("chat_request_count"))

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Return a copy of every chat request so far (each crosses the pipe: mind large bodies)."""
        return list(self._ask("chat_requests"))
