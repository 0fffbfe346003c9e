"""Keep MCP server entries: plain values in SQLite, secret values in the keyring, approvals per tool.

Keyring entries: service ``desktop-llm``, user name ``mcp-server:<server id>``, value a JSON
object ``{"env": {NAME: value}, "headers": {Name: value}}`` holding that server's secrets (see
``desktop_llm.core.mcp_config`` for what counts as one). One entry per server: one keyring
round trip (and at most one unlock prompt) to start it. Database work runs on the
``DatabaseThread``, keyring work through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

from desktop_llm.core.mcp_config import (
    McpConfigError,
    McpServerConfig,
    parse_claude_desktop,
    split_secrets,
    validate,
)
from desktop_llm.secrets import KeyStore, SecretsError
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.mcp_servers import McpServerRecord, McpServerRepository
from desktop_llm.storage.timeutil import new_id

KEYRING_PREFIX = "mcp-server:"


def keyring_user(server_id: str) -> str:
    """Return the keyring user name that holds a server's secrets."""
    return KEYRING_PREFIX + server_id


def secret_values(user: str, stored: str | None) -> list[str]:
    """Return the secret values inside a keyring entry of ours, for a log redactor.

    A server's entry (``mcp-server:<id>``) holds several values in JSON; a provider's entry is
    the key itself.
    """
    if stored is None:
        return []
    if not user.startswith(KEYRING_PREFIX):
        return [stored]
    try:
        secrets = json.loads(stored)
    except json.JSONDecodeError:
        return [stored]
    if not isinstance(secrets, dict):
        return [stored]
    return [str(value) for group in secrets.values() if isinstance(group, dict) for value in group.values()]


@dataclass(frozen=True)
class ImportSummary:
    """What an import of Claude Desktop's file did."""

    added: tuple[str, ...]
    skipped: tuple[str, ...]


