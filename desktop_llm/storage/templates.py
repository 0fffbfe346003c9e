"""Store prompt templates with numbered, immutable versions of a JSON body (the templates feature)."""

from __future__ import annotations

import builtins
import hashlib
import json
import sqlite3
from typing import Any

from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import NotFound
from desktop_llm.storage.records import TemplateRecord, TemplateVersion
from desktop_llm.storage.timeutil import new_id, now_timestamp

_TEMPLATE_COLUMNS = "id, name, description, default_version, created_at, updated_at"
_VERSION_COLUMNS = "template_id, number, body, note, content_hash, created_at"


def canonical_json(body: dict[str, Any]) -> str:
    """Return ``body`` as canonical JSON: sorted keys, no spaces, UTF-8 text kept as is."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(body: dict[str, Any]) -> str:
    """Return the sha256 (hex) of the body's canonical JSON."""
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _record(row: sqlite3.Row) -> TemplateRecord:
    return TemplateRecord(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        default_version=row["default_version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _version(row: sqlite3.Row) -> TemplateVersion:
    return TemplateVersion(
        template_id=row["template_id"],
        number=row["number"],
        body=json.loads(row["body"]),
        note=row["note"],
        content_hash=row["content_hash"],
        created_at=row["created_at"],
    )


class TemplateRepository:
    """Templates and their versions. Versions are numbered 1, 2, 3... and never change.

    Args:
        db: the open database; call only from the thread that owns it.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self, name: str, *, description: str = "", body: dict[str, Any], note: str = ""
    ) -> TemplateRecord:
        """Create a template whose version 1, made from ``body``, is the default."""
        now = now_timestamp()
        record = TemplateRecord(
            id=new_id(), name=name, description=description, default_version=1, created_at=now, updated_at=now
        )
        with self._db.transaction():
            self.insert(record)
            self.add_version(record.id, body, note)
        return self.get(record.id)

    def insert(self, record: TemplateRecord) -> TemplateRecord:
        """Store ``record`` exactly as given, without versions (for import)."""
        with self._db.transaction() as conn:
            conn.execute(
                f"INSERT INTO templates ({_TEMPLATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.name,
                    record.description,
                    record.default_version,
                    record.created_at,
                    record.updated_at,
                ),
            )
        return record

    def list(self) -> builtins.list[TemplateRecord]:
        """Return every template, by name."""
        rows = self._db.conn.execute(
            f"SELECT {_TEMPLATE_COLUMNS} FROM templates ORDER BY name COLLATE NOCASE, seq"
        ).fetchall()
        return [_record(row) for row in rows]

    def get(self, template_id: str) -> TemplateRecord:
        """Return one template; raise NotFound when there is none."""
        row = self._db.conn.execute(
            f"SELECT {_TEMPLATE_COLUMNS} FROM templates WHERE id = ?", (template_id,)
        ).fetchone()
        if row is None:
            raise NotFound("template", template_id)
        return _record(row)

    def rename(self, template_id: str, name: str) -> None:
        """Rename a template."""
        self._update(template_id, "name = ?", name)

    def set_description(self, template_id: str, description: str) -> None:
        """Change a template's description."""
        self._update(template_id, "description = ?", description)

    def delete(self, template_id: str) -> None:
        """Delete a template and all its versions."""
        with self._db.transaction() as conn:
            if conn.execute("DELETE FROM templates WHERE id = ?", (template_id,)).rowcount == 0:
                raise NotFound("template", template_id)

    def add_version(self, template_id: str, body: dict[str, Any], note: str = "") -> TemplateVersion:
        """Add the next numbered version of ``body`` (the default version does not change)."""
        with self._db.transaction() as conn:
            self.get(template_id)
            number = conn.execute(
                "SELECT coalesce(max(number), 0) + 1 FROM template_versions WHERE template_id = ?",
                (template_id,),
            ).fetchone()[0]
            version = TemplateVersion(
                template_id=template_id,
                number=number,
                body=json.loads(canonical_json(body)),  # stored and returned alike
                note=note,
                content_hash=content_hash(body),
                created_at=now_timestamp(),
            )
            self.insert_version(version)
            conn.execute(
                "UPDATE templates SET updated_at = ? WHERE id = ?", (version.created_at, template_id)
            )
        return version

    def insert_version(self, version: TemplateVersion) -> TemplateVersion:
        """Store ``version`` exactly as given (for import)."""
        with self._db.transaction() as conn:
            conn.execute(
                f"INSERT INTO template_versions ({_VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    version.template_id,
                    version.number,
                    canonical_json(version.body),
                    version.note,
                    version.content_hash,
                    version.created_at,
                ),
            )
        return version

    def versions(self, template_id: str) -> builtins.list[TemplateVersion]:
        """Return every version of a template, oldest (1) first."""
        self.get(template_id)
        rows = self._db.conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM template_versions WHERE template_id = ? ORDER BY number",
            (template_id,),
        ).fetchall()
        return [_version(row) for row in rows]

    def get_version(self, template_id: str, number: int) -> TemplateVersion:
        """Return one version; raise NotFound when there is none."""
        row = self._db.conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM template_versions WHERE template_id = ? AND number = ?",
            (template_id, number),
        ).fetchone()
        if row is None:
            raise NotFound(f"version of template {template_id!r}", number)
        return _version(row)

    def set_default_version(self, template_id: str, number: int) -> None:
        """Make version ``number`` the one used by default."""
        with self._db.transaction():
            self.get_version(template_id, number)
            self._update(template_id, "default_version = ?", number)

    def _update(self, template_id: str, assignment: str, value: object) -> None:
        # ``assignment`` is always one of this module's literals, never user input.
        with self._db.transaction() as conn:
            cursor = conn.execute(
                f"UPDATE templates SET {assignment}, updated_at = ? WHERE id = ?",
                (value, now_timestamp(), template_id),
            )
            if cursor.rowcount == 0:
                raise NotFound("template", template_id)
