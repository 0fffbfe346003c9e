"""TemplateRepository: numbered immutable versions, default version, content hash, delete."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import NotFound
from desktop_llm.storage.templates import TemplateRepository, content_hash

BODY = {
    "system": "You translate.",
    "user": "Translate {text} into {language}.",
    "variables": {"language": {"choices": ["French", "日本語"]}},
}


@pytest.fixture
def templates(db: Database) -> TemplateRepository:
    return TemplateRepository(db)


def test_create_makes_version_one_the_default(templates: TemplateRepository) -> None:
    record = templates.create("Translate", description="Any language", body=BODY, note="first")
    assert (record.name, record.description, record.default_version) == ("Translate", "Any language", 1)
    assert templates.get(record.id) == record
    (version,) = templates.versions(record.id)
    assert (version.number, version.body, version.note) == (1, BODY, "first")
    assert templates.get_version(record.id, 1) == version


def test_versions_are_numbered_and_the_default_moves_only_when_asked(templates: TemplateRepository) -> None:
    record = templates.create("T", body={"user": "v1"})
    second = templates.add_version(record.id, {"user": "v2"}, note="shorter")
    third = templates.add_version(record.id, {"user": "v3"})
    assert [version.number for version in templates.versions(record.id)] == [1, 2, 3]
    assert (second.number, third.number) == (2, 3)
    assert templates.get(record.id).default_version == 1
    templates.set_default_version(record.id, 2)
    assert templates.get(record.id).default_version == 2
    with pytest.raises(NotFound):
        templates.set_default_version(record.id, 9)
    assert templates.get(record.id).default_version == 2


def test_versions_are_immutable(db: Database, templates: TemplateRepository) -> None:
    record = templates.create("T", body={"user": "v1"})
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        db.conn.execute("UPDATE template_versions SET body = '{}' WHERE template_id = ?", (record.id,))
    assert templates.get_version(record.id, 1).body == {"user": "v1"}


def test_content_hash_is_sha256_of_canonical_json(templates: TemplateRepository) -> None:
    record = templates.create("T", body=BODY)
    canonical = json.dumps(BODY, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = hashlib.sha256(canonical.encode()).hexdigest()
    assert (
        templates.get_version(record.id, 1).content_hash
        == expected
        == content_hash(dict(reversed(BODY.items())))
    )
    other = templates.add_version(record.id, {**BODY, "user": "changed"})
    assert other.content_hash != expected


def test_list_rename_delete(db: Database, templates: TemplateRepository) -> None:
    beta, alpha = templates.create("beta", body={}), templates.create("Alpha", body={})
    assert [record.name for record in templates.list()] == ["Alpha", "beta"]
    templates.rename(beta.id, "gamma")
    templates.set_description(beta.id, "third letter")
    assert (templates.get(beta.id).name, templates.get(beta.id).description) == ("gamma", "third letter")
    templates.delete(alpha.id)
    assert [record.name for record in templates.list()] == ["gamma"]
    assert (
        db.conn.execute(
            "SELECT count(*) FROM template_versions WHERE template_id = ?", (alpha.id,)
        ).fetchone()[0]
        == 0
    )


def test_missing_templates_raise_not_found(templates: TemplateRepository) -> None:
    for call in (
        lambda: templates.get("x"),
        lambda: templates.rename("x", "y"),
        lambda: templates.delete("x"),
        lambda: templates.add_version("x", {}),
        lambda: templates.versions("x"),
        lambda: templates.get_version("x", 1),
    ):
        with pytest.raises(NotFound):
            call()
