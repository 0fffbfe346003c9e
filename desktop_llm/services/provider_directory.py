"""List the providers a person can use: stored settings joined with their keys, plus environment entries.

This is where a stored ``ProviderSetting`` (no key) meets ``secrets`` and becomes the runtime
``ProviderConfig`` (with key). Provider instances are cached per entry and rebuilt when the
entry or the proxy changes; a replaced one is closed only once the tasks that used it (a
streaming reply, say) are done. Model lists are cached until refreshed.

Blocking work runs off the caller's thread: database reads on the ``DatabaseThread``, keyring
look-ups (D-Bus, may prompt) through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from desktop_llm import secrets
from desktop_llm.providers import (
    AuthenticationError,
    ModelInfo,
    ProviderConfig,
    RetryPolicy,
    create_provider,
)
from desktop_llm.providers.types import DEFAULT_CONTENT_TIMEOUT, key_problem
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.records import ProviderSetting
from desktop_llm.storage.settings import SettingsRepository

if TYPE_CHECKING:
    # Type only: the provider base imports httpx, which loads when a provider is first built.
    from desktop_llm.providers.base import Provider

log = logging.getLogger(__name__)

ENVIRONMENT_PREFIX = "env:"

# Which stream a retry wait belongs to: set by the chat service around each request, read by
# the retry policy's sleep so the status bar can say "retrying in N s" for the right chat.
retry_notice_target: contextvars.ContextVar[Callable[[float], None] | None] = contextvars.ContextVar(
    "retry_notice_target", default=None
)

# Default models tried, in order, for entries that name none (the first that list_models confirms).
SENSIBLE_DEFAULT_MODELS: dict[str, tuple[str, ...]] = {
    "openai": ("gpt-4o-mini", "gpt-4.1-mini", "gpt-4o", "gpt-5-mini"),
    "anthropic": ("claude-sonnet-4-5", "claude-3-5-haiku-latest", "claude-sonnet-4-0"),
    "gemini": ("gemini-2.5-flash", "gemini-2.0-flash", "gemini-2.5-pro"),
    "ollama": ("llama3.2", "llama3.1", "qwen2.5", "mistral"),
    "openai-compatible": (),
}


class UnknownProvider(LookupError):
    """The conversation names a provider that no longer exists."""

    def __init__(self, entry_id: str) -> None:
        super().__init__(
            "This conversation's provider was removed. Pick another provider and model above the chat."
        )
        self.entry_id = entry_id


@dataclass(frozen=True)
class ProviderEntry:
    """One usable provider as the UI lists it. Never holds the key."""

    id: str
    kind: str
    name: str
    base_url: str | None
    preset: str | None
    default_model: str | None
    from_environment: bool
    key_env_var: str | None = None


async def _notifying_sleep(delay: float) -> None:
    notice = retry_notice_target.get()
    if notice is not None:
        notice(delay)
    await asyncio.sleep(delay)


class ProviderDirectory:
    """Lists provider entries and hands out ready providers for them.

    Args:
        db: the database thread (stored provider settings, app settings).
        keystore: where stored settings' keys live.
        environ: the process environment (keys and base URLs override, as the SDKs read them).
        retry: the retry policy for new providers; its ``sleep`` is replaced by one that reports
            waits to the chat that is waiting.
    """

    def __init__(
        self,
        db: DatabaseThread,
        keystore: secrets.KeyStore,
        *,
        environ: Mapping[str, str] = os.environ,
        retry: RetryPolicy | None = None,
        provider_factory: Callable[..., Provider] = create_provider,
    ) -> None:
        self._db = db
        self._keystore = keystore
        self._environ = environ
        base = retry or RetryPolicy()
        self._retry = RetryPolicy(
            max_retries=base.max_retries,
            base_delay=base.base_delay,
            max_delay=base.max_delay,
            sleep=_notifying_sleep if base.sleep is asyncio.sleep else base.sleep,
        )
        self._factory = provider_factory
        self._providers: dict[str, tuple[ProviderConfig, Provider]] = {}
        self._models: dict[str, list[ModelInfo]] = {}
        self._proxy: str | None = None
        self._content_timeout = DEFAULT_CONTENT_TIMEOUT
        # Tasks that asked for each provider and may still be using it; replaced providers
        # wait in _retired until their last task ends; closes in flight are kept in _closing.
        self._holders: dict[Provider, set[asyncio.Task[object]]] = {}
        self._retired: set[Provider] = set()
        self._closing: set[asyncio.Task[None]] = set()

    # -- entries -----------------------------------------------------------------------------

    async def entries(self) -> list[ProviderEntry]:
        """Return the environment entries first, then the stored ones."""
        stored = await self._db.call(lambda db: SettingsRepository(db).list_providers())
        return self.environment_entries() + [self._stored_entry(s) for s in stored]

    def environment_entries(self) -> list[ProviderEntry]:
        """Return the entries configured by environment variables (not stored)."""
        return [
            ProviderEntry(
                id=ENVIRONMENT_PREFIX + env.kind,
                kind=env.kind,
                name=env.name,
                base_url=env.base_url,
                preset=None,
                default_model=None,
                from_environment=True,
                key_env_var=env.key_env_var,
            )
            for env in secrets.environment_providers(self._environ)
        ]

    @staticmethod
    def _stored_entry(setting: ProviderSetting) -> ProviderEntry:
        return ProviderEntry(
            id=setting.id,
            kind=setting.kind,
            name=setting.name,
            base_url=setting.base_url,
            preset=setting.preset,
            default_model=setting.default_model,
            from_environment=False,
            key_env_var=setting.key_env_var,
        )

    def set_proxy(self, proxy: str | None) -> None:
        """Use ``proxy`` for every provider from now on.

        Each cached provider is replaced the next time it is asked for (its configuration no
        longer matches); replies streaming meanwhile finish on the old one.
        """
        self._proxy = proxy or None

    def set_content_timeout(self, seconds: float) -> None:
        """Give up on replies that send no content for ``seconds`` (from each provider's next call)."""
        self._content_timeout = float(seconds)

    def forget(self, entry_id: str | None = None) -> None:
        """Drop cached model lists (one entry's, or all) and a removed entry's provider.

        A provider whose entry changed is replaced when next asked for; an old one is closed
        once the tasks using it are done, so a reply streaming through it is never cut.
        """
        if entry_id is None:
            self._models.clear()
            return
        self._models.pop(entry_id, None)
        cached = self._providers.pop(entry_id, None)
        if cached is not None:
            self._retire(cached[1])

    # -- providers ---------------------------------------------------------------------------

    async def config_for(self, entry_id: str) -> ProviderConfig:
        """Join the entry with its key and return the runtime configuration."""
        if entry_id.startswith(ENVIRONMENT_PREFIX):
            kind = entry_id.removeprefix(ENVIRONMENT_PREFIX)
            for env in secrets.environment_providers(self._environ):
                if env.kind == kind:
                    _check_key(env.api_key, env.name, env.key_env_var)
                    return ProviderConfig(
                        env.kind,
                        api_key=env.api_key,
                        base_url=env.base_url,
                        name=env.name,
                        proxy=self._proxy,
                        content_timeout=self._content_timeout,
                    )
            raise UnknownProvider(entry_id)
        settings = await self._db.call(lambda db: SettingsRepository(db).list_providers())
        setting = next((s for s in settings if s.id == entry_id), None)
        if setting is None:
            raise UnknownProvider(entry_id)
        key = await asyncio.to_thread(secrets.resolve_key, setting, self._keystore, self._environ)
        _check_key(key, setting.name, setting.key_env_var)
        return ProviderConfig(
            setting.kind,
            api_key=key,
            base_url=setting.base_url,
            name=setting.name,
            preset=setting.preset,
            proxy=self._proxy,
            content_timeout=self._content_timeout,
        )

    async def provider(self, entry_id: str) -> Provider:
        """Return the (cached) provider for an entry, rebuilt if its configuration changed."""
        config = await self.config_for(entry_id)
        cached = self._providers.get(entry_id)
        if cached is not None and cached[0] == config:
            self._hold(cached[1])
            return cached[1]
        if cached is not None:
            self._models.pop(entry_id, None)
            self._retire(cached[1])
        provider = self._factory(config, retry=self._retry)
        self._providers[entry_id] = (config, provider)
        self._hold(provider)
        return provider

    # -- retiring replaced providers ------------------------------------------------------------

    def _hold(self, provider: Provider) -> None:
        """Count the current task as using ``provider`` until it ends (a reply, a test, a title)."""
        task = asyncio.current_task()
        if task is None:
            return
        holders = self._holders.setdefault(provider, set())
        if task not in holders:
            holders.add(task)
            task.add_done_callback(lambda done: self._let_go(provider, done))

    def _let_go(self, provider: Provider, task: asyncio.Task[object]) -> None:
        holders = self._holders.get(provider)
        if holders is None:
            return
        holders.discard(task)
        if not holders:
            del self._holders[provider]
            if provider in self._retired:
                self._retired.discard(provider)
                self._close_soon(provider)

    def _retire(self, provider: Provider) -> None:
        """Close ``provider`` now if no task uses it, else when the last one ends."""
        if self._holders.get(provider):
            self._retired.add(provider)
        else:
            self._close_soon(provider)

    def _close_soon(self, provider: Provider) -> None:
        # Closing frees the connection pool; it must not block the caller. The task is kept
        # (the loop holds only a weak reference) and its failure logged.
        task = asyncio.get_event_loop().create_task(provider.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        task.add_done_callback(_log_close_failure)

    async def list_models(self, entry_id: str, *, refresh: bool = False) -> list[ModelInfo]:
        """Return the entry's models, from the cache unless ``refresh``."""
        if not refresh and entry_id in self._models:
            return self._models[entry_id]
        provider = await self.provider(entry_id)
        models = sorted(await provider.list_models(), key=lambda m: m.id)
        self._models[entry_id] = models
        return models

    async def default_model(self, entry: ProviderEntry) -> str | None:
        """Return the entry's default model: its own, else the first sensible one the server confirms."""
        if entry.default_model:
            return entry.default_model
        available = {m.id for m in await self.list_models(entry.id)}
        for candidate in SENSIBLE_DEFAULT_MODELS.get(entry.kind, ()):
            if candidate in available:
                return candidate
        return min(available) if available else None

    async def aclose(self) -> None:
        """Close every cached provider's connections."""
        providers = [provider for _, provider in self._providers.values()] + list(self._retired)
        self._providers.clear()
        self._retired.clear()
        self._holders.clear()
        await asyncio.gather(*(p.aclose() for p in providers), *self._closing)


def _check_key(key: str | None, name: str, env_var: str | None) -> None:
    """Raise ``AuthenticationError`` for a stored or environment key that HTTP cannot carry."""
    problem = key_problem(key) if key else None
    if problem is not None:
        where = f"the {env_var} environment variable" if env_var else "Settings > Providers"
        raise AuthenticationError(f"{name} cannot use its API key. {problem} (in {where})", provider=name)


def _log_close_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("closing a replaced provider failed", exc_info=task.exception())
