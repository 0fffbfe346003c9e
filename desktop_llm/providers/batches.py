"""Pick the batch client for a provider: OpenAI, Anthropic and Gemini have batch engines.

OpenAI-compatible servers and Ollama have none (a batch there runs locally, row by row).
"""

from __future__ import annotations

from typing import Any, Final

from desktop_llm.providers.base import Provider
from desktop_llm.providers.batch_anthropic import AnthropicBatchClient
from desktop_llm.providers.batch_base import BatchClient
from desktop_llm.providers.batch_gemini import GeminiBatchClient
from desktop_llm.providers.batch_openai import OpenAIBatchClient

__all__ = ["BATCH_KINDS", "batch_client", "supports_batches"]

_CLIENTS: Final[dict[str, type[BatchClient]]] = {
    "openai": OpenAIBatchClient,
    "anthropic": AnthropicBatchClient,
    "gemini": GeminiBatchClient,
}
BATCH_KINDS: Final = frozenset(_CLIENTS)


def supports_batches(kind: str) -> bool:
    """Return whether providers of ``kind`` have a batch engine."""
    return kind in _CLIENTS


def batch_client(provider: Provider, **options: Any) -> BatchClient:
    """Return the batch client for ``provider`` (options: ``limits``, and Gemini's ``inline_max_bytes``).

    Raises:
        ValueError: the provider's kind has no batch engine.
    """
    kind = provider.config.kind
    if kind not in _CLIENTS:
        raise ValueError(f"{provider.name} has no batch service; run the batch on this computer instead.")
    return _CLIENTS[kind](provider, **options)
