"""Turn HTTP statuses, error bodies, error events and transport failures into the error tree.

This is the one place that knows what a status code means. Every message says what happened
and what the person can do about it, quotes the server's own words (shortened and with the key
redacted) and never contains the key itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from desktop_llm.providers import bodies
from desktop_llm.providers.errors import (
    AuthenticationError,
    ConnectionFailed,
    ContextLengthExceeded,
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    ProviderTimeout,
    RateLimitError,
    ServerError,
    redact,
)
from desktop_llm.providers.retry import server_requested_delay, should_retry_response

SETTINGS_PLACE = "Settings > Providers"
_MAX_QUOTE = 300

# Words the providers use when a conversation does not fit the model's window.
_CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
_CONTEXT_WORDS = re.compile(
    r"context[_ ]length|context window|maximum context|prompt is too long|too many tokens"
    r"|exceeds the maximum number of tokens|input length exceeds|input is too long",
    re.IGNORECASE,
)

# Error types sent without a status (mid-stream error events), mapped to the status they stand for.
_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "api_error": 500,
    "server_error": 500,
    "overloaded_error": 529,
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


def without_credentials(url: str) -> str:
    """Return ``url`` with any ``user:password@`` replaced, for messages (they end up in the database)."""
    scheme, separator, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if not separator or "@" not in authority:
        return url
    return f"{scheme}://[redacted]@{authority.rpartition('@')[2]}{slash}{path}"


@dataclass(frozen=True)
class Origin:
    """Who answered, for messages: the provider's name, where its key comes from, its address.

    Args:
        name: the display name ("OpenAI", "LM Studio", ...).
        base_url: the address requests go to.
        key_env: environment variables that can hold the key, in lookup order.
        read_timeout: the configured silence limit, quoted in timeout messages.
        secret: the key, only so that it can be redacted from server text.
    """

    name: str
    base_url: str
    key_env: tuple[str, ...] = ()
    read_timeout: float = 120.0
    secret: str | None = field(default=None, repr=False)

    def key_places(self) -> str:
        """Return where a person can set the key: the settings dialog and the variables."""
        return " or ".join((SETTINGS_PLACE, *self.key_env))


@dataclass(frozen=True)
class ServerSaid:
    """The message and machine code a server put in its error body."""

    message: str = ""
    code: str = ""

    @classmethod
    def from_payload(cls, payload: Any) -> ServerSaid:
        """Read OpenAI, Anthropic, Gemini and Ollama error shapes alike; values of odd types are ignored."""
        if not isinstance(payload, dict):
            return cls(message=bodies.text(payload))
        error = payload.get("error", payload)
        if isinstance(error, str):
            return cls(message=bodies.clean(error))
        if not isinstance(error, dict):
            return cls()
        code = error.get("code") or error.get("type") or error.get("status") or ""
        # Gemini's "code" is the HTTP status number; its words are in "status".
        if isinstance(code, int):
            code = error.get("status") or ""
        return cls(message=bodies.text(error.get("message")), code=bodies.text(code))

    @classmethod
    def from_body(cls, body: bytes) -> ServerSaid:
        """Parse an error body; a body that is not a JSON object is quoted as text."""
        try:
            payload = bodies.loads(body)
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            return cls.from_payload(payload)
        return cls(message=bodies.clean(body.decode("utf-8", "replace").strip()))


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], origin: Origin
) -> ProviderError:
    """Map an HTTP error response to the error a caller should see."""
    return error_from_status(status, ServerSaid.from_body(body), headers, origin)


def error_from_payload(payload: Any, origin: Origin) -> ProviderError:
    """Map an error sent inside a stream (an error event or line) as if it came with its status."""
    said = ServerSaid.from_payload(payload)
    status = _TYPE_STATUS.get(said.code, 500)
    error = payload.get("error") if isinstance(payload, dict) else None
    code = bodies.integer(error.get("code")) if isinstance(error, dict) else None
    if code is not None and 100 <= code <= 599:
        status = code
    return error_from_status(status, said, {}, origin)


def error_from_status(
    status: int, said: ServerSaid, headers: Mapping[str, str], origin: Origin
) -> ProviderError:
    """Build the error for ``status``; ``x-should-retry`` decides whether it is retryable."""
    name = origin.name
    quote = _quote(said.message, origin)
    options: dict[str, Any] = {
        "status_code": status,
        "retryable": should_retry_response(status, headers),
        "provider": name,
        "headers": dict(headers),
    }
    if status in (401, 403):
        what = "rejected the API key" if status == 401 else "refused access with this API key"
        return AuthenticationError(
            f"{name} {what} ({status}). Check the key in {origin.key_places()}.{quote}", **options
        )
    if 300 <= status < 400:
        where = headers.get("location") or "another address"
        return NotFoundError(
            f"{name} redirected the request ({status}) to {where}. Check the base URL"
            f" ({origin.base_url}) in {SETTINGS_PLACE}.",
            **options,
        )
    if status == 404:
        return NotFoundError(
            f"{name} has no such model or endpoint (404). Check the model name and the base URL"
            f" ({origin.base_url}) in {SETTINGS_PLACE}.{quote}",
            **options,
        )
    if status == 429:
        return _rate_limited(said, headers, origin, options)
    if status in (400, 413, 422) and _is_context_overflow(said):
        return ContextLengthExceeded(
            f"The conversation is too long for this model ({status}). Start a new conversation,"
            f" remove earlier messages or pick a model with a larger context window.{quote}",
            **options,
        )
    if status == 408:
        return ProviderTimeout(f"{name} timed out while handling the request (408).{quote}", **options)
    if status == 409:
        return ProviderError(
            f"{name} reported a conflict (409); trying again usually works.{quote}", **options
        )
    if status >= 500:
        what = "is overloaded" if status in (503, 529) else "had a server error"
        return ServerError(f"{name} {what} ({status}). Try again in a moment.{quote}", **options)
    return InvalidRequestError(f"{name} rejected the request ({status}).{quote}", **options)


def _rate_limited(
    said: ServerSaid, headers: Mapping[str, str], origin: Origin, options: dict[str, Any]
) -> RateLimitError:
    wait = server_requested_delay(headers)
    if said.code == "insufficient_quota":
        # Waiting does not help when the account is out of credit.
        options["retryable"] = False
        advice = "The account's quota is used up: check the plan and billing with the provider."
    elif wait is not None:
        advice = f"It asked to wait {wait:g} s before trying again."
    else:
        advice = "Wait a moment and try again."
    return RateLimitError(
        f"{origin.name} is limiting requests (429). {advice}{_quote(said.message, origin)}",
        retry_after=wait,
        **options,
    )


def _is_context_overflow(said: ServerSaid) -> bool:
    return said.code in _CONTEXT_CODES or bool(_CONTEXT_WORDS.search(said.message))


def _quote(message: str, origin: Origin) -> str:
    """Return the server's own message as a sentence to append, shortened and redacted."""
    text = " ".join(redact(message, origin.secret).split())
    if not text:
        return ""
    if len(text) > _MAX_QUOTE:
        text = text[: _MAX_QUOTE - 1] + "…"
    return f' The server said: "{text}"'


