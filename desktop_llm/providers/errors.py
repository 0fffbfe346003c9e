"""Define the provider error tree: every failure a provider call can raise is one of these.

::

    ProviderError                 .status_code, .retryable, a message a person can act on
    ├── AuthenticationError       401/403, or no key where the kind needs one
    ├── NotFoundError             404: unknown model or wrong base URL
    ├── InvalidRequestError       400/422
    │   └── ContextLengthExceeded the conversation does not fit the model's window
    ├── RateLimitError            429; .retry_after in seconds, if the server said
    ├── ServerError               5xx and 529 (overloaded)
    ├── ProviderTimeout           no byte within the read timeout
    ├── ConnectionFailed          no connection could be made
    ├── ContentFiltered           the prompt was refused before any output
    ├── StreamInterrupted         the stream ended after output started; .partial_text, .cause
    └── CircuitOpenError          too many failures in a row; says when it tries again

No message ever contains the API key: ``redact`` is applied to every text taken from a server.
"""

from __future__ import annotations

from typing import Any

from desktop_llm.core.redaction import MIN_REDACTED_LENGTH, secret_forms


class ProviderError(Exception):
    """Base of every provider failure.

    Args:
        message: what happened and what the person can do about it.
        status_code: the HTTP status, if there was one.
        retryable: whether trying the same call again may succeed.
        provider: the provider's display name, for messages.
        headers: the response headers (lower-case names), for the retry policy.
    """

    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retryable: bool | None = None,
        provider: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retryable = self.default_retryable if retryable is None else retryable
        self.provider = provider
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        return self.message


class AuthenticationError(ProviderError):
    """The key is missing, wrong or lacks permission."""


class NotFoundError(ProviderError):
    """The model or endpoint does not exist."""


class InvalidRequestError(ProviderError):
    """The provider rejected the request as malformed."""


class ContextLengthExceeded(InvalidRequestError):
    """The conversation is longer than the model's context window."""


class RateLimitError(ProviderError):
    """Too many requests; ``retry_after`` is the server's requested wait in seconds, if any."""

    default_retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ProviderError):
    """The provider failed or is overloaded."""

    default_retryable = True


class ProviderTimeout(ProviderError):
    """The provider went silent for longer than the read timeout."""

    default_retryable = True


class ConnectionFailed(ProviderError):
    """No connection could be made (refused, DNS, TLS, proxy)."""

    default_retryable = True


class ContentFiltered(ProviderError):
    """The provider refused the prompt before producing any output."""


class StreamInterrupted(ProviderError):
    """The stream ended after output had started; the text so far is kept.

    Args:
        partial_text: the reply text received before the interruption.
        cause: the underlying error, if any.
    """

    def __init__(
        self, message: str, *, partial_text: str = "", cause: BaseException | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("retryable", False)
        super().__init__(message, **kwargs)
        self.partial_text = partial_text
        self.cause = cause


class CircuitOpenError(ProviderError):
    """Calls are refused for a while after repeated failures; ``retry_at`` is a monotonic time."""

    def __init__(self, message: str, *, retry_at: float, **kwargs: Any) -> None:
        kwargs["retryable"] = False
        super().__init__(message, **kwargs)
        self.retry_at = retry_at


def redact(text: str, *secrets: str | None) -> str:
    """Return ``text`` with every secret (six characters or more), in every form, replaced."""
    forms: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= MIN_REDACTED_LENGTH:
            forms |= secret_forms(secret)
    # Longest first: a form that contains another (the escaped one) is replaced whole.
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "[redacted]")
    return text
