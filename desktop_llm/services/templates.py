"""Prompt templates as the UI sees them: the list, one template with its versions, edits, built-ins.

An async facade over ``TemplateRepository``: every call runs on the database thread. A version's
body is the JSON of ``PromptTemplate.to_dict()``; versions never change, so an edit is saved as
a new version and a restore is a new version holding an old body.

The templates that ship with Desktop LLM are copied into the database on first run, so they can
be edited and versioned like any other. Which stored template came from which shipped file is
remembered in the app setting ``templates.builtin`` (shipped key -> template id): a shipped
template is seeded once, a deleted one is not brought back, and one added in a later release is
seeded on the next start.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from desktop_llm.core.builtin_templates import load_builtin_templates
from desktop_llm.core.prompt_templates import PromptTemplate
from desktop_llm.storage.database import Database
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.records import TemplateRecord, TemplateVersion
from desktop_llm.storage.settings import SettingsRepository
from desktop_llm.storage.templates import TemplateRepository

__all__ = ["BUILTIN_SETTING", "LoadedTemplate", "TemplateService", "TemplateSummary", "matches"]

BUILTIN_SETTING = "templates.builtin"
SEED_NOTE = "Shipped with Desktop LLM"


@dataclass(frozen=True)
class TemplateSummary:
    """One template as the list shows it."""

    id: str
    name: str
    description: str
    default_version: int
    updated_at: str
    builtin: bool


@dataclass(frozen=True)
class LoadedTemplate:
    """A template with every version, oldest first."""

    record: TemplateRecord
    versions: tuple[TemplateVersion, ...]
    builtin: bool

    @property
    def id(self) -> str:
        """Return the template's id."""
        return self.record.id

    @property
    def latest(self) -> TemplateVersion:
        """Return the newest version."""
        return self.versions[-1]

    def version(self, number: int | None = None) -> TemplateVersion:
        """Return version ``number`` (None: the default version); KeyError if there is none."""
        wanted = self.record.default_version if number is None else number
        for version in self.versions:
            if version.number == wanted:
                return version
        raise KeyError(f"Template {self.record.name!r} has no version {wanted}.")

    def template(self, number: int | None = None) -> PromptTemplate:
        """Return version ``number`` (None: the default) as a ``PromptTemplate``.

        Raises ``TemplateFormatError`` when the stored body cannot be read (written by a newer
        Desktop LLM, say).
        """
        return PromptTemplate.from_dict(self.version(number).body)


def matches(query: str, name: str, description: str = "") -> bool:
    """Return whether every word of ``query`` occurs in the name or description, ignoring case."""
    haystack = f"{name}\n{description}".casefold()
    return all(word in haystack for word in query.casefold().split())


def _builtin_ids(db: Database) -> set[str]:
    seeded = SettingsRepository(db).get(BUILTIN_SETTING, {}) or {}
    return set(seeded.values())


def _summaries(db: Database) -> list[TemplateSummary]:
    builtin = _builtin_ids(db)
    return [
        TemplateSummary(r.id, r.name, r.description, r.default_version, r.updated_at, r.id in builtin)
        for r in TemplateRepository(db).list()
    ]


def _load(db: Database, template_id: str) -> LoadedTemplate:
    repository = TemplateRepository(db)
    record = repository.get(template_id)
    return LoadedTemplate(record, tuple(repository.versions(template_id)), template_id in _builtin_ids(db))


def _seed(db: Database, load: Callable[[], Mapping[str, PromptTemplate]]) -> builtins.list[str]:
    settings = SettingsRepository(db)
    repository = TemplateRepository(db)
    seeded: dict[str, str] = dict(settings.get(BUILTIN_SETTING, {}) or {})
    fresh = {key: template for key, template in load().items() if key not in seeded}
    if not fresh:
        return []
    with db.transaction():
        for key, template in fresh.items():
            record = repository.create(
                template.name, description=template.description, body=template.to_dict(), note=SEED_NOTE
            )
            seeded[key] = record.id
        settings.set(BUILTIN_SETTING, seeded)
    return [seeded[key] for key in fresh]


def _save_version(db: Database, template_id: str, template: PromptTemplate, note: str) -> TemplateVersion:
    repository = TemplateRepository(db)
    with db.transaction():
        record = repository.get(template_id)
        version = repository.add_version(template_id, template.to_dict(), note)
        # The list shows the record's name and description: keep them in step with the body.
        if template.name != record.name:
            repository.rename(template_id, template.name)
        if template.description != record.description:
            repository.set_description(template_id, template.description)
    return version


def _restore(db: Database, template_id: str, number: int) -> TemplateVersion:
    old = TemplateRepository(db).get_version(template_id, number)
    return _save_version(db, template_id, PromptTemplate.from_dict(old.body), f"Restored version {number}")


class TemplateService:
    """Async access to prompt templates for the UI.

    Args:
        db: the database thread that owns the connection.
        shipped: returns the templates that ship with the app, keyed by a stable name
            (reading them touches the disk, so it is called on the database thread).
    """

    def __init__(
        self,
        db: DatabaseThread,
        *,
        shipped: Callable[[], Mapping[str, PromptTemplate]] = load_builtin_templates,
    ) -> None:
        self._db = db
        self._shipped = shipped

    async def seed_builtins(self) -> builtins.list[str]:
        """Copy shipped templates not seeded before into the database; return the new ids."""
        return await self._db.call(_seed, self._shipped)

    async def list(self) -> builtins.list[TemplateSummary]:
        """Return every template, by name."""
        return await self._db.call(_summaries)

    async def load(self, template_id: str) -> LoadedTemplate:
        """Return a template with all its versions (NotFound if it was deleted)."""
        return await self._db.call(_load, template_id)

    async def create(self, template: PromptTemplate, note: str = "") -> LoadedTemplate:
        """Store a new template whose version 1 is ``template``."""

        def create(db: Database) -> LoadedTemplate:
            record = TemplateRepository(db).create(
                template.name, description=template.description, body=template.to_dict(), note=note
            )
            return _load(db, record.id)

        return await self._db.call(create)

    async def save_version(
        self, template_id: str, template: PromptTemplate, note: str = ""
    ) -> TemplateVersion:
        """Save ``template`` as the template's next version (the default version stays)."""
        return await self._db.call(_save_version, template_id, template, note)

    async def restore(self, template_id: str, number: int) -> TemplateVersion:
        """Save the body of version ``number`` again as the newest version."""
        return await self._db.call(_restore, template_id, number)

    async def set_default(self, template_id: str, number: int) -> None:
        """Make version ``number`` the one used by default."""
        await self._db.call(lambda db: TemplateRepository(db).set_default_version(template_id, number))

    async def delete(self, template_id: str) -> None:
        """Delete a template and all its versions."""
        await self._db.call(lambda db: TemplateRepository(db).delete(template_id))
