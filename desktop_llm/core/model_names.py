"""Reduce the many spellings of a model's name to one key for tokenizer and catalog look-ups.

``openai/gpt-4o-2024-08-06``, ``GPT-4o`` and ``ft:gpt-4o-2024-08-06:acme::abc123`` are all
``gpt-4o``; ``claude-sonnet-4-5-20250929`` is ``claude-sonnet-4-5``; ``models/gemini-2.5-pro``
is ``gemini-2.5-pro``; Ollama's ``llama3.1:8b`` is ``llama3.1`` with the tag ``8b``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Date and version stamps at the end of a name, as the providers write them:
# -2024-08-06 (OpenAI), -20250929 (Anthropic), -0613 / -2411 (OpenAI, Mistral),
# -05-06 / -09-2025 (Gemini previews); "-latest" is an alias for the newest stamp.
_STAMP = re.compile(r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{4}|-\d{2}-\d{2}|-\d{2}-\d{4}|-latest)$")


@dataclass(frozen=True)
class ModelName:
    """A model name taken apart.

    Attributes:
        raw: the name as given.
        base: lower case, without provider prefix, ``ft:`` wrapper, tag or date stamp.
        tag: an Ollama-style ``:tag`` ("8b", "latest"), or None.
        fine_tuned: whether the name was an OpenAI ``ft:`` model (its prices differ).
    """

    raw: str
    base: str
    tag: str | None = None
    fine_tuned: bool = False

    @property
    def tagged(self) -> str:
        """Return ``base:tag``, or ``base`` when there is no tag."""
        return f"{self.base}:{self.tag}" if self.tag else self.base


def parse_model_name(model: str) -> ModelName:
    """Return ``model`` taken apart into its base name, tag and fine-tuning flag."""
    name = model.strip().lower()
    # "openai/gpt-4o", "models/gemini-2.5-pro", "meta-llama/llama-3.3-70b-instruct"
    name = name.rsplit("/", 1)[-1]
    fine_tuned = name.startswith("ft:")
    tag = None
    if fine_tuned:
        # ft:<base model>:<org>:<suffix>:<id>: only the base model says anything about tokens.
        name = name[3:].split(":", 1)[0]
    elif ":" in name:
        name, tag = name.split(":", 1)
    name = _STAMP.sub("", name) or name
    return ModelName(raw=model, base=name, tag=tag or None, fine_tuned=fine_tuned)


def normalize_model_name(model: str) -> str:
    """Return the base name used to match ``model`` (see ``parse_model_name``)."""
    return parse_model_name(model).base
