"""Estimate what a template batch costs before it runs: list prices here, batch prices on a batch service.

The input tokens of a sample of rows (each rendered through the template and counted as the
model's tokenizer would, or estimated where it is not known) are scaled to every row. The replies'
length is not known in advance, so the estimate covers the input and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from desktop_llm.core.catalog import Catalog
from desktop_llm.core.cost import batch_cost, reply_cost
from desktop_llm.core.prompt_templates import PromptTemplate, PromptTemplateError
from desktop_llm.core.tokens import count_tokens
from desktop_llm.providers import Usage

__all__ = ["BatchEstimate", "estimate_batch", "estimate_text"]

SAMPLE_ROWS = 200


@dataclass(frozen=True)
class BatchEstimate:
    """The input of a batch and what it costs.

    Args:
        input_tokens: every row's prompt, in tokens (scaled from a sample when there are many rows).
        exact: the model's own tokenizer counted them (else an estimate).
        local: dollars at list prices, run here; None when the model's price is unknown.
        batch: dollars at the provider's batch prices; None when unknown or there is no batch service.
    """

    input_tokens: int
    exact: bool
    local: Decimal | None
    batch: Decimal | None


def estimate_batch(
    template: PromptTemplate,
    rows: Sequence[Mapping[str, str]],
    model: str,
    provider_kind: str,
    catalog: Catalog,
    *,
    sample: int = SAMPLE_ROWS,
) -> BatchEstimate:
    """Return the estimate for ``rows`` through ``template`` on ``model``. Blocking (tokenizers)."""
    variables = frozenset(template.variables)
    counted, exact, seen = 0, True, 0
    for values in rows[:sample]:
        try:
            prompt = template.render({k: v for k, v in values.items() if k in variables})
        except PromptTemplateError:
            continue  # such a row fails before any request and costs nothing
        count = count_tokens(f"{prompt.system}\n{prompt.user}", model)
        counted += count.count
        exact = exact and count.exact
        seen += 1
    total = round(counted * len(rows) / seen) if seen else 0
    usage = Usage(input_tokens=total, output_tokens=0)
    info = catalog.lookup(model, provider_kind)
    return BatchEstimate(total, exact, reply_cost(usage, info).dollars, batch_cost(usage, info).dollars)


def estimate_text(estimate: BatchEstimate, *, batch_service: bool) -> str:
    """Return the estimate in words: tokens, the local cost and, with a batch service, its cost."""
    approx = "" if estimate.exact else "≈ "
    tokens = f"Input {approx}{estimate.input_tokens:,} tokens"
    local = "price here unknown" if estimate.local is None else f"about ${estimate.local:.4f} here"
    text = f"{tokens}: {local}"
    if batch_service:
        batch = (
            "price on the batch service unknown"
            if estimate.batch is None
            else f"${estimate.batch:.4f} on the batch service"
        )
        text += f", {batch}"
    return text + ", plus the replies."
