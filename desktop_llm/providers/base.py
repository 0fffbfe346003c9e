"""Give every provider one pooled HTTP client, the key check, retries and the circuit breaker.

A wire protocol subclasses ``Provider`` and supplies four things: its auth headers, the chat
request (path and JSON body), a ``StreamReader`` that turns the response bytes into events,
and ``list_models``. Everything that must behave the same for every provider lives here:

- the missing-key check, before any byte is sent;
- retries (``RetryPolicy``) only while nothing has reached the caller; once output has
  started any failure becomes ``StreamInterrupted`` carrying the text so far;
- the circuit breaker, told once per call how the call ended;
- the event order contract: deltas, the reply's tool calls (assembled by the reader, yielded
  once the stream has ended), at most one ``Usage``, exactly one ``Finish`` last;
- the response is closed in ``finally`` (``async with``), also when the caller cancels the
  task or closes the stream early, so its connection is freed at once.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import logging
import os
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, aclosing, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, Self, TypeVar

import httpx

from desktop_llm import __version__
from desktop_llm.providers import bodies
from desktop_llm.providers.circuit import CircuitBreaker
from desktop_llm.providers.errors import (
    AuthenticationError,
    ConnectionFailed,
    ProviderError,
    ProviderTimeout,
    RateLimitError,
    ServerError,
    StreamInterrupted,
)
from desktop_llm.providers.http_errors import (
    Origin,
    error_from_payload,
    error_from_response,
    error_from_transport,
    malformed_data,
    without_credentials,
)
from desktop_llm.providers.retry import RetryPolicy
from desktop_llm.providers.tool_calls import ToolCallBuilder
from desktop_llm.providers.types import (
    ChatRequest,
    ChatResult,
    Finish,
    ModelInfo,
    ProviderConfig,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    Usage,
)
from desktop_llm.providers.watch import ContentWatch
from desktop_llm.providers.whole import ReplyBody

log = logging.getLogger(__name__)

T = TypeVar("T")

# Header names whose values are secrets; logs show them as "[redacted]".
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "api-key"})

# Failures that say the provider itself is unwell; only these count against the circuit.
_OUTAGES = (ServerError, RateLimitError, ProviderTimeout, ConnectionFailed, StreamInterrupted)

_POOL = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30.0)

# What a reader's code raises when an item has values of types the protocol does not allow
# (a number where text goes, a list where an object goes): the item is malformed.
_SHAPE_ERRORS = (AttributeError, KeyError, IndexError, TypeError, ValueError, RecursionError)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return ``headers`` with every secret value replaced, for logging."""
    return {
        name: "[redacted]" if name.lower() in SECRET_HEADERS else value for name, value in headers.items()
    }


def bearer_headers(api_key: str | None) -> dict[str, str]:
    """Return an ``authorization: Bearer`` header for ``api_key``; none without a key (local servers)."""
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


class Decoder(Protocol):
    """Bytes in, items out: ``SSEDecoder`` or ``NDJSONDecoder``."""

    def feed(self, chunk: bytes) -> list[Any]: ...

    def close(self) -> list[Any]: ...


@dataclass
class CallState:
    """What one call has learned so far; readers fill it in, the base reads it.

    Args:
        model: the server-reported model, else the requested one.
        text: the reply's text pieces that reached the caller.
        reasoning: the thinking pieces that reached the caller.
        finish_reason: set once the provider said why it stopped.
        usage: the request's token totals, if the provider reported them.
        done: the protocol's terminator arrived; anything after it is ignored.
        output_started: some delta reached the caller, so no more retries.
        calls: the tool calls being assembled from the stream.
        tool_calls: the reply's whole tool calls, once the stream has ended.
    """

    model: str
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    done: bool = False
    output_started: bool = False
    calls: ToolCallBuilder = field(default_factory=ToolCallBuilder)
    tool_calls: list[ToolCall] = field(default_factory=list)

    def begin_attempt(self, requested_model: str) -> None:
        """Forget what a failed attempt learned (it produced no output, or there is no retry)."""
        self.model = requested_model
        self.finish_reason = None
        self.usage = None
        self.done = False
        self.calls = ToolCallBuilder()
        self.tool_calls = []


