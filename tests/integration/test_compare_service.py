"""Side-by-side comparisons against the fake provider server: both replies stream at once, are kept,
and the pick can make a version the template's default."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import keyring.backends.null
import pytest
from fakes.provider_server import ProviderServer, Reply

from desktop_llm.core.prompt_templates import PromptTemplate, PromptTemplateError, VariableSpec
from desktop_llm.providers import RetryPolicy
from desktop_llm.secrets import KeyStore
from desktop_llm.services.compare import CompareChoice, CompareService, SideOutcome, comparison_kind
from desktop_llm.services.provider_directory import ProviderDirectory
from desktop_llm.services.templates import LoadedTemplate, TemplateService
from desktop_llm.storage.comparisons import ComparisonRepository
from desktop_llm.storage.executor import DatabaseThread

ENTRY = "env:openai"
V1 = PromptTemplate(name="Summary", user="Summarise: {text}")
V2 = PromptTemplate(
    name="Summary",
    system="Answer in {style}.",
    user="Summarise briefly: {text}",
    specs=(VariableSpec("style", default="one sentence", trusted=True),),
)


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as running:
        yield running


@asynccontextmanager
async def opened(
    tmp_path: Path, server: ProviderServer
) -> AsyncIterator[tuple[DatabaseThread, CompareService]]:
    """A database and a compare service whose one provider entry is the fake server."""
    db = DatabaseThread(tmp_path / "compare.sqlite3")
    directory = ProviderDirectory(
        db,
        KeyStore(keyring.backends.null.Keyring()),
        environ={"OPENAI_API_KEY": "sk-compare", "OPENAI_BASE_URL": server.url_for("openai")},
        retry=RetryPolicy(max_retries=0),
    )
    try:
        yield db, CompareService(db, directory)
    finally:
        await directory.aclose()
        await db.aclose()


async def two_versions(db: DatabaseThread) -> LoadedTemplate:
    templates = TemplateService(db, shipped=dict)
    loaded = await templates.create(V1)
    await templates.save_version(loaded.id, V2)
    return await templates.load(loaded.id)


def test_the_kind_says_what_differs() -> None:
    a = CompareChoice(1, "p", "m")
    assert comparison_kind([a, CompareChoice(2, "p", "m")]) == "versions"
    assert comparison_kind([a, CompareChoice(1, "p", "n")]) == "models"
    assert comparison_kind([a, CompareChoice(1, "q", "m")]) == "models"
    assert comparison_kind([a, CompareChoice(2, "p", "n")]) == "mixed"
    assert comparison_kind([a, a]) == "repeat"


async def test_two_versions_stream_at_once_are_kept_and_the_pick_becomes_default(server, tmp_path) -> None:
    async with opened(tmp_path, server) as (db, compare):
        loaded = await two_versions(db)
        server.push(*(Reply(text="one two three four five six", delay=0.03) for _ in range(2)))
        deltas: list[tuple[int, str]] = []
        finished: list[int] = []
        run = compare.plan(
            loaded,
            [CompareChoice(1, ENTRY, "model-a"), CompareChoice(2, ENTRY, "model-a")],
            {"text": "the report"},
        )

        await compare.run(
            run,
            on_delta=lambda side, text, _r: deltas.append((side, text)),
            on_finished=lambda s, _o: finished.append(s),
        )

        sides_in_order = [side for side, _ in deltas]
        first_finished_at = max(i for i, side in enumerate(sides_in_order) if side == finished[0])
        assert set(sides_in_order[:first_finished_at]) == {0, 1}, "both sides streamed at the same time"
        assert [o.text for o in run.outcomes] == ["one two three four five six"] * 2
        asked = sorted(request.json["messages"][-1]["content"] for request in server.chat_requests)
        assert asked == ["Summarise briefly: the report", "Summarise: the report"]
        system = [r.json["messages"][0] for r in server.chat_requests if len(r.json["messages"]) == 2]
        assert system == [{"role": "system", "content": "Answer in one sentence."}]

        assert run.record is not None and run.record.kind == "versions"
        kept = db.call_blocking(lambda d: ComparisonRepository(d).get(run.record.id))
        assert kept.payload["pick"] is None
        assert [s["version"] for s in kept.payload["sides"]] == [1, 2]
        assert kept.payload["values"] == {"text": "the report"}
        assert kept.payload["sides"][1]["system"] == "Answer in one sentence."
        assert kept.payload["sides"][0]["usage"] is not None

        await compare.pick(run.record.id, 0, make_default=False)
        assert (await TemplateService(db).load(loaded.id)).record.default_version == 1
        picked = await compare.pick(run.record.id, 1, make_default=True)
        assert (picked.payload["pick"], picked.payload["made_default"]) == (1, True)
        assert (await TemplateService(db).load(loaded.id)).record.default_version == 2


async def test_one_side_failing_leaves_the_other_to_finish(server, tmp_path) -> None:
    async with opened(tmp_path, server) as (db, compare):
        loaded = await two_versions(db)
        run = compare.plan(
            loaded, [CompareChoice(2, ENTRY, "model-a"), CompareChoice(2, ENTRY, "model-b")], {"text": "x"}
        )
        server.push(Reply(status=400, error_message="no such model"), Reply(text="fine"))

        await compare.run(run, on_delta=lambda *_: None)

        statuses = sorted((o.status, o.text) for o in run.outcomes)
        assert statuses == [("complete", "fine"), ("error", "")]
        failed = next(o for o in run.outcomes if o.status == "error")
        assert "no such model" in (failed.error or "")
        assert run.record is not None and run.record.kind == "models"


async def test_stop_keeps_both_partial_replies_as_stopped(server, tmp_path) -> None:
    async with opened(tmp_path, server) as (db, compare):
        loaded = await two_versions(db)
        server.push(*(Reply(text=" ".join(f"w{i}" for i in range(200)), delay=0.02) for _ in range(2)))
        run = compare.plan(
            loaded, [CompareChoice(1, ENTRY, "m"), CompareChoice(2, ENTRY, "m")], {"text": "x"}
        )
        seen: dict[int, int] = {0: 0, 1: 0}

        def on_delta(side: int, text: str, _reasoning: str) -> None:
            seen[side] += 1
            if min(seen.values()) >= 3:
                compare.stop()

        await compare.run(run, on_delta=on_delta)

        assert [o.status for o in run.outcomes] == ["stopped", "stopped"]
        assert all(o.text.startswith("w0 w1 w2") and len(o.text) < 200 * 3 for o in run.outcomes)
        assert isinstance(run.outcomes[0], SideOutcome)
        assert run.record is not None
        assert [s["status"] for s in run.record.payload["sides"]] == ["stopped", "stopped"]


async def test_a_missing_value_is_reported_before_anything_is_sent(server, tmp_path) -> None:
    async with opened(tmp_path, server) as (db, compare):
        loaded = await two_versions(db)
        with pytest.raises(PromptTemplateError, match="text"):
            compare.plan(loaded, [CompareChoice(1, ENTRY, "m"), CompareChoice(2, ENTRY, "m")], {})
        assert server.chat_requests == []
