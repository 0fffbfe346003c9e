"""A proxy set in Settings reaches remote providers, never local servers on this computer."""

from __future__ import annotations

from fakes.provider_server import ProviderServer, Reply

from desktop_llm.providers import ChatRequest, Message, ProviderConfig, create_provider
from desktop_llm.providers.base import _is_loopback


async def test_a_local_server_is_reached_directly_even_with_a_proxy_set() -> None:
    with ProviderServer() as server:
        server.push(Reply(text="direct"))
        # Nothing listens on port 9: were the proxy used, the request would fail to connect.
        config = ProviderConfig("ollama", base_url=server.url_for("ollama"), proxy="http://127.0.0.1:9")
        provider = create_provider(config)
        try:
            result = await provider.complete(ChatRequest(model="m", messages=[Message("user", "hi")]))
        finally:
            await provider.aclose()
    assert result.text == "direct"


def test_loopback_addresses_are_recognised() -> None:
    assert _is_loopback("http://127.0.0.1:11434")
    assert _is_loopback("http://localhost:1234/v1")
    assert _is_loopback("http://[::1]:8080/v1")
    assert not _is_loopback("https://api.openai.com/v1")
    assert not _is_loopback("http://192.168.1.20:11434")
