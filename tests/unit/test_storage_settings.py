"""SettingsRepository: provider entries (never a key) and JSON app settings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import NotFound, StorageError
from desktop_llm.storage.records import ProviderSetting
from desktop_llm.storage.settings import SettingsRepository


@pytest.fixture
def settings(db: Database) -> SettingsRepository:
    return SettingsRepository(db)


def test_provider_insert_update_list_delete(settings: SettingsRepository) -> None:
    local = settings.save_provider(
        ProviderSetting(
            id="",
            kind="openai-compatible",
            name="LM Studio",
            base_url="http://127.0.0.1:1234/v1",
            preset="lmstudio",
            default_model="qwen2.5-7b",
            extra={"headers": {"X-Title": "desktop"}, "timeouts": [10, 120]},
        )
    )
    assert local.id  # an empty id gets a fresh one
    cloud = settings.save_provider(
        ProviderSetting(id="fixed-id", kind="openai", name="OpenAI", key_env_var="OPENAI_API_KEY")
    )
    assert settings.list_providers() == [local, cloud]
    assert settings.get_provider(local.id) == local

    renamed = settings.save_provider(replace(local, name="LM Studio (laptop)", default_model=None))
    assert settings.get_provider(local.id) == renamed
    assert [setting.id for setting in settings.list_providers()] == [local.id, cloud.id]  # order kept

    settings.delete_provider(local.id)
    assert settings.list_providers() == [cloud]
    with pytest.raises(NotFound, match="provider"):
        settings.get_provider(local.id)
    with pytest.raises(NotFound):
        settings.delete_provider(local.id)


@pytest.mark.parametrize(
    "extra",
    [
        {"api_key": "sk-live-123"},
        {"headers": {"Authorization": "Bearer sk-live-123"}},
        {"nested": [{"client_secret": "s"}]},
        {"Token": "t"},
    ],
)
def test_a_key_is_never_stored(db: Database, settings: SettingsRepository, extra: dict) -> None:
    with pytest.raises(StorageError, match="keyring"):
        settings.save_provider(ProviderSetting(id="", kind="openai", name="Leaky", extra=extra))
    assert db.conn.execute("SELECT count(*) FROM provider_settings").fetchone()[0] == 0


def test_naming_the_key_variable_is_fine(settings: SettingsRepository) -> None:
    setting = settings.save_provider(
        ProviderSetting(
            id="", kind="anthropic", name="Claude", key_env_var="ANTHROPIC_API_KEY", extra={"api_key": None}
        )
    )
    assert settings.get_provider(setting.id).key_env_var == "ANTHROPIC_API_KEY"


def test_app_settings_are_json_values(settings: SettingsRepository) -> None:
    assert settings.get("theme") is None
    assert settings.get("theme", "system") == "system"
    for key, value in (
        ("theme", "dark"),
        ("font_size", 13),
        ("send_on_enter", True),
        ("proxy", None),
        ("window", {"width": 1200, "splitter": [240, 960], "title": "Ünïcødé ✓"}),
    ):
        settings.set(key, value)
        assert settings.get(key, "default") == value
    settings.set("theme", "light")
    assert settings.get("theme") == "light"
    settings.delete("theme")
    assert settings.get("theme", "system") == "system"
    with pytest.raises(TypeError):
        settings.set("bad", object())
