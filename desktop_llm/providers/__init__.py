"""Offer one async contract over one module per wire protocol (see DESIGN.md).

``stream(request)`` yields ``TextDelta``/``ReasoningDelta`` any number of times, then any
``ToolCall``s, then at most one ``Usage``, then exactly one ``Finish``. Failures are
``ProviderError`` subclasses.
"""

from desktop_llm.providers.errors import (
    AuthenticationError,
    CircuitOpenError,
    ConnectionFailed,
    ContentFiltered,
    ContextLengthExceeded,
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    ProviderTimeout,
    RateLimitError,
    ServerError,
    StreamInterrupted,
)
from desktop_llm.providers.registry import create_provider, register
from desktop_llm.providers.retry import RetryPolicy
from desktop_llm.providers.types import (
    KINDS,
    Attachment,
    ChatRequest,
    ChatResult,
    Finish,
    Message,
    ModelInfo,
    ProviderConfig,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)

__all__ = [
    "KINDS",
    "Attachment",
    "AuthenticationError",
    "ChatRequest",
    "ChatResult",
    "CircuitOpenError",
    "ConnectionFailed",
    "ContentFiltered",
    "ContextLengthExceeded",
    "Finish",
    "InvalidRequestError",
    "Message",
    "ModelInfo",
    "NotFoundError",
    "ProviderConfig",
    "ProviderError",
    "ProviderTimeout",
    "RateLimitError",
    "ReasoningDelta",
    "RetryPolicy",
    "ServerError",
    "StreamEvent",
    "StreamInterrupted",
    "TextDelta",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "create_provider",
    "register",
]
