"""Keep the provider registry: each wire protocol registers a factory under its kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from desktop_llm.providers.retry import RetryPolicy
from desktop_llm.providers.types import ProviderConfig

if TYPE_CHECKING:
    from desktop_llm.providers.base import Provider

Factory = Callable[..., "Provider"]
_factories: dict[str, Factory] = {}


def register(kind: str) -> Callable[[Factory], Factory]:
    """Register ``factory(config, retry=..., circuit=...)`` as the maker of providers of ``kind``."""

    def decorator(factory: Factory) -> Factory:
        _factories[kind] = factory
        return factory

    return decorator


def create_provider(config: ProviderConfig, retry: RetryPolicy | None = None, **options: Any) -> Provider:
    """Build the provider for ``config.kind`` (built-ins are registered on first use).

    ``options`` go to the factory as they are (``circuit=`` a shared ``CircuitBreaker``).
    """
    _load_builtins()
    try:
        factory = _factories[config.kind]
    except KeyError:
        raise ValueError(f"No provider is registered for kind {config.kind!r}.") from None
    return factory(config, retry=retry or RetryPolicy(), **options)


def _load_builtins() -> None:
    # Imported for their @register side effect, exactly as an extension would be.
    from desktop_llm.providers import builtin  # noqa: F401
