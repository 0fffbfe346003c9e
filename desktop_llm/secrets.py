"""Keep API keys in the operating system keyring, with environment-variable override.

Keys live in the keyring under service ``desktop-llm``, user name = the stored provider
setting's id. A backend that would not really protect a key — plaintext, null, the failing
placeholder, or a chainer with nothing real behind it — counts as *no keyring*: ``KeyStore.status``
says so plainly, and keys are then kept in this process's memory only, for the running session,
never in a file.

Environment variables (as the official SDKs read them) override the keyring; see
``environment_providers`` and ``resolve_key``. This module never imports storage or providers:
callers pass plain values.

Everything here may block (D-Bus, a keyring prompt): call it off the Qt thread. The keyring
package itself is imported, and its backend chosen, when a :class:`KeyStore` is first used, not
when this module is: the environment part is needed at start-up, the keyring (about 12 MB with
its D-Bus and crypto libraries) only once a stored key is read or written.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import keyring.backend

SERVICE = "desktop-llm"

# _BACKEND_FAILURE: a backend raises keyring's errors, but also its own libraries' (secretstorage,
# jeepney's D-Bus errors, a lost D-Bus connection as OSError). Whatever the one backend call
# raises is the keyring failing, so it becomes a SecretsError with advice, its cause chained.


class SecretsError(Exception):
    """The keyring failed; the message says what to do about it."""


@dataclass(frozen=True)
class KeyringStatus:
    """Whether keys survive a restart, which backend holds them, and a sentence for the UI."""

    available: bool
    backend: str
    message: str


@dataclass(frozen=True)
class EnvironmentProvider:
    """A provider configured by environment variables: shown "from environment", never stored."""

    kind: str
    api_key: str | None = field(repr=False)
    base_url: str | None
    name: str
    key_env_var: str | None


class KeyedSetting(Protocol):
    """What ``resolve_key`` needs from a stored provider setting (storage's ``ProviderSetting``)."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def key_env_var(self) -> str | None: ...


def _backend_name(backend: keyring.backend.KeyringBackend) -> str:
    """Name the backend that really holds the keys (a chainer's first backend, when it has one)."""
    import keyring.backends.chainer  # loaded with the backend itself: see the module docstring

    if isinstance(backend, keyring.backends.chainer.ChainerBackend):
        backend = next(iter(backend.backends), backend)
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_safe(backend: keyring.backend.KeyringBackend) -> bool:
    """Return True when ``backend`` really keeps keys outside this process, protected."""
    import keyring.backends.chainer
    import keyring.backends.fail
    import keyring.backends.null

    if isinstance(backend, keyring.backends.chainer.ChainerBackend):
        # A chainer writes to its first chained backend; with none, it behaves like null.
        chained = list(backend.backends)
        return bool(chained) and _is_safe(chained[0])
    # keyrings.alt's PlaintextKeyring (and look-alikes) write the key to a file anyone can read.
    # The null and fail backends keep no key at all, or refuse every call.
    no_keyring = (keyring.backends.null.Keyring, keyring.backends.fail.Keyring)
    return not isinstance(backend, no_keyring) and "plaintext" not in _backend_name(backend).lower()


def _assess(backend: keyring.backend.KeyringBackend) -> KeyringStatus:
    name = _backend_name(backend)
    if _is_safe(backend):
        return KeyringStatus(True, name, f"API keys are kept in the system keyring ({name}).")
    return KeyringStatus(
        False,
        name,
        "No usable system keyring was found "
        f"(backend: {name}). API keys are kept in memory for this session only and must be "
        "entered again after a restart. To keep them, install and unlock a keyring (GNOME Keyring "
        "or KWallet on Linux), or set the provider's environment variable, e.g. OPENAI_API_KEY.",
    )


class KeyStore:
    """Keep one API key per stored provider setting in the keyring, else in memory.

    Constructing one is cheap and never blocks; the backend is chosen on first use (``status``,
    ``get``, ``set``, ``delete``), which may block like every call here.

    Args:
        backend: a keyring backend; None uses keyring's configured one.
    """

    def __init__(self, backend: keyring.backend.KeyringBackend | None = None) -> None:
        self._given = backend
        self._chosen: tuple[keyring.backend.KeyringBackend, KeyringStatus] | None = None
        self._choosing = threading.Lock()  # first uses may race on two worker threads
        self._memory: dict[str, str] = {}

    def _backend_and_status(self) -> tuple[keyring.backend.KeyringBackend, KeyringStatus]:
        with self._choosing:
            if self._chosen is None:
                import keyring  # on first use, off the Qt thread: see the module docstring

                backend = self._given if self._given is not None else keyring.get_keyring()
                self._chosen = (backend, _assess(backend))
            return self._chosen

    @property
    def _backend(self) -> keyring.backend.KeyringBackend:
        return self._backend_and_status()[0]

    @property
    def status(self) -> KeyringStatus:
        """Return whether keys survive a restart, for the UI to show (may block on first use)."""
        return self._backend_and_status()[1]

    def get(self, setting_id: str) -> str | None:
        """Return the key stored for ``setting_id``, or None."""
        if not self.status.available:
            return self._memory.get(setting_id)
        try:
            return self._backend.get_password(SERVICE, setting_id)
        except Exception as error:  # any backend failure: see _BACKEND_FAILURE
            raise self._error("read", error) from error

    def set(self, setting_id: str, key: str) -> None:
        """Store ``key`` for ``setting_id``, replacing any earlier one."""
        if not key:
            raise ValueError("an empty API key cannot be stored; use delete() to remove a key")
        if not self.status.available:
            self._memory[setting_id] = key
            return
        try:
            self._backend.set_password(SERVICE, setting_id, key)
        except Exception as error:  # any backend failure: see _BACKEND_FAILURE
            raise self._error("save", error) from error

    def delete(self, setting_id: str) -> None:
        """Forget the key for ``setting_id``; nothing happens when there is none."""
        if not self.status.available:
            self._memory.pop(setting_id, None)
            return
        import keyring.errors  # loaded by now: status chose the backend

        try:
            self._backend.delete_password(SERVICE, setting_id)
        except keyring.errors.PasswordDeleteError:
            return  # nothing stored under that name: already forgotten
        except Exception as error:  # any backend failure: see _BACKEND_FAILURE
            raise self._error("delete", error) from error

    def _error(self, action: str, error: Exception) -> SecretsError:
        # The keyring's own text never contains the key; it is passed on because it often names the cause.
        import keyring.errors

        detail = str(error).strip() or type(error).__name__
        if isinstance(error, keyring.errors.KeyringLocked):
            hint = "Unlock the system keyring (it may be waiting for a password prompt) and try again."
        else:
            hint = (
                "Check that the system keyring service is running and unlocked, or set the "
                "provider's environment variable instead."
            )
        return SecretsError(
            f"Could not {action} the API key in the system keyring ({self.status.backend}): {detail}. {hint}"
        )


# --- environment ---------------------------------------------------------------------------------

# Key variables per kind, in the order the official SDKs try them.
_KEY_VARIABLES: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
}
_OLLAMA_DEFAULT_PORT = 11434


