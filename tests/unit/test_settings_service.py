"""SettingsService and its validation: keys in the keystore only, app settings, connection tests, probes."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from fakes.keyrings import DictKeyring, LockedKeyring
from fakes.provider_server import ProviderServer

from desktop_llm.providers import AuthenticationError, ConnectionFailed
from desktop_llm.secrets import SERVICE, KeyStore, SecretsError
from desktop_llm.services.key_destination import KEY_NOT_SENT
from desktop_llm.services.settings import (
    LOCAL_SERVERS,
    AppSettings,
    InvalidSetting,
    LocalServer,
    SettingsService,
    validate_app_settings,
    validate_provider,
    validate_proxy,
)
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.records import ProviderSetting
from desktop_llm.storage.settings import SettingsRepository

KEY = "unit-key-8d41f0c2aa97"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server():
    with ProviderServer() as running:
        running.models = ["m-1", "m-2"]
        yield running


@pytest.fixture
def db(tmp_path: Path):
    thread = DatabaseThread(tmp_path / "data" / "desktop-llm.sqlite3")
    yield thread
    thread.close()


@pytest.fixture
def backend() -> DictKeyring:
    return DictKeyring()


@pytest.fixture
def service(db, backend) -> SettingsService:
    return SettingsService(db, KeyStore(backend))


def _setting(**changes) -> ProviderSetting:
    values = {"id": "", "kind": "openai", "name": "OpenAI", "base_url": None}
    values.update(changes)
    return ProviderSetting(**values)


# -- validation ---------------------------------------------------------------------------------


def test_app_settings_defaults():
    assert validate_app_settings({}) == AppSettings(
        theme="system",
        font_size=11,
        send_key="enter",
        auto_titles=True,
        proxy=None,
        tool_rounds=10,
        content_timeout=300,
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"theme": "blue"}, "theme must be one of system, light, dark"),
        ({"font_size": 7}, "from 8 to 32"),
        ({"font_size": 33}, "from 8 to 32"),
        ({"font_size": "12"}, "from 8 to 32"),
        ({"font_size": True}, "from 8 to 32"),
        ({"send_key": "shift+enter"}, r"Enter or Ctrl\+Enter"),
        ({"auto_titles": "yes"}, "on or off"),
        ({"proxy": "proxy.example.com:3128"}, "must start with http://"),
        ({"colour": "red"}, "Unknown settings: colour"),
        ({"content_timeout": 29}, "reply timeout must be a whole number of seconds from 30 to 3600"),
        ({"content_timeout": 3601}, "from 30 to 3600"),
        ({"content_timeout": 60.5}, "from 30 to 3600"),
        ({"content_timeout": True}, "from 30 to 3600"),
    ],
)
def test_app_settings_out_of_range_are_refused(values, message):
    with pytest.raises(InvalidSetting, match=message):
        validate_app_settings(values)


def test_app_settings_limits_are_accepted():
    assert validate_app_settings({"font_size": 8}).font_size == 8
    assert validate_app_settings({"font_size": 32, "theme": "dark", "send_key": "ctrl+enter"}) == AppSettings(
        "dark", 32, "ctrl+enter", True, None
    )
    assert validate_app_settings({"content_timeout": 30}).content_timeout == 30
    assert validate_app_settings({"content_timeout": 3600}).content_timeout == 3600


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", None),
        ("   ", None),
        (None, None),
        ("http://proxy.example.com:3128", "http://proxy.example.com:3128"),
        (" https://proxy.example.com ", "https://proxy.example.com"),
        ("HTTP://10.0.0.1:8080", "HTTP://10.0.0.1:8080"),
    ],
)
def test_proxy_accepted(url, expected):
    assert validate_proxy(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://proxy.example.com", "must start with http://"),
        ("proxy.example.com", "must start with http://"),
        ("http://", "names no host"),
        ("http://:3128", "names no host"),
        ("http://proxy.example.com:99999", "invalid port"),
        ("http://proxy.example.com:abc", "invalid port"),
        (" https://user:pw@proxy.example.com ", "does not store"),  # kept out of the database
    ],
)
def test_proxy_refused(url, message):
    with pytest.raises(InvalidSetting, match=message):
        validate_proxy(url)


def test_socks_proxy_needs_socksio():
    assert validate_proxy("socks5://127.0.0.1:1080", socks_available=True) == "socks5://127.0.0.1:1080"
    with pytest.raises(InvalidSetting, match="socksio"):
        validate_proxy("socks5://127.0.0.1:1080", socks_available=False)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (_setting(kind="cohere"), "Unknown provider kind"),
        (_setting(kind="openai-compatible", name="Local"), "needs its base URL"),
        (_setting(kind="openai-compatible", preset="nope", name="x"), "not a known preset"),
        (_setting(kind="openai", preset="groq"), "not a known preset"),
        (_setting(base_url="localhost:8080"), "must be a web address"),
        (_setting(name="  "), "Give the provider a name"),
    ],
)
def test_unusable_provider_entries_are_refused(setting, message):
    with pytest.raises(InvalidSetting, match=message):
        validate_provider(setting)


def test_provider_entry_is_trimmed():
    cleaned = validate_provider(
        _setting(
            kind="openai-compatible",
            preset="lmstudio",
            name=" LM ",
            base_url=" http://127.0.0.1:1234/v1/ ",
            default_model=" ",
        )
    )
    assert (cleaned.name, cleaned.base_url, cleaned.default_model) == ("LM", "http://127.0.0.1:1234/v1", None)


# -- provider entries and keys ------------------------------------------------------------------


async def test_saving_puts_the_key_in_the_keystore_never_in_the_database(db, backend, service):
    saved = await service.save_provider(_setting(base_url="http://127.0.0.1:9/v1"), KEY)
    assert saved.id
    assert backend.passwords == {(SERVICE, saved.id): KEY}
    assert await service.providers() == [saved]
    assert await service.has_key(saved.id)
    for path in (db.path, Path(f"{db.path}-wal")):
        assert KEY.encode() not in path.read_bytes()

    # No key given: the stored one stays; a new key replaces it.
    renamed = await service.save_provider(_setting(id=saved.id, name="Renamed", base_url=saved.base_url))
    assert renamed.name == "Renamed" and backend.passwords[(SERVICE, saved.id)] == KEY
    await service.save_provider(renamed, "another-key-123456")
    assert backend.passwords[(SERVICE, saved.id)] == "another-key-123456"

    await service.delete_provider(saved.id)
    assert await service.providers() == []
    assert backend.passwords == {}
    assert not await service.has_key(saved.id)


async def test_a_refused_key_stores_nothing(db):
    service = SettingsService(db, KeyStore(LockedKeyring()))
    with pytest.raises(SecretsError, match="Unlock the system keyring"):
        await service.save_provider(_setting(), KEY)
    assert await service.providers() == []


async def test_invalid_entry_touches_neither_keystore_nor_database(backend, service):
    with pytest.raises(InvalidSetting):
        await service.save_provider(_setting(kind="openai-compatible"), KEY)
    assert backend.passwords == {}
    assert await service.providers() == []


# -- app settings -------------------------------------------------------------------------------


async def test_app_settings_round_trip(service):
    assert await service.app_settings() == AppSettings()
    saved = await service.save_app_settings({"theme": "dark", "proxy": "http://proxy.example.com:3128"})
    assert saved == AppSettings(theme="dark", proxy="http://proxy.example.com:3128")
    assert await service.app_settings() == saved
    assert (await service.save_app_settings({"font_size": 16})).theme == "dark"  # others kept


async def test_invalid_change_stores_nothing(service):
    await service.save_app_settings({"font_size": 14})
    with pytest.raises(InvalidSetting):
        await service.save_app_settings({"font_size": 40, "theme": "dark"})
    assert await service.app_settings() == AppSettings(font_size=14)


async def test_a_stored_value_gone_bad_falls_back_to_its_default(db, service, caplog):
    db.call_blocking(lambda d: SettingsRepository(d).set("font_size", 99))
    db.call_blocking(lambda d: SettingsRepository(d).set("theme", "dark"))
    with caplog.at_level(logging.WARNING):
        settings = await service.app_settings()
    assert settings == AppSettings(theme="dark")
    assert "font_size" in caplog.text


# -- connections --------------------------------------------------------------------------------


async def test_connection_test_counts_models(service, server):
    assert await service.test_connection("openai", None, server.url_for("openai"), KEY) == 2
    assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    assert await service.list_models("ollama", None, server.url_for("ollama"), None) == ["m-1", "m-2"]
    assert await service.test_connection("anthropic", None, server.url_for("anthropic"), KEY) == 2
    assert await service.test_connection("gemini", None, server.url_for("gemini"), KEY) == 2


async def test_connection_test_uses_the_stored_key_when_none_is_typed(service, server):
    saved = await service.save_provider(_setting(base_url=server.url_for("openai")), KEY)
    server.api_key = KEY
    assert await service.test_connection("openai", None, saved.base_url, "", setting_id=saved.id) == 2


async def test_a_saved_key_is_never_sent_to_a_just_typed_address(service, server, backend):
    saved = await service.save_provider(_setting(base_url="https://api.example.com/v1"), KEY)
    elsewhere = server.url_for("openai")  # typed in the form, not saved, key field emptied

    with pytest.raises(InvalidSetting) as refused:
        await service.test_connection("openai", None, elsewhere, "", setting_id=saved.id)
    assert str(refused.value) == KEY_NOT_SENT
    assert not [r for r in server.requests if KEY in str(r.headers)]

    # A kind that needs no key is tested without the saved one.
    assert await service.test_connection("ollama", None, server.url_for("ollama"), None, setting_id=saved.id)
    assert all("authorization" not in r.headers for r in server.requests)
    # Typing the key again is saying it belongs there.
    assert await service.test_connection("openai", None, elsewhere, KEY, setting_id=saved.id) == 2
    assert backend.passwords[(SERVICE, saved.id)] == KEY


async def test_the_saved_key_follows_a_change_of_path_on_the_same_server(service, server):
    saved = await service.save_provider(_setting(base_url=server.url_for("openai") + "/"), KEY)
    server.api_key = KEY
    assert await service.test_connection("openai", None, server.url_for("openai"), None, setting_id=saved.id)


async def test_saving_a_new_address_without_the_key_is_refused_or_drops_the_old_key(service, backend):
    saved = await service.save_provider(_setting(base_url="https://api.example.com/v1"), KEY)

    with pytest.raises(InvalidSetting, match="Type the API key again"):
        await service.save_provider(_setting(id=saved.id, base_url="http://api.example.com/v1"))
    assert await service.providers() == [saved]
    assert backend.passwords[(SERVICE, saved.id)] == KEY

    local = await service.save_provider(
        _setting(id=saved.id, kind="ollama", base_url="http://127.0.0.1:11434")
    )
    assert local.kind == "ollama" and backend.passwords == {}  # the old server's key did not follow


@pytest.mark.parametrize(
    "url", ["http://alice:s3cret-pw@proxy.example.com:3128", "socks5://alice@proxy.example.com:1080"]
)
def test_a_proxy_with_credentials_is_refused_without_echoing_them(url):
    with pytest.raises(InvalidSetting, match="HTTPS_PROXY") as refused:
        validate_proxy(url, socks_available=True)
    assert "alice" not in str(refused.value) and "s3cret" not in str(refused.value)


def test_a_base_url_with_credentials_is_refused_without_echoing_them():
    with pytest.raises(InvalidSetting, match="API key field") as refused:
        validate_provider(_setting(base_url="https://bob:hunter2-pw@api.example.com/v1"))
    assert "hunter2" not in str(refused.value)


async def test_credentials_never_reach_the_database(db, service, caplog):
    with pytest.raises(InvalidSetting):
        await service.save_app_settings({"proxy": "http://alice:s3cret-pw@proxy.example.com:3128"})
    with pytest.raises(InvalidSetting):
        await service.save_provider(_setting(base_url="https://bob:hunter2-pw@api.example.com/v1"), KEY)
    db.call_blocking(lambda d: SettingsRepository(d).set("proxy", "http://alice:s3cret-pw@p.example.com:1"))
    with caplog.at_level(logging.WARNING):
        assert (await service.app_settings()).proxy is None
    assert "s3cret" not in caplog.text
    assert db.call_blocking(lambda d: SettingsRepository(d).get("proxy")) is None  # an old one is wiped
    db.close()
    assert b"hunter2" not in db.path.read_bytes()


async def test_connection_test_raises_the_providers_own_message(service, server):
    server.api_key = "the-right-key-000000"
    with pytest.raises(AuthenticationError, match=r"rejected the API key \(401\)") as caught:
        await service.test_connection("openai", None, server.url_for("openai"), KEY)
    assert KEY not in str(caught.value)
    assert len(server.requests) == 1  # a test does not retry


async def test_connection_test_to_nothing_fails_fast(service):
    with pytest.raises(ConnectionFailed):
        await service.test_connection("ollama", None, f"http://127.0.0.1:{free_port()}", None)


async def test_connection_test_refuses_an_unusable_address(service):
    with pytest.raises(InvalidSetting):
        await service.test_connection("openai-compatible", None, None, None)


# -- local servers ------------------------------------------------------------------------------


def test_default_probes_are_ollama_and_lm_studio_on_loopback():
    assert [(s.name, s.kind, s.preset, s.base_url, s.probe_url) for s in LOCAL_SERVERS] == [
        ("Ollama", "ollama", None, "http://127.0.0.1:11434", "http://127.0.0.1:11434/api/tags"),
        (
            "LM Studio",
            "openai-compatible",
            "lmstudio",
            "http://127.0.0.1:1234/v1",
            "http://127.0.0.1:1234/v1/models",
        ),
    ]


async def test_detect_local_servers_reports_those_that_answer(db, server):
    closed = f"http://127.0.0.1:{free_port()}"
    servers = [
        LocalServer("Ollama", "ollama", None, server.base_url, server.base_url + "/api/tags"),
        LocalServer(
            "LM Studio",
            "openai-compatible",
            "lmstudio",
            server.url_for("openai"),
            server.base_url + "/v1/models",
        ),
        LocalServer("Nothing", "ollama", None, closed, closed + "/api/tags"),
        LocalServer("Wrong path", "ollama", None, server.base_url, server.base_url + "/no/such/path"),
    ]
    service = SettingsService(db, KeyStore(DictKeyring()), local_servers=servers)
    assert [s.name for s in await service.detect_local_servers()] == ["Ollama", "LM Studio"]
    assert service.local_servers == tuple(servers)


async def test_detection_ignores_a_proxy_from_the_environment(db, server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NO_PROXY", "")
    servers = [LocalServer("Ollama", "ollama", None, server.base_url, server.base_url + "/api/tags")]
    service = SettingsService(db, KeyStore(DictKeyring()), local_servers=servers)
    assert [s.name for s in await service.detect_local_servers()] == ["Ollama"]
