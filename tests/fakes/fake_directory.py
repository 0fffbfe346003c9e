"""Provider entries on the fake server, with test keys, behind a real ``ProviderDirectory``."""

from __future__ import annotations

from collections.abc import Iterable

import keyring.backends.null
from fakes.provider_server import ProviderServer

from desktop_llm.providers import RetryPolicy
from desktop_llm.secrets import KeyStore
from desktop_llm.services.provider_directory import ProviderDirectory
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.records import ProviderSetting
from desktop_llm.storage.settings import SettingsRepository

TEST_KEY = "sk-test-key"


def fake_directory(
    db: DatabaseThread,
    server: ProviderServer,
    entries: Iterable[tuple[str, str]] = (("p-openai", "openai"),),
    *,
    max_retries: int = 0,
) -> ProviderDirectory:
    """Save one entry per ``(id, kind)`` at ``server``, each with a key in a keystore of its own.

    Retries wait 10-50 ms, so tests that provoke them stay quick.
    """
    keystore = KeyStore(backend=keyring.backends.null.Keyring())
    for entry_id, kind in entries:
        setting = ProviderSetting(
            id=entry_id,
            kind=kind,
            name=f"Fake {kind}",
            base_url=server.url_for(kind),
            default_model="model-a",
        )
        db.call_blocking(lambda conn, setting=setting: SettingsRepository(conn).save_provider(setting))
        keystore.set(entry_id, TEST_KEY)
    retry = RetryPolicy(max_retries=max_retries, base_delay=0.01, max_delay=0.05)
    return ProviderDirectory(db, keystore, environ={}, retry=retry)
