"""Pick the batch client for a provider: OpenAI, Anthropic and Gemini have batch engines.

OpenAI-compatible servers and Ollama have none (a batch there runs locally, row by row).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from desktop_llm.providers.base import Provider
    from desktop_llm.providers.batch_base import BatchClient

__all__ = ["BATCH_KINDS", "batch_client", "supports_batches"]

BATCH_KINDS: Final = frozenset({"openai", "anthropic", "gemini"})


def supports_batches(kind: str) -> bool:
    """Return whether providers of ``kind`` have a batch engine."""
    return kind in BATCH_KINDS


def batch_client(provider: Provider, **options: Any) -> BatchClient:
    """Return the batch client for ``provider`` (options: ``limits``, and Gemini's ``inline_max_bytes``).

    Raises:
        ValueError: the provider's kind has no batch engine.
    """
    # The clients load with the first batch, not with this module: the window asks
    # ``supports_batches`` at start-up, and the clients bring the HTTP stack with them.
    from desktop_llm.providers.batch_anthropic import AnthropicBatchClient
    from desktop_llm.providers.batch_gemini import GeminiBatchClient
    from desktop_llm.providers.batch_openai import OpenAIBatchClient

    clients: dict[str, type[BatchClient]] = {
        "openai": OpenAIBatchClient,
        "anthropic": AnthropicBatchClient,
        "gemini": GeminiBatchClient,
    }
    kind = provider.config.kind
    if kind not in clients:
        raise ValueError(f"{provider.name} has no batch service; run the batch on this computer instead.")
    return clients[kind](provider, **options)
