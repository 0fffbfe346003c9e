"""Compare replies side by side: one set of inputs through two template versions or two models.

``SideBySide`` streams one request per side, all at once, and reports every delta through a
callback (no Qt here: the UI passes plain callables). ``CompareService`` builds the requests
from a template's versions and the provider entries, runs them, keeps the comparison in the
``comparisons`` table, and records the person's pick, which can make the picked version the
template's default.

The kept payload (``comparisons.payload``)::

    {"template_id", "template_name", "values": {variable: value}, "temperature": float | null,
     "sides": [{"version", "provider_id", "model", "system", "user",            # what was asked
                "status": "complete" | "error" | "stopped", "text", "reasoning", "error",
                "finish_reason", "usage": [input, output, cached, reasoning] | null,
                "seconds"}, ...],
     "pick": side index | null, "made_default": bool}
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from desktop_llm.core.prompt_templates import PromptTemplate
from desktop_llm.providers import (
    ChatRequest,
    Finish,
    Message,
    ProviderError,
    ReasoningDelta,
    StreamEvent,
    StreamInterrupted,
    TextDelta,
    Usage,
)
from desktop_llm.services.templates import LoadedTemplate
from desktop_llm.storage.comparisons import ComparisonRecord, ComparisonRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.templates import TemplateRepository

__all__ = [
    "CompareChoice",
    "CompareService",
    "SideBySide",
    "SideOutcome",
    "comparison_kind",
]

Status = Literal["complete", "error", "stopped"]
DeltaCallback = Callable[[int, str, str], None]
FinishedCallback = Callable[[int, "SideOutcome"], None]


class StreamingProvider(Protocol):
    """What a side needs of a provider (every ``desktop_llm.providers`` provider has it)."""

    def stream(self, request: ChatRequest) -> AsyncGenerator[StreamEvent, None]:
        """Yield the reply's events."""
        ...


class ProviderSource(Protocol):
    """Hands out the provider for an entry id (``ProviderDirectory`` is one)."""

    async def provider(self, entry_id: str) -> Any:
        """Return the ready provider of ``entry_id``."""
        ...


@dataclass(frozen=True)
class SideOutcome:
    """How one side's reply ended; ``text`` is kept whatever the status."""

    status: Status
    text: str = ""
    reasoning: str = ""
    error: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    seconds: float = 0.0


