"""Describe known OpenAI-compatible servers: where they listen and how they differ from OpenAI."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """One OpenAI-compatible server's address and quirks.

    Args:
        name: the preset's id, as stored in settings ("lmstudio").
        display_name: how messages name the server ("LM Studio").
        base_url: its usual address, up to and including ``/v1``.
        needs_key: whether a request without a key is pointless (hosted services).
        stream_usage: whether it accepts ``stream_options: {include_usage: true}``; a server that
            rejects unknown fields fails the whole request when it is sent.
        max_tokens_field: the body field that caps the reply's length.
        key_env: the environment variable the app reads this server's key from, if any.
    """

    name: str
    display_name: str
    base_url: str
    needs_key: bool = False
    stream_usage: bool = True
    max_tokens_field: str = "max_tokens"
    key_env: str | None = None


# OpenAI itself, for the "openai" kind: the newer field name, and a key is required.
OPENAI = Preset(
    name="openai",
    display_name="OpenAI",
    base_url="https://api.openai.com/v1",
    needs_key=True,
    max_tokens_field="max_completion_tokens",
    key_env="OPENAI_API_KEY",
)

# An "openai-compatible" entry without a preset: a local server at a URL the person typed.
CUSTOM = Preset(name="", display_name="OpenAI-compatible server", base_url="")

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("lmstudio", "LM Studio", "http://127.0.0.1:1234/v1"),
        Preset("llamacpp", "llama.cpp server", "http://127.0.0.1:8080/v1"),
        Preset("vllm", "vLLM", "http://127.0.0.1:8000/v1"),
        Preset("openrouter", "OpenRouter", "https://openrouter.ai/api/v1", needs_key=True),
        Preset("groq", "Groq", "https://api.groq.com/openai/v1", needs_key=True),
        Preset("deepseek", "DeepSeek", "https://api.deepseek.com/v1", needs_key=True),
        # Mistral answers 422 to fields it does not know, and always sends usage anyway.
        Preset(
            "mistral",
            "Mistral",
            "https://api.mistral.ai/v1",
            needs_key=True,
            stream_usage=False,
        ),
    )
}


def preset_for(kind: str, preset: str | None) -> Preset:
    """Return the quirks for ``kind`` and ``preset``; an unknown preset raises ``ValueError``."""
    if kind == "openai":
        return OPENAI
    if not preset:
        return CUSTOM
    try:
        return PRESETS[preset]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ValueError(f"Unknown OpenAI-compatible preset {preset!r}; expected one of {known}.") from None
