"""KeyStore over keyring backends (no keyring -> memory only), and keys from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest
from ollama._client import _parse_host as ollama_sdk_parse_host

from desktop_llm.secrets import (
    SERVICE,
    EnvironmentProvider,
    KeyStore,
    SecretsError,
    environment_providers,
    key_env_var,
    ollama_base_url,
    resolve_key,
)

SECRET = "sk-test-0123456789-do-not-leak"


class DictKeyring(keyring.backend.KeyringBackend):
    """A protected keyring stand-in: keeps passwords in a dict, like a Secret Service would.

    Not ``viable``: keyring registers every backend class it sees, and would otherwise pick this
    one (inside a chainer) for the rest of the test session.
    """

    priority = 5
    viable = False

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise keyring.errors.PasswordDeleteError("Password not found")
        del self.entries[(service, username)]


class PlaintextKeyring(DictKeyring):
    """Like keyrings.alt's PlaintextKeyring: writes keys to a readable file."""

    priority = 0.5

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def set_password(self, service: str, username: str, password: str) -> None:
        self.path.write_text(f"{service} {username} {password}\n")


class EmptyChainer(keyring.backends.chainer.ChainerBackend):
    """The chainer keyring picks when there is nothing to chain."""

    viable = False  # never picked by keyring itself (see DictKeyring)
    backends: ClassVar[list[keyring.backend.KeyringBackend]] = []