class StreamReader(ABC):
    """Turn one response body into stream events; record finish, usage and model in the state.

    Subclasses give the decoder and ``handle`` one decoded item. Items after the protocol's
    terminator (``state.done``) are ignored. A whole JSON reply to the streaming request is
    collected instead and read through ``whole_items``. ``progress`` counts the items that were
    not keep-alives (``is_keepalive``), for the content watch.
    """

    # The protocol streams JSON lines, which start like a whole JSON reply (Ollama).
    json_lines = False

    def __init__(self, state: CallState, origin: Origin) -> None:
        self.state = state
        self.origin = origin
        self.progress = 0
        self._decoder = self.new_decoder()
        self._body = ReplyBody(json_lines=self.json_lines)

    @abstractmethod
    def new_decoder(self) -> Decoder:
        """Return a fresh decoder for this protocol's framing."""

    @abstractmethod
    def handle(self, item: Any) -> Iterator[StreamEvent]:
        """Yield the deltas in one decoded item; raise ``ProviderError`` for an error item."""

    def is_keepalive(self, item: Any) -> bool:
        """Return whether a decoded item only keeps the connection alive (Anthropic's ``ping``)."""
        return False

    def whole_items(self, value: Any) -> list[Any]:
        """Return the items ``handle`` would have read had ``value``, a whole JSON reply, been streamed.

        The default suits protocols whose stream items are the reply objects themselves (Ollama).
        """
        return [value]

    def begin(self, content_type: str) -> None:
        """Note the response's content type, before its first byte."""
        self._body.content_type = content_type

    def feed(self, chunk: bytes) -> Iterator[StreamEvent]:
        """Yield the deltas completed by ``chunk``."""
        try:
            items = self._decoder.feed(self._body.take(chunk))
        except ValueError as exc:  # EventTooLarge, NDJSONDecodeError, BodyTooLarge
            raise malformed_data(self.origin, str(exc)) from exc
        yield from self._handle_all(items)

    def close(self) -> Iterator[StreamEvent]:
        """Yield the deltas of an unterminated final item (or of a whole reply), at the end of the body."""
        try:
            if self._body.mode == "whole":
                items = self.whole_items(bodies.loads(self._body.flush()))
            else:
                items = self._decoder.feed(self._body.flush()) + self._decoder.close()
        except ProviderError:
            raise
        except _SHAPE_ERRORS as exc:  # a decoder's ValueError, JSON nested too deeply, an odd reply
            raise malformed_data(self.origin, str(exc)) from exc
        yield from self._handle_all(items)

    def _handle_all(self, items: list[Any]) -> Iterator[StreamEvent]:
        for item in items:
            if self.state.done:
                return
            if not self.is_keepalive(item):
                self.progress += 1
            try:
                events = [_checked_event(event) for event in self.handle(item)]
                _check_state(self.state)
            except ProviderError:
                raise
            except _SHAPE_ERRORS as exc:
                log.warning("%s: an item of unexpected shape", self.origin.name, exc_info=True)
                detail = f"an item of unexpected shape: {type(exc).__name__}"
                raise malformed_data(self.origin, detail) from exc
            yield from events

    def parse_json(self, text: str) -> Any:
        """Parse one event's JSON; data that is not JSON (or nested too deeply) is a malformed stream."""
        try:
            return bodies.loads(text)
        except ValueError as exc:
            raise malformed_data(self.origin, str(exc)) from exc

    def reply_object(self, value: Any, what: str) -> dict[str, Any]:
        """Return ``value`` if it is a JSON object that is not an error report.

        Args:
            value: one decoded item.
            what: how messages name the item ("a stream chunk").

        Raises:
            ProviderError: a malformed item (not an object), or the error the item reports.
        """
        if not isinstance(value, dict):
            raise malformed_data(self.origin, f"{what} is not a JSON object")
        if value.get("error"):
            raise error_from_payload(value, self.origin)
        return value


_BASE64_SLICE = 3 * 2**18  # a multiple of 3, so the slices' base64 joins into the whole's


