"""Ours against each official SDK on the same scripted reply: the same text, thinking and usage.

Each SDK reads the reply streaming and non-streaming; its fields are converted to the contract's
terms here (the oracle side), and our ``stream`` and ``complete`` must agree with both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anthropic
import ollama
import openai
import pytest
from fakes.provider_server import ProviderServer, Reply
from google import genai
from google.genai import types as genai_types
from provider_kit import (
    chat,
    collect,
    make_provider,
    reasoning_of,
    server_fixture,  # noqa: F401  (the ``server`` fixture)
    text_of,
)

from desktop_llm.providers import Finish, Usage

TEXT = "Streaming works — ünïcode, emoji 😀 and 文字 included, split across writes."
REASONING = "First I consider the question, then I answer it."
USAGE = {"input_tokens": 120, "output_tokens": 40, "cached_input_tokens": 64, "reasoning_tokens": 11}
PROMPT = "Tell me something."
MODEL = "some-model"


@dataclass(frozen=True)
class Answer:
    """What a client read: text, thinking and usage in the contract's terms."""

    text: str
    reasoning: str
    usage: Usage | None


async def _ours(server: ProviderServer, kind: str) -> tuple[Answer, Answer, str]:
    async with make_provider(server, kind) as provider:
        events = await collect(provider, chat(PROMPT, model=MODEL))
        result = await provider.complete(chat(PROMPT, model=MODEL))
    usage = [event for event in events if isinstance(event, Usage)]
    streamed = Answer(text_of(events), reasoning_of(events), usage[0] if usage else None)
    assert isinstance(events[-1], Finish)
    assert events[-1].reason == result.finish_reason
    return streamed, Answer(result.text, result.reasoning, result.usage), result.finish_reason


# -- the SDKs, each read both ways -------------------------------------------------------------


async def _openai(server: ProviderServer) -> tuple[Answer, Answer]:
    client = openai.AsyncOpenAI(base_url=server.url_for("openai"), api_key="k", max_retries=0)
    messages = [{"role": "user", "content": PROMPT}]

    def usage_of(usage: openai.types.CompletionUsage) -> Usage:
        return Usage(
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.prompt_tokens_details.cached_tokens or 0,
            usage.completion_tokens_details.reasoning_tokens or 0,
        )

    async with client:
        text, reasoning, usage = "", "", None
        stream = await client.chat.completions.create(
            model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}
        )
        async for chunk in stream:
            if chunk.usage:
                usage = usage_of(chunk.usage)
            for choice in chunk.choices:
                text += choice.delta.content or ""
                reasoning += getattr(choice.delta, "reasoning_content", None) or ""
        whole = await client.chat.completions.create(model=MODEL, messages=messages)
    message = whole.choices[0].message
    return (
        Answer(text, reasoning, usage),
        Answer(message.content or "", getattr(message, "reasoning_content", "") or "", usage_of(whole.usage)),
    )


async def _anthropic(server: ProviderServer) -> tuple[Answer, Answer]:
    client = anthropic.AsyncAnthropic(base_url=server.url_for("anthropic"), api_key="k", max_retries=0)
    request = {"model": MODEL, "max_tokens": 1024, "messages": [{"role": "user", "content": PROMPT}]}

    def answer_of(message: anthropic.types.Message) -> Answer:
        usage = message.usage
        cached = usage.cache_read_input_tokens or 0
        total_input = usage.input_tokens + cached + (usage.cache_creation_input_tokens or 0)
        return Answer(
            "".join(block.text for block in message.content if block.type == "text"),
            "".join(block.thinking for block in message.content if block.type == "thinking"),
            Usage(total_input, usage.output_tokens, cached),
        )

    async with client:
        async with client.messages.stream(**request) as stream:
            streamed = await stream.get_final_message()
        whole = await client.messages.create(**request)
    return answer_of(streamed), answer_of(whole)


async def _gemini(server: ProviderServer) -> tuple[Answer, Answer]:
    options = genai_types.HttpOptions(base_url=server.url_for("gemini"))
    client = genai.Client(api_key="k", http_options=options)

    def usage_of(meta: genai_types.GenerateContentResponseUsageMetadata) -> Usage:
        thoughts = meta.thoughts_token_count or 0
        return Usage(
            meta.prompt_token_count or 0,
            (meta.candidates_token_count or 0) + thoughts,
            meta.cached_content_token_count or 0,
            thoughts,
        )

    def parts_of(response: genai_types.GenerateContentResponse) -> tuple[str, str]:
        parts = response.candidates[0].content.parts or [] if response.candidates else []
        text = "".join(p.text or "" for p in parts if not p.thought)
        return text, "".join(p.text or "" for p in parts if p.thought)

    try:
        text, reasoning, usage = "", "", None
        async for chunk in await client.aio.models.generate_content_stream(model=MODEL, contents=PROMPT):
            more_text, more_reasoning = parts_of(chunk)
            text, reasoning = text + more_text, reasoning + more_reasoning
            if chunk.usage_metadata and chunk.usage_metadata.candidates_token_count is not None:
                usage = usage_of(chunk.usage_metadata)
        whole = await client.aio.models.generate_content(model=MODEL, contents=PROMPT)
    finally:
        await client.aio.aclose()
        client.close()
    return Answer(text, reasoning, usage), Answer(*parts_of(whole), usage_of(whole.usage_metadata))


async def _ollama(server: ProviderServer) -> tuple[Answer, Answer]:
    messages = [{"role": "user", "content": PROMPT}]
    text, reasoning, usage = "", "", None
    async with ollama.AsyncClient(host=server.url_for("ollama")) as client:
        async for part in await client.chat(model=MODEL, messages=messages, stream=True):
            text += part.message.content or ""
            reasoning += part.message.thinking or ""
            if part.done:
                usage = Usage(part.prompt_eval_count or 0, part.eval_count or 0)
        whole = await client.chat(model=MODEL, messages=messages)
    return (
        Answer(text, reasoning, usage),
        Answer(
            whole.message.content or "",
            whole.message.thinking or "",
            Usage(whole.prompt_eval_count or 0, whole.eval_count or 0),
        ),
    )


SDKS: dict[str, Callable[[ProviderServer], Awaitable[tuple[Answer, Answer]]]] = {
    "openai": _openai,
    "anthropic": _anthropic,
    "gemini": _gemini,
    "ollama": _ollama,
}


@pytest.mark.parametrize("finish", ["stop", "length"])
@pytest.mark.parametrize("kind", list(SDKS))
async def test_ours_reads_what_the_sdk_reads(server: ProviderServer, kind: str, finish: str) -> None:
    reply = Reply(
        text=TEXT, reasoning=REASONING, usage=USAGE, tokens_per_event=2, write_size=7, finish=finish
    )
    server.push(*(reply for _ in range(4)))
    sdk_streamed, sdk_whole = await SDKS[kind](server)
    ours_streamed, ours_whole, our_finish = await _ours(server, kind)

    assert sdk_streamed == sdk_whole  # the oracle agrees with itself
    assert sdk_streamed.text == TEXT
    assert ours_streamed == sdk_streamed
    assert ours_whole == sdk_whole
    assert our_finish == finish


@pytest.mark.parametrize("kind", list(SDKS))
async def test_ours_lists_the_models_the_sdk_lists(server: ProviderServer, kind: str) -> None:
    server.models = ["alpha", "beta", "gamma"]
    server.page_size = 2
    async with make_provider(server, kind) as provider:
        ours = [model.id for model in await provider.list_models()]
    assert ours == ["alpha", "beta", "gamma"]