class LockedKeyring(DictKeyring):
    """A keyring whose every call fails the way a locked or absent Secret Service does."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str, *password: str) -> str | None:
        raise self.error

    set_password = delete_password = get_password  # type: ignore[assignment]


@dataclass(frozen=True)
class Setting:
    id: str
    kind: str
    key_env_var: str | None = None


def files_containing(folder: Path, needle: str) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and needle.encode() in path.read_bytes()]


@pytest.mark.parametrize(
    "make_backend",
    [
        keyring.backends.null.Keyring,
        keyring.backends.fail.Keyring,
        EmptyChainer,
        lambda: PlaintextKeyring(Path("plaintext-keyring.cfg").resolve()),
    ],
    ids=["null", "fail", "chainer-with-none", "plaintext"],
)
def test_backends_that_do_not_protect_keys_count_as_no_keyring(
    make_backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = KeyStore(make_backend())
    assert store.status.available is False
    assert "memory" in store.status.message and "session" in store.status.message
    assert store.status.backend in store.status.message

    store.set("setting-1", SECRET)
    assert store.get("setting-1") == SECRET
    assert store.get("other") is None
    assert files_containing(tmp_path, SECRET) == []  # never written to any file, the plaintext one included

    assert KeyStore(make_backend()).get("setting-1") is None  # gone with the session
    store.delete("setting-1")
    assert store.get("setting-1") is None
    store.delete("setting-1")  # deleting twice is fine


def test_a_real_backend_keeps_keys_under_the_service_and_setting_id() -> None:
    backend = DictKeyring()
    store = KeyStore(backend)
    assert store.status.available is True
    assert "DictKeyring" in store.status.backend

    store.set("3f2a", SECRET)
    assert backend.entries == {(SERVICE, "3f2a"): SECRET}
    assert SERVICE == "desktop-llm"
    assert store.get("3f2a") == SECRET
    store.set("3f2a", "sk-replaced")
    assert store.get("3f2a") == "sk-replaced"
    store.delete("3f2a")
    assert backend.entries == {}
    store.delete("3f2a")  # the backend says "not found"; forgetting twice is not an error


def test_the_default_backend_is_keyrings_configured_one(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = DictKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    KeyStore().set("s", SECRET)
    assert backend.entries[(SERVICE, "s")] == SECRET


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (keyring.errors.KeyringLocked("Failed to unlock the collection!"), "Unlock the system keyring"),
        (keyring.errors.KeyringError("org.freedesktop.DBus.Error.ServiceUnknown"), "running and unlocked"),
        (ConnectionResetError("D-Bus connection closed"), "running and unlocked"),  # not keyring's own
    ],
)
@pytest.mark.parametrize("action", ["get", "set", "delete"])
def test_keyring_errors_become_actionable_secrets_errors(error, advice: str, action: str) -> None:
    store = KeyStore(LockedKeyring(error))
    args = ("setting-9", SECRET) if action == "set" else ("setting-9",)
    with pytest.raises(SecretsError) as raised:
        getattr(store, action)(*args)
    message = str(raised.value)
    assert advice in message
    assert str(error) in message  # the cause is named
    assert "LockedKeyring" in message
    assert SECRET not in message


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        KeyStore(DictKeyring()).set("s", "")


# --- environment ---------------------------------------------------------------------------------


def test_no_variables_no_providers() -> None:
    assert environment_providers({}) == []
    assert environment_providers({"OPENAI_API_KEY": "  ", "OLLAMA_HOST": ""}) == []


def test_the_environment_table() -> None:
    found = environment_providers(
        {
            "OPENAI_API_KEY": "sk-o",
            "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1",
            "ANTHROPIC_API_KEY": "sk-a",
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:8081",
            "GOOGLE_API_KEY": "g-google",
            "GEMINI_API_KEY": "g-gemini",
            "GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:8082",
            "OLLAMA_HOST": "127.0.0.1:11435",
        }
    )
    assert [(p.kind, p.api_key, p.base_url, p.key_env_var) for p in found] == [
        ("openai", "sk-o", "http://127.0.0.1:8080/v1", "OPENAI_API_KEY"),
        ("anthropic", "sk-a", "http://127.0.0.1:8081", "ANTHROPIC_API_KEY"),
        ("gemini", "g-google", "http://127.0.0.1:8082", "GOOGLE_API_KEY"),
        ("ollama", None, "http://127.0.0.1:11435", None),
    ]
    assert all(p.name for p in found)


def test_keys_without_base_urls_use_the_official_endpoints() -> None:
    found = environment_providers({"OPENAI_API_KEY": "sk-o", "ANTHROPIC_API_KEY": "sk-a"})
    assert [(p.kind, p.base_url) for p in found] == [("openai", None), ("anthropic", None)]


def test_gemini_key_falls_back_to_gemini_api_key() -> None:
    (gemini,) = environment_providers({"GEMINI_API_KEY": "g-gemini"})
    assert (gemini.kind, gemini.api_key, gemini.key_env_var) == ("gemini", "g-gemini", "GEMINI_API_KEY")


def test_an_openai_base_url_without_a_key_is_an_openai_compatible_server() -> None:
    (entry,) = environment_providers({"OPENAI_BASE_URL": "http://127.0.0.1:1234/v1"})
    assert entry.kind == "openai-compatible"
    assert entry.api_key is None and entry.key_env_var is None
    assert entry.base_url == "http://127.0.0.1:1234/v1"


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.0.0.1:11500",
        "localhost:8000",
        ":56789",
        "ollama.internal",
        "http://127.0.0.1",
        "https://example.com",
        "https://example.com:56789/path/",
        "example.com/prefix",
        "[::1]",
        "[::1]:9000",
        "http://[::1]:9000/x",
    ],
)
def test_ollama_host_is_read_as_the_ollama_sdk_reads_it(host: str) -> None:
    assert ollama_base_url(host) == ollama_sdk_parse_host(host)


def test_ollama_host_without_scheme_becomes_an_entry() -> None:
    (entry,) = environment_providers({"OLLAMA_HOST": "192.0.2.7"})
    assert (entry.kind, entry.base_url, entry.api_key) == ("ollama", "http://192.0.2.7:11434", None)


def test_the_repr_never_shows_the_key() -> None:
    (entry,) = environment_providers({"OPENAI_API_KEY": SECRET})
    assert SECRET not in repr(entry)
    assert SECRET not in str(entry)
    assert "openai" in repr(entry)
    assert isinstance(entry, EnvironmentProvider)


def test_key_env_var_per_kind() -> None:
    assert key_env_var("openai") == "OPENAI_API_KEY"
    assert key_env_var("anthropic") == "ANTHROPIC_API_KEY"
    assert key_env_var("gemini") == "GOOGLE_API_KEY"
    assert key_env_var("ollama") is None
    assert key_env_var("openai-compatible") is None


def test_the_environment_overrides_the_keyring() -> None:
    store = KeyStore(DictKeyring())
    store.set("s1", "sk-from-keyring")
    setting = Setting("s1", "openai")
    assert resolve_key(setting, store, {"OPENAI_API_KEY": "sk-from-env"}) == "sk-from-env"
    assert resolve_key(setting, store, {}) == "sk-from-keyring"
    assert resolve_key(setting, store, {"OPENAI_API_KEY": ""}) == "sk-from-keyring"
    assert resolve_key(setting, store, {"ANTHROPIC_API_KEY": "sk-a"}) == "sk-from-keyring"


def test_a_settings_own_variable_replaces_the_kinds_default() -> None:
    store = KeyStore(DictKeyring())
    router = Setting("s2", "openai-compatible", key_env_var="OPENROUTER_API_KEY")
    environ = {"OPENROUTER_API_KEY": "sk-or", "OPENAI_API_KEY": "sk-o"}
    assert resolve_key(router, store, environ) == "sk-or"
    assert resolve_key(Setting("s3", "openai-compatible"), store, environ) is None


def test_gemini_settings_read_either_variable() -> None:
    store = KeyStore(keyring.backends.null.Keyring())
    setting = Setting("g", "gemini")
    assert resolve_key(setting, store, {"GEMINI_API_KEY": "g2"}) == "g2"
    assert resolve_key(setting, store, {"GEMINI_API_KEY": "g2", "GOOGLE_API_KEY": "g1"}) == "g1"
