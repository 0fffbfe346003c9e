"""Load the prompt templates that ship with Desktop LLM (``resources/templates/*.json``)."""

from __future__ import annotations

import json

from desktop_llm.core.prompt_templates import PromptTemplate, TemplateFormatError
from desktop_llm.core.resources import ResourceMissing, resource_path


def load_builtin_templates() -> dict[str, PromptTemplate]:
    """Return the shipped templates keyed by their file name without ``.json``, in file-name order.

    The key ("summarise", "translate", ...) is a stable identity for a shipped template, where a
    display name might be translated or reworded. Raises ``ResourceMissing`` when a file cannot be
    read and ``TemplateFormatError`` naming the file when one is not a valid template body.
    """
    templates: dict[str, PromptTemplate] = {}
    for path in sorted(resource_path("templates").glob("*.json")):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ResourceMissing(f"The shipped template {path.name} cannot be read: {error}.") from error
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise TemplateFormatError(
                f"The shipped template {path.name} is not valid JSON: {error}."
            ) from error
        try:
            templates[path.stem] = PromptTemplate.from_dict(body)
        except TemplateFormatError as error:
            raise TemplateFormatError(f"The shipped template {path.name} is malformed: {error}") from error
    return templates