class McpConfigService:
    """Read and change MCP server entries and approvals.

    Args:
        db: the database thread.
        keystore: where secret values live.
        require_keyring: refuse to take secrets when the keyring would keep them only in memory
            (the command line: its process ends at once, so they would be lost silently).
    """

    def __init__(self, db: DatabaseThread, keystore: KeyStore, *, require_keyring: bool = False) -> None:
        self._db = db
        self._keystore = keystore
        self._require_keyring = require_keyring

    async def records(self) -> list[McpServerRecord]:
        """Return every stored server, by name (no secret values)."""
        return await self._db.call(lambda db: McpServerRepository(db).list())

    async def record(self, name: str) -> McpServerRecord:
        """Return the stored server called ``name``; raise NotFound when there is none."""
        return await self._db.call(lambda db: McpServerRepository(db).get(name))

    async def config(self, record: McpServerRecord) -> McpServerConfig:
        """Join a stored server with its secrets from the keyring (read only when it has some).

        Raises:
            SecretsError: the keyring failed, or lost the values (the message names the server).
        """
        secrets: dict[str, dict[str, str]] = {"env": {}, "headers": {}}
        if record.has_secrets:
            text = await asyncio.to_thread(self._keystore.get, keyring_user(record.id))
            if text is None:
                names = ", ".join((*record.secret_env, *record.secret_headers))
                raise SecretsError(
                    f"MCP server {record.name!r}: the values of {names} are not in the keyring any more "
                    "(or were kept only until the app last quit); enter them again in Settings → Tools."
                )
            try:
                secrets = json.loads(text)
            except json.JSONDecodeError as error:
                raise SecretsError(
                    f"MCP server {record.name!r}: its keyring entry is damaged; enter its secrets again "
                    "in Settings → Tools."
                ) from error
        return McpServerConfig(
            name=record.name,
            transport="stdio" if record.transport == "stdio" else "http",
            command=record.command,
            args=record.args,
            env={**record.env, **secrets.get("env", {})},
            url=record.url,
            headers={**record.headers, **secrets.get("headers", {})},
            enabled=record.enabled,
            id=record.id,
        )

    async def configs(self) -> list[McpServerConfig]:
        """Return every stored server with its secrets."""
        return [await self.config(record) for record in await self.records()]

    async def save(self, config: McpServerConfig, *, keep: Collection[str] = ()) -> McpServerRecord:
        """Validate and store a server, its secrets in the keyring; return the stored entry.

        Args:
            keep: names of env variables or headers given empty whose stored secret value stays
                (the settings form never shows secret values).

        Raises:
            McpConfigError: the entry cannot work.
            SecretsError: the keyring refused the secrets (nothing stored), or there is no keyring
                and ``require_keyring`` is set.
            StorageError: the name is taken.
        """
        config = validate(config)
        if keep and config.id:
            config = await self._with_kept_secrets(config, keep)
        server_id = config.id or new_id()
        plain_env, plain_headers, secrets = split_secrets(config)
        has_secrets = bool(secrets["env"] or secrets["headers"])
        if has_secrets and self._require_keyring and not self._keystore.status.available:
            raise SecretsError(
                f"MCP server {config.name!r}: {', '.join([*secrets['env'], *secrets['headers']])} must be "
                f"kept in a system keyring, and there is none (backend: {self._keystore.status.backend}). "
                "Install and unlock one (GNOME Keyring or KWallet on Linux), then try again."
            )
        record = McpServerRecord(
            id=server_id,
            name=config.name,
            transport=config.transport,
            command=config.command,
            args=tuple(config.args),
            env=plain_env,
            url=config.url,
            headers=plain_headers,
            secret_env=tuple(secrets["env"]),
            secret_headers=tuple(secrets["headers"]),
            enabled=config.enabled,
        )
        user = keyring_user(server_id)
        if has_secrets:
            text = json.dumps(secrets, ensure_ascii=False)
            # The secrets first: if the keyring refuses them, no entry without them is left behind.
            await asyncio.to_thread(lambda: self._keystore.set(user, text))
        stored = await self._db.call(lambda db: McpServerRepository(db).save(record))
        if not has_secrets and config.id:
            await asyncio.to_thread(self._keystore.delete, user)  # the edit removed the last secret
        return stored

    async def _with_kept_secrets(self, config: McpServerConfig, keep: Collection[str]) -> McpServerConfig:
        stored = await self.config(
            await self._db.call(lambda db: McpServerRepository(db).get_by_id(config.id))
        )
        env = {k: stored.env.get(k, v) if k in keep and v == "" else v for k, v in config.env.items()}
        headers = {
            k: stored.headers.get(k, v) if k in keep and v == "" else v for k, v in config.headers.items()
        }
        return dataclasses.replace(config, env=env, headers=headers)

    async def set_enabled(self, name: str, enabled: bool) -> McpServerRecord:
        """Turn a server on or off (its secrets stay where they are)."""
        record = await self.record(name)
        return await self._db.call(lambda db: McpServerRepository(db).save(replace(record, enabled=enabled)))

    async def remove(self, name: str) -> McpServerRecord:
        """Delete a server, its approvals and its secrets; return what was removed."""
        record = await self.record(name)
        await self._db.call(lambda db: McpServerRepository(db).delete(record.id))
        if record.has_secrets:
            await asyncio.to_thread(self._keystore.delete, keyring_user(record.id))
        return record

    async def import_claude_desktop(self, path: Path) -> ImportSummary:
        """Add the servers of Claude Desktop's ``claude_desktop_config.json``, skipping names present.

        Raises:
            McpConfigError: the file is not Claude Desktop's, or an entry cannot work; nothing added.
            OSError: the file cannot be read.
        """
        text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
        configs = parse_claude_desktop(text, source=str(path))
        present = {record.name for record in await self.records()}
        added, skipped = [], []
        for config in configs:
            if config.name in present:
                skipped.append(config.name)
                continue
            await self.save(config)
            present.add(config.name)
            added.append(config.name)
        return ImportSummary(tuple(added), tuple(skipped))

    # -- approvals ---------------------------------------------------------------------------

    async def approvals(self, server_id: str) -> list[str]:
        """Return the tools of a server that run without asking."""
        return await self._db.call(lambda db: McpServerRepository(db).approvals(server_id))

    async def always_allow(self, server_id: str, tool: str) -> None:
        """Let a tool run without asking from now on."""
        await self._db.call(lambda db: McpServerRepository(db).approve(server_id, tool))

    async def revoke(self, server_id: str, tool: str) -> None:
        """Ask again before a tool runs."""
        await self._db.call(lambda db: McpServerRepository(db).revoke(server_id, tool))


__all__ = ["ImportSummary", "McpConfigError", "McpConfigService", "keyring_user", "secret_values"]
