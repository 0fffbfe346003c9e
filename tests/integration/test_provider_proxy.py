"""Proxies (the setting or the environment's variables) reach remote providers, never local servers."""

from __future__ import annotations

import pytest
from fakes.provider_server import ProviderServer, Reply
from provider_kit import closed_port

from desktop_llm.providers import ChatRequest, Message, ProviderConfig, create_provider
from desktop_llm.providers.base import is_local_address

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def hello() -> ChatRequest:
    return ChatRequest(model="m", messages=[Message("user", "hi")])


async def test_a_local_server_is_reached_directly_even_with_a_proxy_set() -> None:
    with ProviderServer() as server:
        server.push(Reply(text="direct"))
        # Nothing listens on a closed port: were the proxy used, the request would fail to connect.
        proxy = f"http://127.0.0.1:{closed_port()}"
        config = ProviderConfig("ollama", base_url=server.url_for("ollama"), proxy=proxy)
        async with create_provider(config) as provider:
            result = await provider.complete(hello())
    assert result.text == "direct"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_the_environments_proxy_variables_never_apply_to_a_local_server(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, dead)
    for name in ("NO_PROXY", "no_proxy"):  # the test suite sets it; a person's machine may not
        monkeypatch.delenv(name, raising=False)
    with ProviderServer() as server:
        server.push(Reply(text="direct"))
        base_url = server.url_for("openai-compatible").replace("127.0.0.1", host)
        async with create_provider(ProviderConfig("openai-compatible", base_url=base_url)) as provider:
            result = await provider.complete(hello())
            models = await provider.list_models()
    assert result.text == "direct"
    assert [m.id for m in models] == ["model-a", "model-b"]


async def test_the_environments_proxy_still_applies_to_a_remote_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with ProviderServer() as proxy:  # answers whatever it is asked, as a proxy would forward it
        for name in PROXY_VARIABLES:
            monkeypatch.setenv(name, proxy.base_url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        config = ProviderConfig("openai-compatible", base_url="http://models.example.invalid/v1")
        async with create_provider(config) as provider:
            models = await provider.list_models()
        [request] = proxy.requests
    assert [m.id for m in models] == ["model-a", "model-b"]
    assert request.headers["host"] == "models.example.invalid"


def test_addresses_on_this_computer_are_recognised() -> None:
    for url in (
        "http://127.0.0.1:11434",
        "http://127.1.2.3:11434",
        "http://localhost:1234/v1",
        "http://LOCALHOST:1234/v1",
        "http://ollama.localhost:1234/v1",
        "http://[::1]:8080/v1",
        "http://0.0.0.0:11434",
    ):
        assert is_local_address(url), url
    for url in (
        "https://api.openai.com/v1",
        "http://192.168.1.20:11434",
        "http://localhost.example.com",
        "http://[::1",
    ):
        assert not is_local_address(url), url
