"""The model catalog: shipped entries, name matching, unknown models, the user's override file."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from desktop_llm.core.catalog import (
    FALLBACK_CONTEXT_WINDOW,
    FALLBACK_MAX_OUTPUT,
    CatalogError,
    Rates,
    load_catalog,
)
from desktop_llm.core.resources import resource_path


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_shipped_file_is_dated_and_covers_every_provider(catalog) -> None:
    raw = json.loads(resource_path("models.json").read_text(encoding="utf-8"))
    assert raw["as_of"].startswith("2026-11")
    assert catalog.as_of == raw["as_of"]
    providers = {info.provider for info in catalog.models}
    assert {
        "openai",
        "anthropic",
        "gemini",
        "ollama",
        "groq",
        "openrouter",
        "deepseek",
        "mistral",
    } <= providers


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "o3",
        "o4-mini",
        "claude-opus-4-1",
        "claude-sonnet-4-5",
        "claude-haiku-4-5",
        "claude-3-5-haiku",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
    ],
)
def test_current_models_are_known_with_sane_limits_and_prices(catalog, model: str) -> None:
    info = catalog.lookup(model)
    assert info.known and info.as_of == catalog.as_of
    assert 8192 <= info.context_window <= 2_000_000
    assert 0 < info.max_output <= info.context_window
    assert info.price is not None
    rates = info.price.base
    assert 0 < rates.input <= rates.output
    assert rates.cached_input is None or rates.cached_input < rates.input


def test_every_entry_is_valid(catalog) -> None:
    for info in catalog.models:
        assert info.known and info.max_output <= info.context_window, info


@pytest.mark.parametrize(
    ("spelling", "model_id", "provider"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o", "openai"),
        ("openai/gpt-4o", "gpt-4o", "openai"),
        ("GPT-4o", "gpt-4o", "openai"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5", "anthropic"),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5", "anthropic"),
        ("claude-3-7-sonnet-latest", "claude-3-7-sonnet", "anthropic"),
        ("models/gemini-2.5-pro", "gemini-2.5-pro", "gemini"),
        ("gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash", "gemini"),
        ("mistral-large-latest", "mistral-large", "mistral"),
        ("llama3.1:8b", "llama3.1", "ollama"),
        ("gemma3:1b", "gemma3:1b", "ollama"),
        ("gemma3:27b", "gemma3", "ollama"),
    ],
)
def test_names_are_matched_after_normalising(catalog, spelling: str, model_id: str, provider: str) -> None:
    info = catalog.lookup(spelling)
    assert (info.id, info.provider, info.known) == (model_id, provider, True)


def test_a_provider_picks_its_own_entry_and_price(catalog) -> None:
    assert catalog.lookup("deepseek-r1:70b", "ollama").price.base == Rates(Decimal(0), Decimal(0))
    assert catalog.lookup("deepseek/deepseek-r1", "openrouter").provider == "openrouter"
    groq = catalog.lookup("llama-3.3-70b-versatile", "groq")
    assert groq.price is not None and groq.price.base.input == Decimal("0.59")


def test_another_hosts_entry_lends_limits_but_not_its_price(catalog) -> None:
    via_router = catalog.lookup("openai/gpt-4o", "openrouter")
    direct = catalog.lookup("gpt-4o", "openai")
    assert via_router.known and via_router.provider == "openrouter"
    assert via_router.context_window == direct.context_window
    assert via_router.price is None


def test_fine_tuned_models_keep_limits_but_have_no_list_price(catalog) -> None:
    info = catalog.lookup("ft:gpt-4o-mini-2024-07-18:acme::abc123")
    assert info.id == "gpt-4o-mini" and info.known and info.price is None


@pytest.mark.parametrize("model", ["my-local-finetune", "", "gpt-7-ultra", "mystery:latest"])
def test_unknown_models_get_safe_defaults(catalog, model: str) -> None:
    info = catalog.lookup(model, "openai-compatible")
    assert info.known is False
    assert (info.context_window, info.max_output) == (FALLBACK_CONTEXT_WINDOW, FALLBACK_MAX_OUTPUT)
    assert info.price is None and info.id == model


def test_long_prompts_switch_to_the_long_context_tier(catalog) -> None:
    price = catalog.lookup("gemini-2.5-pro").price
    assert price.rates_for(200_000) == price.base
    assert price.rates_for(200_001).input == Decimal("2.50")


def test_a_missing_override_file_is_ignored(tmp_path: Path) -> None:
    assert load_catalog(tmp_path / "models.json").lookup("gpt-4o").known


def test_the_override_replaces_fields_and_adds_models(tmp_path: Path) -> None:
    override = _write(
        tmp_path / "models.json",
        {
            "as_of": "2027-01-15",
            "defaults": {"context_window": 32768},
            "models": [
                {"id": "gpt-4o", "provider": "openai", "price": {"input": 2.0, "output": 8.0}},
                {
                    "id": "my-local",
                    "provider": "openai-compatible",
                    "context_window": 65536,
                    "max_output": 2048,
                },
            ],
        },
    )
    catalog = load_catalog(override)
    gpt = catalog.lookup("gpt-4o-2024-11-20", "openai")
    assert gpt.context_window == 128000  # kept from the shipped entry
    assert gpt.price.base == Rates(Decimal("2.0"), Decimal("8.0"))
    assert gpt.as_of == "2027-01-15"
    mine = catalog.lookup("my-local")
    assert mine.known and mine.context_window == 65536 and mine.price is None
    assert catalog.lookup("somebody-else").context_window == 32768
    assert catalog.lookup("claude-haiku-4-5").known  # the rest of the shipped catalog stays


def test_an_override_entry_wins_a_lookup_without_provider(tmp_path: Path) -> None:
    override = _write(
        tmp_path / "models.json",
        {"models": [{"id": "gpt-4o", "provider": "azure", "context_window": 64000, "max_output": 4096}]},
    )
    catalog = load_catalog(override)
    assert catalog.lookup("gpt-4o").provider == "azure"
    assert catalog.lookup("gpt-4o", "openai").context_window == 128000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"models\.json: is not valid JSON: .* line 1, column 2"),
        ("[]", 'must be a JSON object with a "models" list'),
        ('{"models": {}}', 'must be a JSON object with a "models" list'),
        ('{"models": [42]}', r"models\[0\] must be an object"),
        (
            '{"models": [{"id": "x", "provider": "p", "max_output": 1}]}',
            r"models\[0\]\.context_window is missing",
        ),
        (
            '{"models": [{"id": "x", "provider": "p", "context_window": "big", "max_output": 1}]}',
            r"models\[0\]\.context_window must be a positive whole number, not 'big'",
        ),
        ('{"models": [{"id": "gpt-4o", "provider": "openai", "context_windw": 5}]}', "unknown fields"),
        (
            '{"models": [{"id": "gpt-4o", "provider": "openai", "price": {"input": -1, "output": 1}}]}',
            r"models\[0\]\.price\.input must be a price of zero or more dollars",
        ),
        ('{"models": [{"id": "gpt-4o", "provider": "openai", "price": {"input": 1}}]}', "needs 'output'"),
        ('{"models": [{"provider": "openai", "context_window": 5, "max_output": 5}]}', r"\.id must be"),
        (
            '{"models": [{"id": "a", "provider": "p", "context_window": 5, "max_output": 5},'
            ' {"id": "a", "provider": "p", "context_window": 5, "max_output": 5}]}',
            "repeats id 'a'",
        ),
        ('{"models": [], "defaults": {"context_window": 0}}', r"defaults\.context_window must be a positive"),
        (
            '{"models": [{"id": "gpt-4o", "provider": "openai",'
            ' "price": {"input": 1, "output": 2, "batch": {"input": 0.5, "output": 1}}}]}',
            r"models\[0\]\.price\.batch\.as_of must name the month",
        ),
        (
            '{"models": [{"id": "gpt-4o", "provider": "openai",'
            ' "price": {"input": 1, "output": 2, "batch": {"input": 0.5, "as_of": "2026-11"}}}]}',
            r"price\.batch needs 'output'",
        ),
    ],
)
def test_a_malformed_override_is_reported_precisely(tmp_path: Path, content: str, message: str) -> None:
    override = tmp_path / "models.json"
    override.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogError, match=message) as caught:
        load_catalog(override)
    assert str(override) in str(caught.value)


def test_an_unreadable_override_is_reported(tmp_path: Path) -> None:
    override = tmp_path / "models.json"
    override.write_bytes(b'{"models": ["\xff"]}')
    with pytest.raises(CatalogError, match="not UTF-8"):
        load_catalog(override)


def test_batch_prices_are_read_with_their_date(catalog) -> None:
    price = catalog.lookup("claude-sonnet-4-5", "anthropic").price
    assert price is not None and price.batch is not None and price.batch_as_of == "2026-11"
    assert (price.batch.input, price.batch.output) == (price.base.input / 2, price.base.output / 2)
    assert catalog.lookup("llama3.1", "ollama").price.batch is None  # type: ignore[union-attr]
