"""The Ollama provider against the fake server: NDJSON streaming, thinking, counts, options, models."""

from __future__ import annotations

from fakes.provider_server import ProviderServer, Reply
from provider_kit import (
    assert_event_order,
    chat,
    collect,
    make_provider,
    reasoning_of,
    server_fixture,  # noqa: F401  (the ``server`` fixture)
    text_of,
)

from desktop_llm.providers import AuthenticationError, Finish, Usage


async def test_stream_yields_thinking_text_counts_and_finish(server: ProviderServer) -> None:
    server.push(
        Reply(
            text="Blue, mostly.",
            reasoning="Rayleigh scattering.",
            usage={"input_tokens": 8, "output_tokens": 5},
        )
    )
    async with make_provider(server, "ollama", api_key=None) as provider:
        events = await collect(provider)
    assert_event_order(events)
    assert reasoning_of(events) == "Rayleigh scattering."
    assert text_of(events) == "Blue, mostly."
    assert events[-2:] == [Usage(8, 5), Finish("stop")]


async def test_length_finish_and_complete(server: ProviderServer) -> None:
    server.push(Reply(text="Cut", finish="length", model="llama3.2:3b"))
    async with make_provider(server, "ollama", api_key=None) as provider:
        result = await provider.complete(chat(model="llama3.2"))
    assert (result.text, result.finish_reason, result.model) == ("Cut", "length", "llama3.2:3b")


async def test_request_body_has_options_only_when_set(server: ProviderServer) -> None:
    async with make_provider(server, "ollama", api_key=None) as provider:
        await collect(
            provider, chat("system: Be brief.", "Hi", model="qwen3", temperature=0.7, max_tokens=32)
        )
        await collect(provider, chat("Hi", model="qwen3"))
    first, second = server.chat_requests
    assert first.path == "/api/chat"
    assert first.json == {
        "model": "qwen3",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "stream": True,
        "options": {"temperature": 0.7, "num_predict": 32},
    }
    assert "options" not in second.json
    assert "authorization" not in first.headers


async def test_needs_no_key_and_accepts_a_host_without_scheme(server: ProviderServer) -> None:
    bare_host = server.base_url.removeprefix("http://")
    async with make_provider(server, "ollama", api_key=None, base_url=bare_host) as provider:
        events = await collect(provider)
        models = await provider.list_models()
    assert events[-1] == Finish("stop")
    assert [m.id for m in models] == ["model-a", "model-b"]


async def test_list_models_reads_tags(server: ProviderServer) -> None:
    server.models = ["llama3.2:latest", "qwen3:8b"]
    async with make_provider(server, "ollama", api_key=None) as provider:
        models = await provider.list_models()
    assert [m.id for m in models] == ["llama3.2:latest", "qwen3:8b"]
    assert server.requests[-1].path == "/api/tags"


async def test_a_configured_key_is_sent_as_bearer(server: ProviderServer) -> None:
    server.api_key = "proxy-token"
    async with make_provider(server, "ollama", api_key="proxy-token") as provider:
        await collect(provider)
    async with make_provider(server, "ollama", api_key="wrong") as provider:
        try:
            await collect(provider)
        except AuthenticationError as error:
            assert error.status_code == 401
        else:
            raise AssertionError("a wrong key must be refused")
