"""Store MCP server entries (never a secret value) and the tools a person always allows."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from desktop_llm.core.mcp_config import is_secret_env
from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import NotFound, StorageError
from desktop_llm.storage.timeutil import new_id, now_timestamp

_COLUMNS = "id, name, transport, command, args, env, url, headers, secret_names, enabled"


@dataclass(frozen=True)
class McpServerRecord:
    """A stored MCP server: plain values only; ``secret_env``/``secret_headers`` name keyring values.

    Args:
        env, headers: values that are not secrets.
        secret_env, secret_headers: names whose values live in the keyring.
    """

    id: str
    name: str
    transport: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    secret_env: tuple[str, ...] = ()
    secret_headers: tuple[str, ...] = ()
    enabled: bool = True

    @property
    def has_secrets(self) -> bool:
        """Return whether starting it needs the keyring."""
        return bool(self.secret_env or self.secret_headers)


def _record(row: sqlite3.Row) -> McpServerRecord:
    secrets = json.loads(row["secret_names"])
    return McpServerRecord(
        id=row["id"],
        name=row["name"],
        transport=row["transport"],
        command=row["command"],
        args=tuple(json.loads(row["args"])),
        env=json.loads(row["env"]),
        url=row["url"],
        headers=json.loads(row["headers"]),
        secret_env=tuple(secrets.get("env", ())),
        secret_headers=tuple(secrets.get("headers", ())),
        enabled=bool(row["enabled"]),
    )


class McpServerRepository:
    """MCP server entries and their "always allow" approvals.

    Args:
        db: the open database; call only from the thread that owns it.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def list(self) -> list[McpServerRecord]:
        """Return every server, by name."""
        rows = self._db.conn.execute(f"SELECT {_COLUMNS} FROM mcp_servers ORDER BY name, seq").fetchall()
        return [_record(row) for row in rows]

    def get(self, name: str) -> McpServerRecord:
        """Return the server called ``name``; raise NotFound when there is none."""
        row = self._db.conn.execute(f"SELECT {_COLUMNS} FROM mcp_servers WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound("MCP server", name)
        return _record(row)

    def get_by_id(self, server_id: str) -> McpServerRecord:
        """Return the server with this id; raise NotFound when there is none."""
        row = self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM mcp_servers WHERE id = ?", (server_id,)
        ).fetchone()
        if row is None:
            raise NotFound("MCP server", server_id)
        return _record(row)

    def save(self, record: McpServerRecord) -> McpServerRecord:
        """Insert or update a server (an empty id adds one); return what was stored.

        Raises:
            StorageError: the name is taken by another server, or a plain value looks like a secret.
        """
        leaked = [name for name in record.env if is_secret_env(name)]
        if leaked or record.headers:
            raise StorageError(
                f"MCP server {record.name!r}: {', '.join(leaked or list(record.headers))} would be stored "
                "in the database; secrets belong in the system keyring."
            )
        if not record.id:
            record = replace(record, id=new_id())
        now = now_timestamp()
        secrets = {"env": list(record.secret_env), "headers": list(record.secret_headers)}
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    f"INSERT INTO mcp_servers ({_COLUMNS}, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, transport = excluded.transport, "
                    "command = excluded.command, args = excluded.args, env = excluded.env, "
                    "url = excluded.url, headers = excluded.headers, secret_names = excluded.secret_names, "
                    "enabled = excluded.enabled, updated_at = excluded.updated_at",
                    (
                        record.id,
                        record.name,
                        record.transport,
                        record.command,
                        json.dumps(list(record.args), ensure_ascii=False),
                        json.dumps(dict(record.env), ensure_ascii=False),
                        record.url,
                        json.dumps(dict(record.headers), ensure_ascii=False),
                        json.dumps(secrets, ensure_ascii=False),
                        int(record.enabled),
                        now,
                        now,
                    ),
                )
        except sqlite3.IntegrityError as error:
            if "mcp_servers.name" in str(error):
                raise StorageError(
                    f"There is already an MCP server called {record.name!r}; choose another name."
                ) from error
            raise
        return record

    def delete(self, server_id: str) -> None:
        """Delete a server and its approvals (its secrets in the keyring are the caller's to remove)."""
        with self._db.transaction() as conn:
            if conn.execute("DELETE FROM mcp_servers WHERE id = ?", (server_id,)).rowcount == 0:
                raise NotFound("MCP server", server_id)

    def approvals(self, server_id: str) -> builtins.list[str]:
        """Return the tools of a server that run without asking, by name."""
        rows = self._db.conn.execute(
            "SELECT tool FROM mcp_tool_approvals WHERE server_id = ? ORDER BY tool", (server_id,)
        ).fetchall()
        return [row["tool"] for row in rows]

    def approve(self, server_id: str, tool: str) -> None:
        """Let ``tool`` of the server run without asking from now on."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO mcp_tool_approvals (server_id, tool, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (server_id, tool) DO NOTHING",
                (server_id, tool, now_timestamp()),
            )

    def revoke(self, server_id: str, tool: str) -> None:
        """Ask again before ``tool`` of the server runs (a no-op when it was not allowed)."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM mcp_tool_approvals WHERE server_id = ? AND tool = ?", (server_id, tool))
