"""Store provider entries (never a key) and app settings (JSON values by key)."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import replace
from typing import Any

from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import NotFound, StorageError
from desktop_llm.storage.records import ProviderSetting
from desktop_llm.storage.timeutil import new_id, now_timestamp

_COLUMNS = "id, kind, name, base_url, preset, default_model, key_env_var, extra"
# Field names that would hold a credential: those belong in the keyring, never in SQLite.
_SECRET_NAME = re.compile(
    r"(api[_-]?key|^key$|token|secret|password|authorization|credential)", re.IGNORECASE
)


def _setting_from_row(row: sqlite3.Row) -> ProviderSetting:
    return ProviderSetting(
        id=row["id"],
        kind=row["kind"],
        name=row["name"],
        base_url=row["base_url"],
        preset=row["preset"],
        default_model=row["default_model"],
        key_env_var=row["key_env_var"],
        extra=json.loads(row["extra"]),
    )


def _secret_fields(value: object, path: str = "extra") -> list[str]:
    if isinstance(value, dict):
        found = []
        for name, item in value.items():
            where = f"{path}.{name}"
            if _SECRET_NAME.search(str(name)) and item not in (None, "", False):
                found.append(where)
            found.extend(_secret_fields(item, where))
        return found
    if isinstance(value, list):
        return [hit for index, item in enumerate(value) for hit in _secret_fields(item, f"{path}[{index}]")]
    return []


class SettingsRepository:
    """Provider entries and app settings.

    Args:
        db: the open database; call only from the thread that owns it.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def list_providers(self) -> list[ProviderSetting]:
        """Return every stored provider entry, oldest first."""
        rows = self._db.conn.execute(f"SELECT {_COLUMNS} FROM provider_settings ORDER BY seq").fetchall()
        return [_setting_from_row(row) for row in rows]

    def get_provider(self, setting_id: str) -> ProviderSetting:
        """Return one provider entry; raise NotFound when there is none."""
        row = self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM provider_settings WHERE id = ?", (setting_id,)
        ).fetchone()
        if row is None:
            raise NotFound("provider setting", setting_id)
        return _setting_from_row(row)

    def save_provider(self, setting: ProviderSetting) -> ProviderSetting:
        """Insert or update a provider entry (an empty id gets a new one); return what was stored.

        Raises:
            StorageError: ``extra`` holds something that looks like a credential.
        """
        secrets = _secret_fields(setting.extra)
        if secrets:
            raise StorageError(
                f"Provider {setting.name!r}: {', '.join(secrets)} looks like a credential. "
                "API keys are kept in the system keyring, never in the database."
            )
        if not setting.id:
            setting = replace(setting, id=new_id())
        now = now_timestamp()
        with self._db.transaction() as conn:
            conn.execute(
                f"INSERT INTO provider_settings ({_COLUMNS}, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, "
                "base_url = excluded.base_url, preset = excluded.preset, "
                "default_model = excluded.default_model, key_env_var = excluded.key_env_var, "
                "extra = excluded.extra, updated_at = excluded.updated_at",
                (
                    setting.id,
                    setting.kind,
                    setting.name,
                    setting.base_url,
                    setting.preset,
                    setting.default_model,
                    setting.key_env_var,
                    json.dumps(setting.extra, ensure_ascii=False),
                    now,
                    now,
                ),
            )
        return setting

    def delete_provider(self, setting_id: str) -> None:
        """Delete a provider entry (its key in the keyring is the caller's to remove)."""
        with self._db.transaction() as conn:
            if conn.execute("DELETE FROM provider_settings WHERE id = ?", (setting_id,)).rowcount == 0:
                raise NotFound("provider setting", setting_id)

    def get(self, key: str, default: Any = None) -> Any:
        """Return the app setting ``key`` (a JSON value), or ``default`` when it was never set."""
        row = self._db.conn.execute("SELECT value FROM app_settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row["value"])

    def set(self, key: str, value: Any) -> None:
        """Store the app setting ``key``; ``value`` must be JSON-serialisable."""
        text = json.dumps(value, ensure_ascii=False)
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO app_settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, text),
            )

    def delete(self, key: str) -> None:
        """Forget the app setting ``key`` (a no-op when it was never set)."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM app_settings WHERE key = ?", (key,))