def key_env_var(kind: str) -> str | None:
    """Return the main environment variable that holds the key for ``kind`` (None: no standard one)."""
    names = _KEY_VARIABLES.get(kind, ())
    return names[0] if names else None


def _lookup(environ: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    """Return (name, value) of the first variable in ``names`` that is set and not blank."""
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return name, value
    return None


def _variable(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(name, "").strip() or None


def ollama_base_url(host: str) -> str:
    """Turn an ``OLLAMA_HOST`` value into a base URL, as the ollama SDK does (scheme optional).

    ``"10.0.0.5"`` -> ``"http://10.0.0.5:11434"``; ``":8080"`` -> ``"http://127.0.0.1:8080"``;
    ``"https://example.com"`` -> ``"https://example.com:443"``.
    """
    scheme, separator, rest = host.strip().partition("://")
    port = _OLLAMA_DEFAULT_PORT
    if not separator:
        scheme, rest = "http", host.strip()
    elif scheme in ("http", "https"):
        port = 80 if scheme == "http" else 443
    parts = urllib.parse.urlsplit(f"{scheme}://{rest}")
    hostname = parts.hostname or "127.0.0.1"
    try:
        if ipaddress.ip_address(hostname).version == 6:
            hostname = f"[{hostname}]"
    except ValueError:
        pass  # a host name, not an address: used as it is
    url = f"{scheme}://{hostname}:{parts.port or port}"
    path = parts.path.strip("/")
    return f"{url}/{path}" if path else url


def environment_providers(environ: Mapping[str, str] = os.environ) -> list[EnvironmentProvider]:
    """Return one entry per provider kind configured by environment variables.

    OpenAI: ``OPENAI_API_KEY`` (+ ``OPENAI_BASE_URL``); a base URL without a key gives an
    ``openai-compatible`` entry instead. Anthropic: ``ANTHROPIC_API_KEY`` (+ ``ANTHROPIC_BASE_URL``).
    Gemini: ``GOOGLE_API_KEY``, else ``GEMINI_API_KEY`` (+ ``GOOGLE_GEMINI_BASE_URL``). Ollama:
    ``OLLAMA_HOST``, scheme optional.
    """
    found: list[EnvironmentProvider] = []
    openai_url = _variable(environ, "OPENAI_BASE_URL")
    if openai := _lookup(environ, _KEY_VARIABLES["openai"]):
        found.append(EnvironmentProvider("openai", openai[1], openai_url, "OpenAI (environment)", openai[0]))
    elif openai_url:
        found.append(
            EnvironmentProvider(
                "openai-compatible", None, openai_url, "OpenAI-compatible (environment)", None
            )
        )
    if anthropic := _lookup(environ, _KEY_VARIABLES["anthropic"]):
        found.append(
            EnvironmentProvider(
                "anthropic",
                anthropic[1],
                _variable(environ, "ANTHROPIC_BASE_URL"),
                "Anthropic (environment)",
                anthropic[0],
            )
        )
    if gemini := _lookup(environ, _KEY_VARIABLES["gemini"]):
        found.append(
            EnvironmentProvider(
                "gemini",
                gemini[1],
                _variable(environ, "GOOGLE_GEMINI_BASE_URL"),
                "Google Gemini (environment)",
                gemini[0],
            )
        )
    if ollama_host := _variable(environ, "OLLAMA_HOST"):
        found.append(
            EnvironmentProvider("ollama", None, ollama_base_url(ollama_host), "Ollama (environment)", None)
        )
    return found


def resolve_key(
    setting: KeyedSetting, keystore: KeyStore, environ: Mapping[str, str] = os.environ
) -> str | None:
    """Return the key for a stored provider setting: its environment variable first, then the keyring.

    The variable is the setting's own ``key_env_var`` when it names one, else the standard ones
    for its kind (Gemini: ``GOOGLE_API_KEY``, then ``GEMINI_API_KEY``). None when neither has a key.
    """
    names = (setting.key_env_var,) if setting.key_env_var else _KEY_VARIABLES.get(setting.kind, ())
    if from_environment := _lookup(environ, names):
        return from_environment[1]
    return keystore.get(setting.id)
