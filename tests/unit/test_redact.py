"""Key redaction: every real key is hidden, placeholder keys of local servers do not garble text."""

import pytest

from desktop_llm.providers.errors import redact


def test_a_real_key_is_hidden_everywhere_it_appears() -> None:
    key = "sk-proj-abcdef123456"
    assert redact(f"bad key {key}; again {key}", key) == "bad key [redacted]; again [redacted]"


def test_a_placeholder_key_leaves_the_message_readable() -> None:
    assert redact("incomplete chunked read", "k") == "incomplete chunked read"


def test_missing_secrets_are_ignored() -> None:
    assert redact("text", None, "") == "text"


async def test_credentials_in_a_base_url_stay_out_of_errors_and_reprs() -> None:
    import socket

    from desktop_llm.providers import (
        ChatRequest,
        ConnectionFailed,
        Message,
        ProviderConfig,
        RetryPolicy,
        create_provider,
    )

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = ProviderConfig("ollama", base_url=f"http://alice:s3cret-pw@127.0.0.1:{port}")
    provider = create_provider(config, retry=RetryPolicy(max_retries=0))
    try:
        with pytest.raises(ConnectionFailed) as caught:
            await provider.complete(ChatRequest(model="m", messages=[Message("user", "hi")]))
    finally:
        await provider.aclose()

    for shown in (str(caught.value), repr(provider)):
        assert "s3cret-pw" not in shown and "alice" not in shown
    assert f"http://[redacted]@127.0.0.1:{port}" in str(caught.value)
