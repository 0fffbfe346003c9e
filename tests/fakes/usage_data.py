"""Replies with reported usage across days, models and providers, for the usage dashboard's tests.

``populate_usage`` writes them through the real repositories (``MessageRepository.insert`` keeps
the given timestamps, as an import does). ``write_catalog`` writes a model catalog whose round
prices make every expected cost easy to check by hand. With the clock at ``NOW`` and days in UTC:

| day        | provider (setting)        | model | in        | cached | out       | cost   |
|------------|---------------------------|-------|-----------|--------|-----------|--------|
| 2026-11-27 | OpenAI (stored, "openai") | alpha | 100,000   | 50,000 | 10,000    | $0.25  |
| 2026-11-27 | OpenAI (stored, "openai") | alpha | 200,000   | 0      | 20,000    | $0.60  |
| 2026-11-27 | env:anthropic             | beta  | 40,000    | 0      | 8,000     | $0.08  |
| 2026-11-25 | Groq (compatible, "groq") | gamma | 1,000,000 | 0      | 1,000,000 | $1.00  |
| 2026-11-10 | a deleted setting         | alpha | 1,000     | 0      | 1,000     | —      |
| 2026-09-01 | OpenAI (stored, "openai") | alpha | 1,000,000 | 0      | 0         | $2.00  |

Plus rows that must not count: a user message, a reply without usage, a failed reply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.records import ProviderSetting, StoredMessage
from desktop_llm.storage.settings import SettingsRepository
from desktop_llm.storage.timeutil import new_id

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CATALOG = {
    "models": [
        {
            "id": "alpha",
            "provider": "openai",
            "context_window": 128000,
            "max_output": 16000,
            "price": {"input": 2, "output": 10, "cached_input": 1},
        },
        {
            "id": "beta",
            "provider": "anthropic",
            "context_window": 200000,
            "max_output": 32000,
            "price": {"input": 1, "output": 5},
        },
        {
            "id": "gamma",
            "provider": "groq",
            "context_window": 131072,
            "max_output": 32768,
            "price": {"input": 0.5, "output": 0.5},
        },
    ]
}


@dataclass(frozen=True)
class UsageSample:
    """Ids of what ``populate_usage`` wrote."""

    openai_id: str
    groq_id: str
    main_conversation: str  # the two OpenAI replies of 2026-11-27 and the Anthropic one
    other_conversation: str
    first_reply: str  # 2026-11-27 09:00, $0.25


def write_catalog(path: Path) -> Path:
    """Write the sample catalog (merged over the shipped one by ``load_catalog``) and return its path."""
    path.write_text(json.dumps(CATALOG), encoding="utf-8")
    return path


def _message(
    conversation_id: str, parent_id: str | None, role: str, when: str, **fields: object
) -> StoredMessage:
    values: dict[str, object] = {
        "id": new_id(),
        "conversation_id": conversation_id,
        "parent_id": parent_id,
        "role": role,
        "content": f"{role} at {when}",
        "reasoning": "",
        "status": "complete",
        "error": None,
        "provider_id": None,
        "model": None,
        "finish_reason": "stop" if role == "assistant" else None,
        "input_tokens": None,
        "output_tokens": None,
        "cached_input_tokens": None,
        "reasoning_tokens": None,
        "latency_ms": None,
        "created_at": when,
        "pinned": False,
    }
    values.update(fields)
    return StoredMessage(**values)  # type: ignore[arg-type]


def populate_usage(db: Database) -> UsageSample:
    """Write the table above (and the rows that must not count) into ``db``."""
    settings = SettingsRepository(db)
    openai = settings.save_provider(ProviderSetting(id="", kind="openai", name="Work OpenAI"))
    groq = settings.save_provider(
        ProviderSetting(id="", kind="openai-compatible", name="Groq", preset="groq")
    )
    conversations = ConversationRepository(db)
    main = conversations.create("Usage sample", provider_id=openai.id, model="alpha")
    other = conversations.create("Other sample", provider_id=groq.id, model="gamma")
    messages = MessageRepository(db)

    replies = [
        (main.id, "2026-11-27T09:00:00.000Z", openai.id, "alpha", (100_000, 10_000, 50_000, 2_000)),
        (main.id, "2026-11-27T10:00:00.000Z", openai.id, "alpha", (200_000, 20_000, 0, 0)),
        (main.id, "2026-11-27T11:00:00.000Z", "env:anthropic", "beta", (40_000, 8_000, 0, 0)),
        (other.id, "2026-11-25T08:30:00.000Z", groq.id, "gamma", (1_000_000, 1_000_000, 0, 0)),
        (other.id, "2026-11-10T20:00:00.000Z", "deleted-setting", "alpha", (1_000, 1_000, 0, 0)),
        (other.id, "2026-09-01T07:00:00.000Z", openai.id, "alpha", (1_000_000, 0, 0, 0)),
    ]
    parents = {main.id: None, other.id: None}
    first_reply = ""
    for conversation_id, when, provider_id, model, (inp, out, cached, reasoning) in replies:
        question = messages.insert(_message(conversation_id, parents[conversation_id], "user", when))
        reply = messages.insert(
            _message(
                conversation_id,
                question.id,
                "assistant",
                when,
                provider_id=provider_id,
                model=model,
                input_tokens=inp,
                output_tokens=out,
                cached_input_tokens=cached,
                reasoning_tokens=reasoning,
            )
        )
        parents[conversation_id] = reply.id
        first_reply = first_reply or reply.id
    # Rows that must not count: no usage reported, and a failed reply.
    when = "2026-11-27T11:30:00.000Z"
    question = messages.insert(_message(main.id, parents[main.id], "user", when))
    silent = messages.insert(
        _message(main.id, question.id, "assistant", when, provider_id=openai.id, model="alpha")
    )
    messages.insert(
        _message(
            main.id,
            silent.id,
            "assistant",
            when,
            provider_id=openai.id,
            model="alpha",
            status="error",
            error="scripted error",
            content="",
        )
    )
    return UsageSample(openai.id, groq.id, main.id, other.id, first_reply)