class SideBySide:
    """Stream one request per side at the same time.

    Args:
        sides: a provider and the request to send it, per side.
        on_delta: called with (side index, text, reasoning) for every piece received.
        on_finished: called with (side index, outcome) as each side ends.
        clock: monotonic seconds, for each side's duration.
    """

    def __init__(
        self,
        sides: Sequence[tuple[StreamingProvider, ChatRequest]],
        *,
        on_delta: DeltaCallback,
        on_finished: FinishedCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sides = list(sides)
        self._on_delta = on_delta
        self._on_finished = on_finished
        self._clock = clock
        self._tasks: list[asyncio.Future[SideOutcome]] = []
        self._stopping = False

    @property
    def running(self) -> bool:
        """Return whether the sides are streaming."""
        return bool(self._tasks)

    async def run(self) -> list[SideOutcome]:
        """Stream every side at once and return their outcomes, in side order.

        ``stop()`` ends every side still streaming as "stopped", text kept. Cancelling the task
        that awaits ``run`` cancels every side and re-raises.
        """
        if self._tasks:
            raise RuntimeError("This comparison is already running.")
        self._stopping = False
        self._tasks = [
            asyncio.ensure_future(self._side(index, provider, request))
            for index, (provider, request) in enumerate(self.sides)
        ]
        try:
            return list(await asyncio.gather(*self._tasks))
        finally:
            self._tasks = []

    def stop(self) -> None:
        """End every side still streaming; each keeps its text as "stopped"."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()

    async def _side(self, index: int, provider: StreamingProvider, request: ChatRequest) -> SideOutcome:
        text: list[str] = []
        reasoning: list[str] = []
        usage: Usage | None = None
        finish: str | None = None
        status: Status
        error: str | None
        started = self._clock()
        try:
            async with aclosing(provider.stream(request)) as events:
                async for event in events:
                    if isinstance(event, TextDelta):
                        text.append(event.text)
                        self._on_delta(index, event.text, "")
                    elif isinstance(event, ReasoningDelta):
                        reasoning.append(event.text)
                        self._on_delta(index, "", event.text)
                    elif isinstance(event, Usage):
                        usage = event
                    elif isinstance(event, Finish):
                        finish = event.reason
            status, error = "complete", None
        except ProviderError as failure:
            # A stream cut after output began carries its text; keep what the person saw.
            if isinstance(failure, StreamInterrupted) and not text:
                text.append(failure.partial_text)
            status, error = "error", str(failure)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()  # stopped on purpose: this side ends normally
            status, error = "stopped", None
        outcome = SideOutcome(
            status,
            text="".join(text),
            reasoning="".join(reasoning),
            error=error,
            finish_reason=finish,
            usage=usage,
            seconds=self._clock() - started,
        )
        if self._on_finished is not None:
            self._on_finished(index, outcome)
        return outcome


@dataclass(frozen=True)
class CompareChoice:
    """One side of a comparison: which version of the template runs on which model."""

    version: int
    provider_id: str
    model: str
    provider_name: str = ""

    @property
    def label(self) -> str:
        """Return a short name for the side: "v2 · gpt-4o-mini"."""
        return f"v{self.version} · {self.model}"


def comparison_kind(choices: Sequence[CompareChoice]) -> str:
    """Return what differs between the sides: "versions", "models", "mixed" or "repeat"."""
    versions = len({choice.version for choice in choices}) > 1
    models = len({(choice.provider_id, choice.model) for choice in choices}) > 1
    if versions and models:
        return "mixed"
    if versions:
        return "versions"
    return "models" if models else "repeat"


def prompt_messages(template: PromptTemplate, values: Mapping[str, str]) -> list[Message]:
    """Render ``template`` with the values it uses (others ignored): the system and user messages."""
    used = set(template.variables)
    rendered = template.render({name: value for name, value in values.items() if name in used})
    messages = [Message("system", rendered.system)] if rendered.system else []
    messages.append(Message("user", rendered.user))
    return messages


@dataclass
class CompareRun:
    """A comparison in progress: what it asks, and (once done) its kept record."""

    loaded: LoadedTemplate
    choices: tuple[CompareChoice, ...]
    values: dict[str, str]
    temperature: float | None
    requests: list[ChatRequest] = field(default_factory=list)
    outcomes: list[SideOutcome] = field(default_factory=list)
    record: ComparisonRecord | None = None

    def payload(self) -> dict[str, Any]:
        """Return the JSON kept in the ``comparisons`` table (see the module docstring)."""
        sides = []
        for choice, request, outcome in zip(self.choices, self.requests, self.outcomes, strict=True):
            parts = {message.role: message.content for message in request.messages}
            usage = outcome.usage
            sides.append(
                {
                    "version": choice.version,
                    "provider_id": choice.provider_id,
                    "model": choice.model,
                    "system": parts.get("system", ""),
                    "user": parts.get("user", ""),
                    "status": outcome.status,
                    "text": outcome.text,
                    "reasoning": outcome.reasoning,
                    "error": outcome.error,
                    "finish_reason": outcome.finish_reason,
                    "usage": None
                    if usage is None
                    else [
                        usage.input_tokens,
                        usage.output_tokens,
                        usage.cached_input_tokens,
                        usage.reasoning_tokens,
                    ],
                    "seconds": round(outcome.seconds, 3),
                }
            )
        return {
            "template_id": self.loaded.id,
            "template_name": self.loaded.record.name,
            "values": dict(self.values),
            "temperature": self.temperature,
            "sides": sides,
            "pick": None,
            "made_default": False,
        }


def _pick(db: Database, comparison_id: str, side: int, make_default: bool) -> ComparisonRecord:
    repository = ComparisonRepository(db)
    with db.transaction():
        record = repository.get(comparison_id)
        payload = dict(record.payload)
        payload["pick"] = side
        payload["made_default"] = make_default
        if make_default:
            version = payload["sides"][side]["version"]
            TemplateRepository(db).set_default_version(payload["template_id"], version)
        return repository.update_payload(comparison_id, payload)


class CompareService:
    """Run comparisons of a template's versions or of models, and keep them.

    Args:
        db: the database thread.
        providers: hands out a provider per entry id (the ``ProviderDirectory``).
        clock: monotonic seconds, for each side's duration.
    """

    def __init__(
        self, db: DatabaseThread, providers: ProviderSource, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._providers = providers
        self._clock = clock
        self._running: SideBySide | None = None

    def plan(
        self,
        loaded: LoadedTemplate,
        choices: Sequence[CompareChoice],
        values: Mapping[str, str],
        *,
        temperature: float | None = None,
    ) -> CompareRun:
        """Render each side's request; raises ``PromptTemplateError`` if a value is missing or wrong."""
        run = CompareRun(loaded, tuple(choices), dict(values), temperature)
        for choice in run.choices:
            messages = prompt_messages(loaded.template(choice.version), run.values)
            run.requests.append(ChatRequest(choice.model, messages, temperature))
        return run

    async def run(
        self, run: CompareRun, *, on_delta: DeltaCallback, on_finished: FinishedCallback | None = None
    ) -> CompareRun:
        """Stream every side of ``run`` at once, then keep the comparison; return ``run`` filled in."""
        providers = [await self._providers.provider(choice.provider_id) for choice in run.choices]
        self._running = SideBySide(
            list(zip(providers, run.requests, strict=True)),
            on_delta=on_delta,
            on_finished=on_finished,
            clock=self._clock,
        )
        try:
            run.outcomes = await self._running.run()
        finally:
            self._running = None
        kind = comparison_kind(run.choices)
        payload = run.payload()
        run.record = await self._db.call(lambda db: ComparisonRepository(db).add(kind, payload))
        return run

    def stop(self) -> None:
        """Stop the comparison that is streaming; both sides keep their text."""
        if self._running is not None:
            self._running.stop()

    async def pick(self, comparison_id: str, side: int, *, make_default: bool = False) -> ComparisonRecord:
        """Record that ``side`` gave the better reply; optionally make its version the default."""
        return await self._db.call(_pick, comparison_id, side, make_default)
