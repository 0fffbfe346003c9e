"""The templates service over a real SQLite file: built-in seeding, versions, restore, default, search.

Also the comparisons repository the compare view keeps its results in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_llm.core.builtin_templates import load_builtin_templates
from desktop_llm.core.prompt_templates import PromptTemplate, TemplateFormatError, VariableSpec
from desktop_llm.services.templates import BUILTIN_SETTING, TemplateService, matches
from desktop_llm.storage.comparisons import ComparisonRepository
from desktop_llm.storage.errors import NotFound
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.settings import SettingsRepository
from desktop_llm.storage.templates import TemplateRepository

GREETING = PromptTemplate(
    name="Greeting",
    description="Say hello",
    system="You are {persona}.",
    user="Greet {who}.",
    specs=(VariableSpec("persona", default="kind"),),
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[DatabaseThread]:
    thread = DatabaseThread(tmp_path / "templates.sqlite3")
    yield thread
    thread.close()


async def test_the_shipped_templates_are_seeded_once_and_marked_builtin(db: DatabaseThread) -> None:
    service = TemplateService(db)
    shipped = load_builtin_templates()

    created = await service.seed_builtins()

    assert len(created) == len(shipped) > 0
    listed = await service.list()
    assert sorted(s.name for s in listed) == sorted(t.name for t in shipped.values())
    assert all(s.builtin for s in listed)
    assert await service.seed_builtins() == []  # a second start adds nothing
    assert len(await service.list()) == len(shipped)
    translate = next(s for s in listed if s.name == shipped["translate"].name)
    loaded = await service.load(translate.id)
    assert loaded.builtin
    assert loaded.template() == shipped["translate"]
    assert loaded.latest.note == "Shipped with Desktop LLM"


async def test_a_deleted_builtin_stays_deleted_and_a_new_shipped_one_is_added(db: DatabaseThread) -> None:
    shipped = {"greeting": GREETING}
    service = TemplateService(db, shipped=lambda: shipped)
    [greeting_id] = await service.seed_builtins()
    await service.delete(greeting_id)

    shipped["farewell"] = PromptTemplate(name="Farewell", user="Say goodbye to {who}.")
    created = await service.seed_builtins()

    assert [s.name for s in await service.list()] == ["Farewell"]
    assert len(created) == 1
    mapping = db.call_blocking(lambda d: SettingsRepository(d).get(BUILTIN_SETTING))
    assert set(mapping) == {"greeting", "farewell"}


async def test_templates_written_by_the_person_are_not_builtin(db: DatabaseThread) -> None:
    service = TemplateService(db, shipped=dict)
    loaded = await service.create(GREETING, note="first draft")

    assert not loaded.builtin
    assert [(v.number, v.note) for v in loaded.versions] == [(1, "first draft")]
    assert loaded.template() == GREETING
    assert [(s.name, s.builtin) for s in await service.list()] == [("Greeting", False)]


async def test_saving_versions_restoring_and_choosing_the_default(db: DatabaseThread) -> None:
    service = TemplateService(db, shipped=dict)
    loaded = await service.create(GREETING)
    edited = PromptTemplate(name="Warm greeting", description="Say hello warmly", user="Warmly greet {who}.")

    second = await service.save_version(loaded.id, edited, "warmer")
    restored = await service.restore(loaded.id, 1)
    await service.set_default(loaded.id, 2)

    again = await service.load(loaded.id)
    assert [(v.number, v.note) for v in again.versions] == [(1, ""), (2, "warmer"), (3, "Restored version 1")]
    assert second.number == 2
    assert restored.body == again.version(1).body
    assert restored.content_hash == again.version(1).content_hash
    assert again.record.default_version == 2
    assert again.template() == edited  # the default version
    assert again.template(3) == GREETING
    # The list shows the name and description of the newest save.
    assert again.record.name == "Greeting"  # restoring version 1 brought its name back
    assert [s.description for s in await service.list()] == ["Say hello"]


async def test_saving_a_version_renames_the_template(db: DatabaseThread) -> None:
    service = TemplateService(db, shipped=dict)
    loaded = await service.create(GREETING)

    await service.save_version(loaded.id, PromptTemplate(name="Hello", user="Hi {who}."))

    [summary] = await service.list()
    assert (summary.name, summary.description, summary.default_version) == ("Hello", "", 1)


async def test_unknown_template_and_version_are_reported(db: DatabaseThread) -> None:
    service = TemplateService(db, shipped=dict)
    loaded = await service.create(GREETING)

    with pytest.raises(NotFound):
        await service.load("no-such-id")
    with pytest.raises(NotFound):
        await service.set_default(loaded.id, 9)
    with pytest.raises(KeyError, match="no version 9"):
        loaded.version(9)


async def test_a_body_from_a_newer_app_says_so_when_opened(db: DatabaseThread) -> None:
    service = TemplateService(db, shipped=dict)
    loaded = await service.create(GREETING)
    await service.save_version(loaded.id, GREETING)
    future = {**GREETING.to_dict(), "schema": 99}
    db.call_blocking(lambda d: TemplateRepository(d).add_version(loaded.id, future))

    newest = await service.load(loaded.id)
    with pytest.raises(TemplateFormatError, match="newer Desktop LLM"):
        newest.template(3)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", True),
        ("trans", True),
        ("TRANSLATE french", True),
        ("language", True),  # in the description
        ("spanish", False),
        ("translate spanish", False),
    ],
)
def test_search_matches_every_word_in_name_or_description(query: str, expected: bool) -> None:
    assert matches(query, "Translate to French", "Any language in, French out.") is expected


def test_comparisons_are_kept_updated_listed_and_deleted(db: DatabaseThread) -> None:
    def work(d):
        repository = ComparisonRepository(d)
        first = repository.add("versions", {"pick": None, "sides": [1, 2]})
        second = repository.add("models", {"pick": None})
        updated = repository.update_payload(first.id, {"pick": 1, "sides": [1, 2]})
        listed = [r.id for r in repository.list()]
        versions_only = [r.id for r in repository.list(kind="versions")]
        repository.delete(second.id)
        return first, second, updated, listed, versions_only, [r.id for r in repository.list()]

    first, second, updated, listed, versions_only, after = db.call_blocking(work)

    assert updated.payload == {"pick": 1, "sides": [1, 2]}
    assert updated.created_at == first.created_at
    assert listed == [second.id, first.id]  # newest first
    assert versions_only == [first.id]
    assert after == [first.id]
    with pytest.raises(NotFound):
        db.call_blocking(lambda d: ComparisonRepository(d).get(second.id))
    with pytest.raises(NotFound):
        db.call_blocking(lambda d: ComparisonRepository(d).update_payload(second.id, {}))