def error_from_transport(exc: httpx.HTTPError | httpx.InvalidURL, origin: Origin) -> ProviderError:
    """Map an httpx failure (no usable response) to ``ConnectionFailed`` or ``ProviderTimeout``."""
    name = origin.name
    detail = redact(str(exc), origin.secret) or type(exc).__name__
    if isinstance(exc, httpx.InvalidURL):
        return ConnectionFailed(
            f"The address {origin.base_url} is not a valid URL ({detail}). Fix the base URL in"
            f" {SETTINGS_PLACE}.",
            provider=name,
            retryable=False,
        )
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout | httpx.PoolTimeout):
        return ProviderTimeout(
            f"{name} sent nothing for {origin.read_timeout:g} s. It may be busy: try again, or raise"
            f" the read timeout in {SETTINGS_PLACE}.",
            provider=name,
        )
    if isinstance(exc, httpx.ProxyError):
        return ConnectionFailed(
            f"The proxy refused the connection to {name} ({detail}). Check the proxy in {SETTINGS_PLACE}.",
            provider=name,
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ConnectionFailed(
            f"The base URL {origin.base_url} is not an http:// or https:// address. Fix it in"
            f" {SETTINGS_PLACE}.",
            provider=name,
            retryable=False,
        )
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return ConnectionFailed(
            f"Could not connect to {name} at {origin.base_url} ({detail}). Check that the server is"
            f" running, the network is up and the base URL in {SETTINGS_PLACE} is right.",
            provider=name,
        )
    return ConnectionFailed(
        f"The connection to {name} was lost ({detail}). Try again.",
        provider=name,
    )


def malformed_data(origin: Origin, detail: str) -> ServerError:
    """Return the error for a stream whose data cannot be read (bad JSON, an oversized event)."""
    return ServerError(
        f"{origin.name} sent data that could not be read ({redact(detail, origin.secret)}).",
        provider=origin.name,
        retryable=False,
    )
