"""ProviderConfig validation, key hiding, presets and the small pure helpers of the providers."""

from __future__ import annotations

import pytest

from desktop_llm.providers import KINDS, Message, ProviderConfig, create_provider
from desktop_llm.providers.base import redact_headers
from desktop_llm.providers.ollama import normalize_host
from desktop_llm.providers.presets import PRESETS, preset_for
from desktop_llm.providers.turns import group_turns

KEY = "sk-test-0123456789abcdef"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_accepted_and_has_a_provider(kind: str) -> None:
    config = ProviderConfig(kind, api_key=KEY, base_url="http://127.0.0.1:9/v1")
    provider = create_provider(config)
    assert provider.config is config


@pytest.mark.parametrize("kind", ["", "OpenAI", "azure", "claude", "openai_compatible"])
def test_unknown_kind_is_a_value_error(kind: str) -> None:
    with pytest.raises(ValueError, match="Unknown provider kind"):
        ProviderConfig(kind)


def test_timeouts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ProviderConfig("openai", read_timeout=0)


@pytest.mark.parametrize("kind", KINDS)
def test_repr_of_config_and_provider_hides_the_key(kind: str) -> None:
    config = ProviderConfig(kind, api_key=KEY, base_url="http://127.0.0.1:9/v1", name="Mine")
    provider = create_provider(config)
    assert KEY not in repr(config)
    assert KEY not in repr(provider)
    assert "Mine" in repr(provider)


def test_trailing_slash_is_dropped_from_base_url() -> None:
    provider = create_provider(ProviderConfig("anthropic", api_key=KEY, base_url="http://127.0.0.1:9/"))
    assert provider.base_url == "http://127.0.0.1:9"


def test_official_endpoints_are_the_defaults() -> None:
    defaults = {
        "openai": "https://api.openai.com/v1",
        "anthropic": "https://api.anthropic.com",
        "gemini": "https://generativelanguage.googleapis.com",
        "ollama": "http://127.0.0.1:11434",
    }
    for kind, url in defaults.items():
        assert create_provider(ProviderConfig(kind, api_key=KEY)).base_url == url


@pytest.mark.parametrize(
    ("preset", "url", "needs_key"),
    [
        ("lmstudio", "http://127.0.0.1:1234/v1", False),
        ("llamacpp", "http://127.0.0.1:8080/v1", False),
        ("vllm", "http://127.0.0.1:8000/v1", False),
        ("openrouter", "https://openrouter.ai/api/v1", True),
        ("groq", "https://api.groq.com/openai/v1", True),
        ("deepseek", "https://api.deepseek.com/v1", True),
        ("mistral", "https://api.mistral.ai/v1", True),
    ],
)
def test_presets_fill_base_url_and_key_requirement(preset: str, url: str, needs_key: bool) -> None:
    provider = create_provider(ProviderConfig("openai-compatible", preset=preset))
    assert provider.base_url == url
    assert provider.needs_key is needs_key
    assert provider.name == PRESETS[preset].display_name


def test_a_base_url_overrides_the_preset_address_but_keeps_its_quirks() -> None:
    provider = create_provider(
        ProviderConfig("openai-compatible", preset="mistral", base_url="http://127.0.0.1:9/v1")
    )
    assert provider.base_url == "http://127.0.0.1:9/v1"
    assert provider.preset.stream_usage is False


def test_openai_itself_uses_max_completion_tokens_and_others_max_tokens() -> None:
    assert preset_for("openai", None).max_tokens_field == "max_completion_tokens"
    assert all(preset.max_tokens_field == "max_tokens" for preset in PRESETS.values())
    assert preset_for("openai-compatible", None).needs_key is False


def test_unknown_preset_is_a_value_error_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="lmstudio"):
        create_provider(ProviderConfig("openai-compatible", preset="nope"))


def test_openai_compatible_needs_a_base_url_or_a_preset() -> None:
    with pytest.raises(ValueError, match="base URL"):
        create_provider(ProviderConfig("openai-compatible"))


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("localhost", "http://localhost:11434"),
        ("0.0.0.0:8080", "http://0.0.0.0:8080"),
        ("127.0.0.1:11434/", "http://127.0.0.1:11434"),
        ("https://ollama.example.com", "https://ollama.example.com"),
        ("http://[::1]:11434", "http://[::1]:11434"),
        ("[::1]", "http://[::1]:11434"),
    ],
)
def test_ollama_host_without_scheme_gets_http(host: str, url: str) -> None:
    assert normalize_host(host) == url


def test_ollama_provider_normalises_its_base_url() -> None:
    provider = create_provider(ProviderConfig("ollama", base_url="127.0.0.1:5000"))
    assert provider.base_url == "http://127.0.0.1:5000"


def test_secret_headers_are_redacted_for_logs() -> None:
    headers = {"Authorization": "Bearer x", "x-api-key": "y", "X-Goog-Api-Key": "z", "api-key": "w", "a": "b"}
    assert redact_headers(headers) == {
        "Authorization": "[redacted]",
        "x-api-key": "[redacted]",
        "X-Goog-Api-Key": "[redacted]",
        "api-key": "[redacted]",
        "a": "b",
    }


def test_group_turns_joins_system_and_merges_same_role_neighbours() -> None:
    messages = [
        Message("system", "Be brief."),
        Message("user", "one"),
        Message("user", "two"),
        Message("system", "Be kind."),
        Message("assistant", "three"),
        Message("user", "four"),
    ]
    system, turns = group_turns(messages)
    assert system == "Be brief.\n\nBe kind."
    assert [(turn.role, turn.text()) for turn in turns] == [
        ("user", "one\n\ntwo"),
        ("assistant", "three"),
        ("user", "four"),
    ]
    assert all(turn.plain for turn in turns)


@pytest.mark.parametrize(
    ("key", "what", "position"),
    [
        ("sk-abc\x01def-0123", "a control character", 7),
        ("sk-abc\ndef-0123", "a control character", 7),
        ("sk-abc\tdef-0123", "a control character", 7),
        ("sk-abc\x7fdef-0123", "a control character", 7),
        ("sk-abcé-def0123", "a non-ASCII character", 7),
        ("sk-abc\u200bdef0123", "a non-ASCII character", 7),
        ("“sk-abcdef0123”", "a non-ASCII character", 1),
        ("sk-abc def-0123", "a space", 7),
    ],
)
def test_a_key_http_cannot_carry_is_refused_without_quoting_it(key: str, what: str, position: int) -> None:
    with pytest.raises(ValueError) as caught:
        ProviderConfig("openai", api_key=key)
    message = str(caught.value)
    assert f"contains {what}" in message and f"position {position}" in message
    for piece in ("sk-abc", "def", "0123", key):
        assert piece not in message and piece not in repr(caught.value)


def test_a_header_http_cannot_carry_is_refused_naming_only_the_header() -> None:
    with pytest.raises(ValueError, match="'x-team'") as caught:
        ProviderConfig("openai", headers={"x-team": "café-secret"})
    assert "café" not in str(caught.value)
    with pytest.raises(ValueError, match="header name"):
        ProviderConfig("openai", headers={"bad name": "v"})
    assert ProviderConfig("openai", headers={"x-team": "a b c"}).headers == {"x-team": "a b c"}