def _base64_in_slices(data: bytes) -> bytes:
    """Return ``base64.b64encode(data)``, made a slice at a time so other threads get to run."""
    return b"".join(base64.b64encode(data[i : i + _BASE64_SLICE]) for i in range(0, len(data), _BASE64_SLICE))


class Provider(ABC):
    """One provider instance: a pooled HTTP client, a retry policy and a circuit breaker.

    Args:
        config: where and how to reach the provider, with its key.
        retry: when and how long to wait before trying a failed call again.
        circuit: the breaker for this instance; one is made if not given.
    """

    # Per class; a protocol serving several servers (OpenAI-compatible presets) sets them per
    # instance before calling ``Provider.__init__``.
    display_name: str = "The provider"
    default_base_url: str = ""
    # The content watch's clock; a test may set an instance's to a fake one.
    clock: Callable[[], float] = staticmethod(time.monotonic)
    key_env: tuple[str, ...] = ()
    needs_key: bool = False

    def __init__(
        self,
        config: ProviderConfig,
        *,
        retry: RetryPolicy | None = None,
        circuit: CircuitBreaker | None = None,
    ) -> None:
        self.config = config
        self.retry = retry or RetryPolicy()
        self.base_url = self.resolve_base_url(config)
        self.name = config.name or self.display_name
        self.circuit = circuit or CircuitBreaker(name=self.name)
        self.origin = Origin(
            name=self.name,
            # A URL from the environment may carry user:password@; messages are saved and shown.
            base_url=without_credentials(self.base_url),
            key_env=self.key_env,
            read_timeout=config.read_timeout,
            secret=config.api_key,
        )
        local = is_local_address(self.base_url)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=config.connect_timeout,
                read=config.read_timeout,
                write=config.read_timeout,
                pool=config.connect_timeout,
            ),
            limits=_POOL,
            http2=True,
            # A server on this computer is always reached directly: neither the proxy setting nor
            # the environment's HTTP_PROXY/ALL_PROXY (which httpx reads when it trusts the
            # environment) may send a local request, or the key with it, elsewhere.
            proxy=None if local else config.proxy,
            trust_env=not local,
            headers={"user-agent": f"desktop-llm/{__version__}", **config.headers},
        )

    def __repr__(self) -> str:
        kind, name, url = self.config.kind, self.name, self.origin.base_url
        return f"{type(self).__name__}(kind={kind!r}, name={name!r}, base_url={url!r})"

    # -- what a wire protocol supplies ---------------------------------------------------

    def resolve_base_url(self, config: ProviderConfig) -> str:
        """Return the address requests go to (subclasses add presets or normalisation)."""
        return config.base_url or self.default_base_url

    @abstractmethod
    def auth_headers(self) -> dict[str, str]:
        """Return the headers that carry the key (empty when there is none)."""

    @abstractmethod
    def chat_request(self, request: ChatRequest) -> tuple[str, dict[str, Any]]:
        """Return the streaming chat URL and JSON body for ``request``."""

    @abstractmethod
    def stream_reader(self, state: CallState) -> StreamReader:
        """Return a reader for one streaming response."""

    @abstractmethod
    async def list_models(self) -> list[ModelInfo]:
        """Return every model the provider offers (all pages)."""

    # -- the contract ------------------------------------------------------------------

    def stream(self, request: ChatRequest) -> AsyncGenerator[StreamEvent, None]:
        """Stream the reply: deltas, any ``ToolCall``s, at most one ``Usage``, then exactly one ``Finish``.

        Close the iterator (``aclose``) or cancel the task to stop early; the connection is
        released at once either way.
        """
        return self._run(request, CallState(model=request.model))

    async def complete(self, request: ChatRequest) -> ChatResult:
        """Return the whole reply; same retries, errors and usage as ``stream``."""
        state = CallState(model=request.model)
        async with aclosing(self._run(request, state)) as events:
            async for _event in events:
                pass
        return ChatResult(
            text="".join(state.text),
            usage=state.usage,
            finish_reason=state.finish_reason or "stop",
            model=state.model,
            reasoning="".join(state.reasoning),
            tool_calls=tuple(state.tool_calls),
        )

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- calls: key check, retries, circuit ----------------------------------------------

    async def _run(self, request: ChatRequest, state: CallState) -> AsyncGenerator[StreamEvent, None]:
        """Stream with retries before output, ``StreamInterrupted`` after, the circuit told once."""
        self._require_key()
        self.circuit.before_call()
        retries = 0
        try:
            while True:
                try:
                    async with aclosing(self._attempt(request, state)) as events:
                        async for event in events:
                            if isinstance(event, TextDelta):
                                state.text.append(event.text)
                                state.output_started = True
                            elif isinstance(event, ReasoningDelta):
                                state.reasoning.append(event.text)
                                state.output_started = True
                            yield event
                    break
                except ProviderError as error:
                    if state.output_started:
                        interrupted = self._interrupted(error, state)
                        if interrupted is error:
                            raise  # already the interruption: it must not become its own cause
                        raise interrupted from error
                    retries = await self._wait_before_retry(error, retries)
        except ProviderError as error:
            self._record_failure(error)
            raise
        except BaseException:
            # Cancelled or closed early: a reply that had started proves the provider works.
            if state.output_started:
                self.circuit.record_success()
            raise
        self.circuit.record_success()

    async def _attempt(self, request: ChatRequest, state: CallState) -> AsyncGenerator[StreamEvent, None]:
        """Make one streaming request and yield its deltas, then its tool calls, ``Usage`` and ``Finish``."""
        state.begin_attempt(request.model)
        url, body = await self._encoded_chat_request(request)
        reader = self.stream_reader(state)
        watch = ContentWatch(self.config.content_timeout, self.clock, self.name)
        try:
            async with self._send("POST", url, **body) as response:
                reader.begin(response.headers.get("content-type", ""))
                chunks = response.aiter_bytes()
                async for chunk in chunks:
                    for event in reader.feed(chunk):
                        yield event
                    if state.done:
                        # The terminator: the reply is whole, however long the server keeps the
                        # connection open and whatever it sends after.
                        break
                    watch.check(reader.progress)
                if state.done:
                    await bodies.drain(chunks)
                else:
                    for event in reader.close():
                        yield event
        except httpx.HTTPError as exc:
            if not state.done:
                raise error_from_transport(exc, self.origin) from exc
            log.debug("%s: ignoring %s after the end of the reply", self.name, type(exc).__name__)
        if state.finish_reason is None:
            raise StreamInterrupted(
                f"The reply from {self.name} ended before it was finished. Try again.",
                partial_text="".join(state.text),
                provider=self.name,
            )
        try:
            state.tool_calls = [_checked_call(call) for call in state.calls.build()]
        except _SHAPE_ERRORS as exc:  # an id, name or arguments that is not text
            raise malformed_data(
                self.origin, f"a tool call of unexpected shape: {type(exc).__name__}"
            ) from exc
        # Gemini and Ollama say "stop" after calls; the contract says "tool_calls" in every kind.
        if state.tool_calls and state.finish_reason == "stop":
            state.finish_reason = "tool_calls"
        for call in state.tool_calls:
            yield call
        if state.usage is not None:
            yield state.usage
        yield Finish(state.finish_reason)

    async def _call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Await ``attempt()`` with the key check, retries and circuit of a chat call."""
        self._require_key()
        self.circuit.before_call()
        retries = 0
        try:
            while True:
                try:
                    result = await attempt()
                    break
                except ProviderError as error:
                    retries = await self._wait_before_retry(error, retries)
        except ProviderError as error:
            self._record_failure(error)
            raise
        self.circuit.record_success()
        return result

    async def get_object(self, url: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        """GET ``url`` and return its JSON object, with retries; for model listings."""
        return await self.request_object("GET", url, params=params)

    async def request_object(
        self, method: str, url: str, *, body: Callable[[], Mapping[str, Any]] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Send one request and return its JSON object (see ``request_json``)."""
        value, _headers = await self.request_json(method, url, body=body, **kwargs)
        return value

    async def request_json(
        self, method: str, url: str, *, body: Callable[[], Mapping[str, Any]] | None = None, **kwargs: Any
    ) -> tuple[dict[str, Any], httpx.Headers]:
        """Send one request; return its JSON object and headers, with the key check, retries and circuit.

        Args:
            method: the HTTP method.
            url: where to send it.
            body: called before every attempt for the request's body arguments (``content`` of a
                streamed file must be opened afresh for a retry).
            kwargs: passed to httpx as they are (``json``, ``params``, ``headers``).
        """

        async def attempt() -> Any:
            extra = dict(body()) if body is not None else {}
            try:
                async with self._send(method, url, **kwargs, **extra) as response:
                    data, more = await bodies.read_capped(response, bodies.MAX_LISTING_BODY)
            except httpx.HTTPError as exc:
                raise error_from_transport(exc, self.origin) from exc
            try:
                if more:
                    raise bodies.BodyTooLarge(bodies.MAX_LISTING_BODY)
                value = bodies.loads(data) if data.strip() else {}
            except ValueError as exc:  # larger than the cap, or not JSON
                raise malformed_data(self.origin, f"{url}: {exc}") from exc
            if not isinstance(value, dict):
                raise malformed_data(self.origin, f"expected a JSON object from {url}")
            return value, response.headers

        return await self._call(attempt)

    async def download(self, url: str, target: Path, *, params: Mapping[str, str] | None = None) -> int:
        """Stream the body of GET ``url`` into the file ``target``, with retries; return its size.

        The body goes to disk piece by piece, so a file of any size takes the same memory; a
        failed attempt starts the file again.
        """

        async def attempt() -> int:
            size = 0
            try:
                async with self._send("GET", url, params=params) as response:
                    # Disk writes leave the event loop's thread (the Qt thread in the app).
                    out = await asyncio.to_thread(target.open, "wb")
                    try:
                        async for chunk in response.aiter_bytes(1 << 20):
                            await asyncio.to_thread(out.write, chunk)
                            size += len(chunk)
                    finally:
                        await asyncio.to_thread(out.close)
            except httpx.HTTPError as exc:
                raise error_from_transport(exc, self.origin) from exc
            return size

        return await self._call(attempt)

    async def _encoded_chat_request(self, request: ChatRequest) -> tuple[str, dict[str, Any]]:
        """Return the chat URL and the body as ``_send`` arguments.

        A request with files is encoded in a worker thread: base64 and JSON of a 20 MB PDF take
        a quarter of a second, which on the event loop's thread (the window's) would freeze it.
        """
        if not any(message.attachments for message in request.messages):
            url, body = self.chat_request(request)
            return url, {"json": body}

        def encode() -> tuple[str, bytes]:
            # Each file's bytes are stood in for by a short unique marker while the body is built
            # and dumped, then its base64 is spliced in, made a slice at a time: one call over
            # 20 MB (base64, json.dumps) would hold the interpreter lock, and the window, for
            # its whole length even from this thread.
            markers: dict[bytes, bytes] = {}
            messages = []
            for message in request.messages:
                stand_ins = []
                for attachment in message.attachments:
                    marker = os.urandom(18)
                    markers[base64.b64encode(marker)] = attachment.data
                    stand_ins.append(replace(attachment, data=marker))
                messages.append(replace(message, attachments=tuple(stand_ins)))
            url, body = self.chat_request(replace(request, messages=messages))
            # As httpx encodes json=: compact, UTF-8, no NaN.
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            content = text.encode("utf-8")
            for marker, data in markers.items():
                before, found, after = content.partition(marker)
                if found:
                    content = b"".join((before, _base64_in_slices(data), after))
            return url, content

        url, content = await asyncio.to_thread(encode)
        return url, {"content": content, "headers": {"Content-Type": "application/json"}}

    @asynccontextmanager
    async def _send(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> AsyncIterator[httpx.Response]:
        """Open a streamed response; an error status becomes the mapped ``ProviderError``."""
        headers = {**(headers or {}), **self.auth_headers()}
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s headers=%s", method, url, redact_headers({**self.config.headers, **headers}))
        async with AsyncExitStack() as stack:
            try:
                _check_port(url)
                response = await stack.enter_async_context(
                    self._client.stream(method, url, headers=headers, **kwargs)
                )
            except httpx.InvalidURL as exc:  # not an HTTPError: raised while the request is built
                raise error_from_transport(exc, self.origin) from exc
            if not response.is_success:
                # Only the start is quoted; the rest of a huge body is never read.
                body, _more = await bodies.read_capped(response, bodies.MAX_ERROR_BODY)
                error = error_from_response(response.status_code, body, response.headers, self.origin)
                log.info("%s %s -> %d: %s", method, url, response.status_code, error)
                raise error
            yield response

    async def _wait_before_retry(self, error: ProviderError, retries: int) -> int:
        """Sleep before the next attempt and return the new retry count, or re-raise ``error``."""
        if not error.retryable or retries >= self.retry.max_retries:
            raise error
        retries += 1
        delay = self.retry.delay(retries, error.headers)
        log.warning(
            "%s: %s Retry %d of %d in %.2f s.", self.name, error, retries, self.retry.max_retries, delay
        )
        await self.retry.sleep(delay)
        return retries

    def _record_failure(self, error: ProviderError) -> None:
        # A refused key or a bad request means the provider answered: it is healthy.
        if isinstance(error, _OUTAGES) or error.retryable:
            self.circuit.record_failure()
        else:
            self.circuit.record_success()

    def _interrupted(self, error: ProviderError, state: CallState) -> StreamInterrupted:
        partial = "".join(state.text)
        if isinstance(error, StreamInterrupted):
            error.partial_text = partial
            return error
        return StreamInterrupted(
            f"The reply from {self.name} was cut off: {error} The text received so far is kept.",
            partial_text=partial,
            cause=error,
            status_code=error.status_code,
            provider=self.name,
        )

    def _require_key(self) -> None:
        if self.needs_key and not self.config.api_key:
            raise AuthenticationError(
                f"{self.name} needs an API key. Add it in {self.origin.key_places()}.",
                provider=self.name,
            )


def _checked_event(event: StreamEvent) -> StreamEvent:
    """Return ``event`` with its text cleaned; text that is not a string is a malformed item."""
    if isinstance(event, TextDelta | ReasoningDelta):
        if not isinstance(event.text, str):
            raise TypeError(f"{type(event).__name__} text is {type(event.text).__name__}")
        cleaned = bodies.clean(event.text)
        if cleaned is not event.text:
            return type(event)(cleaned)
    return event


def _checked_call(call: ToolCall) -> ToolCall:
    """Return ``call`` with its text cleaned; an id, name or arguments that is not text is malformed."""
    if not all(isinstance(value, str) for value in (call.id, call.name, call.arguments)):
        raise TypeError("a tool call's id, name or arguments is not text")
    return ToolCall(
        bodies.clean(call.id), bodies.clean(call.name), bodies.clean(call.arguments), call.provider_data
    )


def _check_state(state: CallState) -> None:
    """Raise ``TypeError`` unless what a reader noted has the types the contract promises."""
    if not isinstance(state.model, str) or not isinstance(state.finish_reason, str | None):
        raise TypeError("the model or the finish reason is not text")
    state.model = bodies.clean(state.model)
    if state.finish_reason is not None:
        state.finish_reason = bodies.clean(state.finish_reason)
    usage = state.usage
    if usage is not None and any(
        bodies.integer(count) is None
        for count in (
            usage.input_tokens,
            usage.output_tokens,
            usage.cached_input_tokens,
            usage.reasoning_tokens,
        )
    ):
        raise TypeError("a token count is not an integer")


def _check_port(url: str) -> None:
    """Raise ``httpx.InvalidURL`` for a port no socket can use (httpx leaves it to the socket)."""
    port = httpx.URL(url).port
    if port is not None and not 0 < port < 65536:
        raise httpx.InvalidURL(f"port {port} is out of range")


def is_local_address(url: str) -> bool:
    """Return whether ``url`` points at this computer (``localhost``, a loopback or unspecified address).

    ``0.0.0.0`` counts: an ``OLLAMA_HOST`` of ``0.0.0.0`` reaches the server on this machine.
    """
    try:
        host = httpx.URL(url).host.lower()
    except httpx.InvalidURL:
        return False  # every request fails later with a message naming the address
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified
