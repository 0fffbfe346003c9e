"""Manage provider entries with their keys, app settings, connection tests and local-server detection.

The settings dialog talks to this service only. Stored provider entries never hold a key: a key
goes to the ``KeyStore`` (keyring, D-Bus, may prompt) through ``asyncio.to_thread``, and
database work runs on the ``DatabaseThread``, so no call blocks the Qt thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import logging
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from desktop_llm.providers import KINDS, ProviderConfig, RetryPolicy, create_provider
from desktop_llm.providers.presets import PRESETS
from desktop_llm.providers.types import DEFAULT_CONTENT_TIMEOUT, key_problem
from desktop_llm.secrets import KeyStore
from desktop_llm.services.key_destination import KEY_NOT_SENT, destination, needs_key
from desktop_llm.services.tool_loop import DEFAULT_MAX_ROUNDS
from desktop_llm.storage.database import Database
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.records import ProviderSetting
from desktop_llm.storage.settings import SettingsRepository
from desktop_llm.storage.timeutil import new_id

if TYPE_CHECKING:
    # Types only: httpx (and the provider base that uses it) loads when the app first talks
    # to a server, not at start-up.
    import httpx

    from desktop_llm.providers.base import Provider

log = logging.getLogger(__name__)

THEMES = ("system", "light", "dark")
SEND_KEYS = ("enter", "ctrl+enter")
FONT_SIZES = range(8, 33)
# Seconds a reply may go without content (keep-alives only) before it ends with an error.
CONTENT_TIMEOUTS = range(30, 3601)
PROXY_SCHEMES = ("http", "https", "socks5")
# httpx speaks SOCKS only with the optional socksio package installed.
SOCKS_AVAILABLE = importlib.util.find_spec("socksio") is not None

# A connection test must answer quickly: the person is waiting in front of the dialog.
_TEST_CONNECT_TIMEOUT = 5.0
_TEST_READ_TIMEOUT = 15.0


# Credentials in a URL would be stored in the database in clear and shown wherever the URL is
# (the settings form, logs, error messages): refused, with where they belong instead.
PROXY_CREDENTIALS_REFUSED = (
    "The proxy address contains a user name or password, which Desktop LLM does not store in its "
    "settings. Remove them (http://proxy.example.com:3128); for a proxy that needs a password, "
    "clear this field and set HTTPS_PROXY in the environment instead."
)
BASE_URL_CREDENTIALS_REFUSED = (
    "The base URL contains a user name or password, which Desktop LLM does not store in its "
    "settings. Remove them, and put the server's key in the API key field (kept in the keyring)."
)


MAX_TOOL_ROUNDS = 100


class InvalidSetting(ValueError):
    """A setting the person entered cannot be used; the message says which and why."""


def _sendable_key(api_key: str | None) -> str:
    """Return the typed key, stripped; raise ``InvalidSetting`` if HTTP cannot carry it."""
    key = (api_key or "").strip()
    problem = key_problem(key)
    if problem is not None:
        raise InvalidSetting(problem)
    return key


@dataclass(frozen=True)
class AppSettings:
    """How the app looks and behaves; stored in the database's app settings by field name."""

    theme: str = "system"
    font_size: int = 11
    send_key: str = "enter"
    auto_titles: bool = True
    proxy: str | None = None
    tool_rounds: int = DEFAULT_MAX_ROUNDS  # model requests per reply when it calls tools
    content_timeout: int = int(DEFAULT_CONTENT_TIMEOUT)

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as a plain dict (the dialog's ``app_settings_changed`` payload)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class LocalServer:
    """A model server people commonly run on their own machine, and how to tell it is there.

    Args:
        name: what the dialog calls it ("Ollama").
        kind: the provider kind of the entry to add.
        preset: the OpenAI-compatible preset, if any.
        base_url: the entry's base URL.
        probe_url: a cheap GET that answers 200 when the server runs.
    """

    name: str
    kind: str
    preset: str | None
    base_url: str
    probe_url: str


LOCAL_SERVERS: tuple[LocalServer, ...] = (
    LocalServer("Ollama", "ollama", None, "http://127.0.0.1:11434", "http://127.0.0.1:11434/api/tags"),
    LocalServer(
        "LM Studio",
        "openai-compatible",
        "lmstudio",
        PRESETS["lmstudio"].base_url,
        PRESETS["lmstudio"].base_url + "/models",
    ),
)


def validate_proxy(url: str | None, *, socks_available: bool = SOCKS_AVAILABLE) -> str | None:
    """Return the proxy URL cleaned up (None for no proxy); raise InvalidSetting when unusable."""
    text = (url or "").strip()
    if not text:
        return None
    parts = urllib.parse.urlsplit(text)
    if _has_credentials(parts):
        raise InvalidSetting(PROXY_CREDENTIALS_REFUSED)
    if parts.scheme.lower() not in PROXY_SCHEMES:
        raise InvalidSetting(
            f"The proxy {text!r} must start with http://, https:// or socks5:// (for example "
            "http://proxy.example.com:3128)."
        )
    if not _port_is_valid(parts):
        raise InvalidSetting(f"The proxy {text!r} has an invalid port number.")
    if not parts.hostname:
        raise InvalidSetting(f"The proxy {text!r} names no host (for example http://proxy.example.com:3128).")
    if parts.scheme.lower() == "socks5" and not socks_available:
        raise InvalidSetting(
            "SOCKS proxies need the socksio package, which this installation lacks; "
            "use an HTTP proxy or install httpx[socks]."
        )
    return text


def _has_credentials(parts: urllib.parse.SplitResult) -> bool:
    # "user@host" counts too: whatever sits before "@" is sent to the server as a credential.
    return "@" in parts.netloc


def _port_is_valid(parts: urllib.parse.SplitResult) -> bool:
    try:
        return parts.port is None or parts.port > 0
    except ValueError:  # urllib raises for a port that is not a number or out of range
        return False


def validate_app_settings(values: Mapping[str, Any]) -> AppSettings:
    """Return ``values`` as checked ``AppSettings``; missing fields take their defaults.

    Raises:
        InvalidSetting: a value is out of range; the message names the setting.
    """
    unknown = set(values) - {field.name for field in dataclasses.fields(AppSettings)}
    if unknown:
        raise InvalidSetting(f"Unknown settings: {', '.join(sorted(unknown))}.")
    settings = dataclasses.replace(AppSettings(), **values)
    if settings.theme not in THEMES:
        raise InvalidSetting(f"The theme must be one of {', '.join(THEMES)}, not {settings.theme!r}.")
    if (
        not isinstance(settings.font_size, int)
        or isinstance(settings.font_size, bool)
        or settings.font_size not in FONT_SIZES
    ):
        raise InvalidSetting(
            f"The font size must be a whole number from {FONT_SIZES[0]} to {FONT_SIZES[-1]} points."
        )
    if settings.send_key not in SEND_KEYS:
        raise InvalidSetting(f"The send key must be Enter or Ctrl+Enter, not {settings.send_key!r}.")
    if not isinstance(settings.auto_titles, bool):
        raise InvalidSetting("Automatic titles must be on or off.")
    rounds = settings.tool_rounds
    if not isinstance(rounds, int) or isinstance(rounds, bool) or not 1 <= rounds <= MAX_TOOL_ROUNDS:
        raise InvalidSetting(f"Tool rounds per reply must be a whole number from 1 to {MAX_TOOL_ROUNDS}.")
    timeout = settings.content_timeout
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout not in CONTENT_TIMEOUTS:
        raise InvalidSetting(
            f"The reply timeout must be a whole number of seconds from {CONTENT_TIMEOUTS[0]}"
            f" to {CONTENT_TIMEOUTS[-1]}."
        )
    return dataclasses.replace(settings, proxy=validate_proxy(settings.proxy))


def validate_provider(setting: ProviderSetting) -> ProviderSetting:
    """Return the entry with its fields trimmed; raise InvalidSetting when it cannot work."""
    if setting.kind not in KINDS:
        raise InvalidSetting(f"Unknown provider kind {setting.kind!r}; expected one of {', '.join(KINDS)}.")
    preset = setting.preset or None
    if preset is not None and (setting.kind != "openai-compatible" or preset not in PRESETS):
        raise InvalidSetting(f"{preset!r} is not a known preset for {setting.kind} providers.")
    base_url = (setting.base_url or "").strip().rstrip("/") or None
    if base_url is not None:
        parts = urllib.parse.urlsplit(base_url)
        if _has_credentials(parts):
            raise InvalidSetting(BASE_URL_CREDENTIALS_REFUSED)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidSetting(
                f"The base URL {base_url!r} must be a web address such as http://127.0.0.1:8080/v1."
            )
    elif setting.kind == "openai-compatible" and preset is None:
        raise InvalidSetting("An OpenAI-compatible server needs its base URL, e.g. http://127.0.0.1:8080/v1.")
    name = setting.name.strip()
    if not name:
        raise InvalidSetting("Give the provider a name, so you can tell it apart in the model picker.")
    model = (setting.default_model or "").strip() or None
    return dataclasses.replace(setting, name=name, base_url=base_url, preset=preset, default_model=model)


class SettingsService:
    """Read and change provider entries (keys in the keyring) and app settings.

    Args:
        db: the database thread (provider entries, app settings).
        keystore: where keys of stored entries live.
        provider_factory: builds the temporary provider of a connection test.
        local_servers: what ``detect_local_servers`` probes (tests point these at a fake server).
        probe_timeout: seconds each probe may take; a local server answers in milliseconds.
    """

    def __init__(
        self,
        db: DatabaseThread,
        keystore: KeyStore,
        *,
        provider_factory: Callable[..., Provider] = create_provider,
        local_servers: Sequence[LocalServer] = LOCAL_SERVERS,
        probe_timeout: float = 0.5,
    ) -> None:
        self._db = db
        self._keystore = keystore
        self._factory = provider_factory
        self._local_servers = tuple(local_servers)
        self._probe_timeout = probe_timeout

    @property
    def local_servers(self) -> tuple[LocalServer, ...]:
        """Return the local servers ``detect_local_servers`` probes, in order."""
        return self._local_servers

    # -- provider entries ----------------------------------------------------------------------

    async def providers(self) -> list[ProviderSetting]:
        """Return the stored provider entries, oldest first."""
        return await self._db.call(lambda db: SettingsRepository(db).list_providers())

    async def has_key(self, setting_id: str) -> bool:
        """Return whether a key is stored for the entry (read off-thread: the keyring may block)."""
        return await asyncio.to_thread(lambda: self._keystore.get(setting_id) is not None)

    async def save_provider(self, setting: ProviderSetting, api_key: str | None = None) -> ProviderSetting:
        """Validate and store the entry, and its key in the keyring; return what was stored.

        Args:
            setting: the entry; an empty id adds a new one.
            api_key: a new key to keep in the keyring; None leaves the stored key as it is,
                unless the entry now points elsewhere (see ``key_destination``): then a kind
                that needs a key is refused, and a keyless one loses the old server's key.

        Raises:
            InvalidSetting: the entry cannot work (the message says why).
            SecretsError: the keyring refused the key; nothing was stored.
        """
        setting = validate_provider(setting)
        if not setting.id:
            setting = dataclasses.replace(setting, id=new_id())
        key = _sendable_key(api_key)
        if not key and await self._key_left_behind(setting):
            if needs_key(setting.kind, setting.preset):
                raise InvalidSetting(KEY_NOT_SENT)
            # A keyless server now: the old server's key must not follow the entry there.
            log.info("the saved key of provider %s was dropped: its server changed", setting.id)
            await asyncio.to_thread(self._keystore.delete, setting.id)
        if key:
            # The key first: if the keyring refuses it, no entry without its key is left behind.
            # A closure, not arguments: executors log what they are handed at DEBUG level.
            await asyncio.to_thread(lambda: self._keystore.set(setting.id, key))
        return await self._db.call(lambda db: SettingsRepository(db).save_provider(setting))

    async def _key_left_behind(self, setting: ProviderSetting) -> bool:
        """Return whether a key is saved for the entry and the entry now points somewhere else."""
        stored = await self._stored(setting.id)
        if stored is None or destination(stored) == destination(setting):
            return False
        return await self.has_key(setting.id)

    async def _stored(self, setting_id: str) -> ProviderSetting | None:
        return next((s for s in await self.providers() if s.id == setting_id), None)

    async def delete_provider(self, setting_id: str) -> None:
        """Delete the entry and its key."""
        await self._db.call(lambda db: SettingsRepository(db).delete_provider(setting_id))
        await asyncio.to_thread(self._keystore.delete, setting_id)

    # -- app settings -----------------------------------------------------------------------

    async def app_settings(self) -> AppSettings:
        """Return the app settings; a stored value that is no longer valid falls back to its default."""

        def read(db: Database) -> dict[str, Any]:
            repository = SettingsRepository(db)
            missing = object()
            values = {}
            for field in dataclasses.fields(AppSettings):
                value = repository.get(field.name, missing)
                if value is not missing:
                    values[field.name] = value
            return values

        stored = await self._db.call(read)
        settings = AppSettings()
        for name, value in stored.items():
            try:
                settings = validate_app_settings({**dataclasses.asdict(settings), name: value})
            except InvalidSetting as error:
                log.warning("ignoring the stored setting %s: %s", name, error)
                if str(error) == PROXY_CREDENTIALS_REFUSED:
                    # Stored by an older version: a password has no place in the database.
                    await self._db.call(lambda db: SettingsRepository(db).delete("proxy"))
        return settings

    async def save_app_settings(self, values: Mapping[str, Any]) -> AppSettings:
        """Validate and store app settings (fields not given keep their stored values); return all.

        Raises:
            InvalidSetting: a value is out of range; nothing was stored.
        """
        current = await self.app_settings()
        settings = validate_app_settings({**current.as_dict(), **values})

        def write(db: Database) -> None:
            repository = SettingsRepository(db)
            for name, value in settings.as_dict().items():
                repository.set(name, value)

        await self._db.call(write)
        return settings

    # -- connections ------------------------------------------------------------------------

    async def list_models(
        self,
        kind: str,
        preset: str | None,
        base_url: str | None,
        api_key: str | None,
        *,
        setting_id: str | None = None,
        proxy: str | None = None,
    ) -> list[str]:
        """Connect with a temporary provider and return the server's model ids, sorted.

        Args:
            api_key: the key to try; None uses the one stored for ``setting_id``, if any, as
                long as kind, preset and server are still those it was saved for.
            setting_id: the stored entry being edited, whose key is used when none is typed.

        Raises:
            ProviderError: the provider's own, actionable message (bad key, unreachable server...).
            InvalidSetting: the kind, preset or URL cannot work.
        """
        check = validate_provider(
            ProviderSetting(id="", kind=kind, name="test", base_url=base_url, preset=preset or None)
        )
        if not (api_key or "").strip() and setting_id:
            # The saved key goes only where it was saved for, never to a just-typed address.
            stored = await self._stored(setting_id)
            if stored is not None and destination(stored) == destination(check):
                api_key = await asyncio.to_thread(self._keystore.get, setting_id)
            elif needs_key(check.kind, check.preset) and await self.has_key(setting_id):
                raise InvalidSetting(KEY_NOT_SENT)
        config = ProviderConfig(
            check.kind,
            api_key=_sendable_key(api_key) or None,
            base_url=check.base_url,
            preset=check.preset,
            proxy=proxy,
            connect_timeout=_TEST_CONNECT_TIMEOUT,
            read_timeout=_TEST_READ_TIMEOUT,
        )
        provider = self._factory(config, retry=RetryPolicy(max_retries=0))
        try:
            return sorted(model.id for model in await provider.list_models())
        finally:
            await provider.aclose()

    async def test_connection(
        self,
        kind: str,
        preset: str | None,
        base_url: str | None,
        api_key: str | None,
        *,
        setting_id: str | None = None,
        proxy: str | None = None,
    ) -> int:
        """Return how many models the server lists; raise the provider's error when it cannot."""
        models = await self.list_models(kind, preset, base_url, api_key, setting_id=setting_id, proxy=proxy)
        return len(models)

    async def detect_local_servers(self) -> list[LocalServer]:
        """Return the local servers that answer, probing all at once with a short timeout."""
        import httpx  # here, not at the top: most runs never probe (see the TYPE_CHECKING note)

        async def answers(client: httpx.AsyncClient, server: LocalServer) -> bool:
            try:
                response = await client.get(server.probe_url)
            except httpx.HTTPError as error:
                log.debug("%s is not running at %s: %s", server.name, server.base_url, error)
                return False
            return response.is_success

        # Loopback only: a proxy from the environment must not see (or delay) these probes.
        async with httpx.AsyncClient(timeout=self._probe_timeout, trust_env=False) as client:
            answered = await asyncio.gather(*(answers(client, s) for s in self._local_servers))
        return [server for server, ok in zip(self._local_servers, answered, strict=True) if ok]
