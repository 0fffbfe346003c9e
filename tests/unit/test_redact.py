"""Key redaction: every real key is hidden, placeholder keys of local servers do not garble text."""

import json
from urllib.parse import quote

import pytest

from desktop_llm.providers.errors import redact
from desktop_llm.services.logs import KeyRedactor


def test_a_real_key_is_hidden_everywhere_it_appears() -> None:
    key = "sk-proj-abcdef123456"
    assert redact(f"bad key {key}; again {key}", key) == "bad key [redacted]; again [redacted]"


def test_a_placeholder_key_leaves_the_message_readable() -> None:
    assert redact("incomplete chunked read", "k") == "incomplete chunked read"


def test_missing_secrets_are_ignored() -> None:
    assert redact("text", None, "") == "text"


def test_escaped_forms_of_a_key_are_hidden_too() -> None:
    key = "sk-test\x01é-0123456789"
    for shown in (repr(key), ascii(key), json.dumps(key), repr(key.encode()), quote(key, safe="")):
        redacted = redact(f"Invalid header value {shown} in the request", key)
        assert "[redacted]" in redacted, shown
        assert "0123456789" not in redacted and "sk-test" not in redacted, shown


def test_the_log_redactor_hides_escaped_forms_of_the_keys_it_knows() -> None:
    key = "sk-live\ttab-0123456789"
    redactor = KeyRedactor([key])
    for shown in (repr(key), json.dumps(key), key):
        assert "0123456789" not in redactor.redact(f"header {shown} refused"), shown


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
