"""The cost estimate of a batch before it runs: list prices here, batch prices on the provider's service."""

from __future__ import annotations

from decimal import Decimal

from desktop_llm.core.catalog import load_catalog
from desktop_llm.core.prompt_templates import PromptTemplate, VariableSpec
from desktop_llm.core.tokens import count_tokens
from desktop_llm.services.batch_estimate import estimate_batch, estimate_text

TEMPLATE = PromptTemplate(name="Sort", system="Sort this mail.", user="{text}", specs=(VariableSpec("text"),))


def test_batch_prices_are_half_the_list_price_for_the_same_input() -> None:
    rows = [{"text": f"my parcel {i} never came"} for i in range(10)]
    estimate = estimate_batch(TEMPLATE, rows, "gpt-4o-mini", "openai", load_catalog())
    per_row = count_tokens("Sort this mail.\nmy parcel 1 never came", "gpt-4o-mini").count
    assert estimate.exact and estimate.input_tokens == per_row * 10
    assert estimate.local == Decimal(estimate.input_tokens) * Decimal("0.15") / 1_000_000
    assert estimate.batch == Decimal(estimate.input_tokens) * Decimal("0.075") / 1_000_000
    text = estimate_text(estimate, batch_service=True)
    assert "here" in text and "on the batch service" in text and "plus the replies" in text


def test_a_sample_is_scaled_to_every_row_and_unknown_prices_say_so() -> None:
    rows = [{"text": "same words every time"}] * 1000
    estimate = estimate_batch(TEMPLATE, rows, "some-local-model", "ollama", load_catalog(), sample=10)
    one = estimate_batch(TEMPLATE, rows[:1], "some-local-model", "ollama", load_catalog())
    assert estimate.input_tokens == one.input_tokens * 1000
    assert estimate.batch is None and "unknown" in estimate_text(estimate, batch_service=True)
