"""Model the prompt templates people write and run: system and user parts, variable metadata, a JSON body.

Both parts follow the grammar of ``desktop_llm.core.templates``. Per-variable metadata (a
description, a default, single or multi-line, a list of choices) drives the form the UI shows and
the defaults applied at render time. ``to_dict()`` is the JSON body stored with every version of a
template and written to exports; ``from_dict`` reads it back and ``content_hash`` identifies it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from desktop_llm.core.prompt_data import DATA_NOTICE, data_block
from desktop_llm.core.templates import Template, TemplateError, parse_template

__all__ = [
    "SCHEMA_VERSION",
    "PromptTemplate",
    "PromptTemplateError",
    "RenderedPrompt",
    "TemplateFormatError",
    "TemplateProblem",
    "VariableSpec",
]

SCHEMA_VERSION = 1
"""The version of the JSON body written by ``to_dict``; a body with a higher one is refused."""

Part = Literal["system", "user"]
PARTS: tuple[Part, ...] = ("system", "user")


class PromptTemplateError(TemplateError):
    """A template error in one part of a prompt template; ``part`` says which ("system" or "user")."""

    def __init__(
        self, message: str, *, part: Part | None, position: int | None, variable: str | None
    ) -> None:
        super().__init__(message, position=position, variable=variable)
        self.part = part


class TemplateFormatError(ValueError):
    """A template body (JSON) that is not in the documented shape; the message names the field."""


@dataclass(frozen=True)
class VariableSpec:
    """What a variable means and how to ask for it.

    Args:
        name: the variable, as written between the braces.
        description: a hint shown next to the input.
        default: the value used when none is given; None means the value is required.
        multi_line: ask with a text area (long text, code) instead of a single line.
        choices: the values offered in a list. Unless ``allow_other`` is set, only these are accepted.
        allow_other: the choices are suggestions; any other value is accepted too.
        trusted: the author vouches for its values as instructions: used in the system part, the
            value goes in as it is. Otherwise the system part only names it and the value goes
            to the model as data in the user message (see ``PromptTemplate.render``).
    """

    name: str
    description: str = ""
    default: str | None = None
    multi_line: bool = False
    choices: tuple[str, ...] = ()
    allow_other: bool = False
    trusted: bool = False

    @property
    def instructs(self) -> bool:
        """Return whether a value may stand in the system part: trusted, or one of the author's choices."""
        return self.trusted or (bool(self.choices) and not self.allow_other)

    @property
    def required(self) -> bool:
        """Return whether a value must be given (there is no default)."""
        return self.default is None

    def accepts(self, value: str) -> bool:
        """Return whether ``value`` is allowed by the choices."""
        return not self.choices or self.allow_other or value in self.choices


@dataclass(frozen=True)
class TemplateProblem:
    """One thing wrong with a template, as ``PromptTemplate.validate`` reports it.

    Args:
        part: "name", "system", "user" or "variables".
        position: for "system"/"user", the offset of the offending brace (None when the whole part
            is at fault); for "variables", the index of the entry in ``PromptTemplate.specs``.
        message: what is wrong and how to fix it, naming the variable.
        variable: the variable concerned, if any.
    """

    part: str
    position: int | None
    message: str
    variable: str | None = None


@dataclass(frozen=True)
class RenderedPrompt:
    """A template filled in: the system message (may be empty) and the user message."""

    system: str
    user: str


@dataclass(frozen=True)
class PromptTemplate:
    """A reusable prompt: a name, a system part, a user part and metadata for its variables."""

    name: str
    user: str
    system: str = ""
    description: str = ""
    specs: tuple[VariableSpec, ...] = field(default=())

    @cached_property
    def _parsed(self) -> dict[Part, Template | TemplateError]:
        parsed: dict[Part, Template | TemplateError] = {}
        for part in PARTS:
            try:
                parsed[part] = parse_template(getattr(self, part))
            except TemplateError as error:
                parsed[part] = error
        return parsed

    def part_template(self, part: Part) -> Template:
        """Return the parsed ``part``, raising ``PromptTemplateError`` if it breaks the grammar."""
        parsed = self._parsed[part]
        if isinstance(parsed, TemplateError):
            raise PromptTemplateError(
                f"In the {part} part: {parsed.message}",
                part=part,
                position=parsed.position,
                variable=parsed.variable,
            )
        return parsed

    @property
    def variables(self) -> tuple[str, ...]:
        """Return the variables of both parts, system first, each once in order of first use.

        A part that breaks the grammar contributes nothing (``validate`` says why), so a form can
        still be shown while the template is being edited.
        """
        names: dict[str, None] = {}
        for part in PARTS:
            parsed = self._parsed[part]
            if isinstance(parsed, Template):
                names.update(dict.fromkeys(parsed.variables))
        return tuple(names)

    def spec(self, name: str) -> VariableSpec:
        """Return the metadata of ``name``, or plain metadata (required, single-line) if it has none."""
        for spec in self.specs:
            if spec.name == name:
                return spec
        return VariableSpec(name)

    def variable_specs(self) -> tuple[VariableSpec, ...]:
        """Return the metadata of every variable: the form to show.

        Variables with metadata come first in the order the author listed them (so the main input,
        such as the text, can lead), then the others in order of first use.
        """
        used = self.variables
        described: list[VariableSpec] = []
        named: set[str] = set()
        for spec in self.specs:
            if spec.name in used and spec.name not in named:  # the first entry wins, as in ``spec``
                described.append(spec)
                named.add(spec.name)
        return (*described, *(VariableSpec(name) for name in used if name not in named))

    def validate(self) -> list[TemplateProblem]:
        """Return everything wrong with the template; an empty list means it is ready to use."""
        problems: list[TemplateProblem] = []
        if not self.name.strip():
            problems.append(TemplateProblem("name", None, "The template needs a name."))
        if not self.user.strip():
            problems.append(
                TemplateProblem("user", None, "The user part is empty: write the prompt the model receives.")
            )
        for part in PARTS:
            parsed = self._parsed[part]
            if isinstance(parsed, TemplateError):
                problems.append(TemplateProblem(part, parsed.position, parsed.message, parsed.variable))
        all_parts_parse = all(isinstance(parsed, Template) for parsed in self._parsed.values())
        used = set(self.variables)
        seen: set[str] = set()
        for index, spec in enumerate(self.specs):
            problems.extend(
                TemplateProblem("variables", index, message, spec.name)
                for message in _spec_problems(spec, duplicate=spec.name in seen)
            )
            seen.add(spec.name)
            # While a part does not parse its variables are unknown, so "unused" would be a guess.
            if all_parts_parse and spec.name not in used:
                problems.append(
                    TemplateProblem(
                        "variables",
                        index,
                        f"There is metadata for {{{spec.name}}}, but neither part uses it: "
                        "remove the metadata or use the variable.",
                        spec.name,
                    )
                )
        return problems

    def render(self, values: Mapping[str, object]) -> RenderedPrompt:
        """Fill in both parts with ``values``, using defaults for variables not given.

        Values come from outside (a person, a CSV row) and the system part is where the model
        takes instructions; so a variable there is filled in only if it ``instructs`` (marked
        trusted, or limited to the author's choices). Any other is named in the system part
        (``[the "text" data in the user message]``) and its value follows the user part as a
        delimited data block (``core.prompt_data``), with a line telling the model it is data.

        A value of None counts as not given. Raises ``PromptTemplateError`` when a part breaks the
        grammar, a variable without a default has no value (``position`` at its first use), a value
        names no variable (``position`` None) or a value is not among a variable's choices.
        """
        templates = {part: self.part_template(part) for part in PARTS}
        variables = self.variables
        for name in values:
            if name not in variables:
                raise PromptTemplateError(
                    f"A value was given for {name!r}, but the template has no variable {{{name}}}.",
                    part=None,
                    position=None,
                    variable=name,
                )
        filled: dict[str, str] = {}
        for name in variables:
            spec = self.spec(name)
            value = values.get(name)
            if value is None:
                if spec.default is None:
                    raise self._missing(name, templates)
                value = spec.default
            text = str(value)
            if not spec.accepts(text):
                raise PromptTemplateError(
                    f"{text!r} is not a choice for {{{name}}}; choose one of: {', '.join(spec.choices)}.",
                    part=None,
                    position=None,
                    variable=name,
                )
            filled[name] = text
        system, user = templates["system"], templates["user"]
        as_data = [name for name in system.variables if not self.spec(name).instructs]
        named = {name: f'[the "{name}" data in the user message]' for name in as_data}
        system_text = system.render_mapping({n: named.get(n, filled[n]) for n in system.variables})
        user_text = user.render_mapping({n: filled[n] for n in user.variables})
        if as_data:
            system_text = f"{system_text}\n\n{DATA_NOTICE}"
            user_text = "\n\n".join([user_text, *(data_block(name, filled[name]) for name in as_data)])
        return RenderedPrompt(system=system_text, user=user_text)

    @staticmethod
    def _missing(name: str, templates: Mapping[Part, Template]) -> PromptTemplateError:
        for part, template in templates.items():
            position = template.first_use(name)
            if position is not None:
                return PromptTemplateError(
                    f"No value was given for the variable {{{name}}} (first used in the {part} part "
                    f"at position {position}), and it has no default.",
                    part=part,
                    position=position,
                    variable=name,
                )
        raise AssertionError(f"{name!r} is in neither part")  # variables come from the parts

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON body of this template (every field, always present; see ``from_dict``)."""
        return {
            "schema": SCHEMA_VERSION,
            "name": self.name,
            "description": self.description,
            "system": self.system,
            "user": self.user,
            "variables": [
                {
                    "name": spec.name,
                    "description": spec.description,
                    "default": spec.default,
                    "multi_line": spec.multi_line,
                    "choices": list(spec.choices),
                    "allow_other": spec.allow_other,
                    # Written only when set, so bodies (and hashes) from before it stay the same.
                    **({"trusted": True} if spec.trusted else {}),
                }
                for spec in self.specs
            ],
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> PromptTemplate:
        """Read a JSON body written by ``to_dict``; fields other than ``user`` may be left out.

        Raises ``TemplateFormatError`` naming the field that is missing, mistyped or unknown, or
        saying the body comes from a newer version of Desktop LLM.
        """
        reader = _BodyReader(body, "template")
        schema = reader.integer("schema", SCHEMA_VERSION)
        if schema > SCHEMA_VERSION:
            raise TemplateFormatError(
                f"This template was written by a newer Desktop LLM (template format {schema}; this "
                f"version reads up to {SCHEMA_VERSION}). Update Desktop LLM to use it."
            )
        template = cls(
            name=reader.text("name", ""),
            description=reader.text("description", ""),
            system=reader.text("system", ""),
            user=reader.text("user"),
            specs=tuple(
                _read_spec(item, f"variables[{index}]")
                for index, item in enumerate(reader.array("variables"))
            ),
        )
        reader.reject_unknown({"schema", "name", "description", "system", "user", "variables"})
        return template

    def content_hash(self) -> str:
        """Return the sha256 (hex) of the canonical JSON of ``to_dict()``: equal bodies, equal hashes."""
        return body_hash(self.to_dict())


def body_hash(body: Mapping[str, Any]) -> str:
    """Return the sha256 (hex) of ``body`` as canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _spec_problems(spec: VariableSpec, *, duplicate: bool) -> list[str]:
    """Return what is wrong with one variable's metadata on its own."""
    name = f"{{{spec.name}}}"
    problems: list[str] = []
    if duplicate:
        problems.append(f"{name} has metadata twice; keep one entry.")
    counted: set[str] = set()
    for choice in spec.choices:
        if not choice.strip():
            problems.append(f"{name} has an empty choice; remove it.")
        elif choice in counted:
            problems.append(f"{name} lists the choice {choice!r} twice.")
        counted.add(choice)
    if spec.default is not None and not spec.accepts(spec.default):
        problems.append(
            f"The default {spec.default!r} of {name} is not one of its choices ({', '.join(spec.choices)}): "
            "add it to the choices, change it, or allow other values."
        )
    if spec.multi_line and spec.choices:
        problems.append(
            f"{name} is multi-line but has choices, which are single values: drop one of the two."
        )
    if spec.default is not None and not spec.multi_line and "\n" in spec.default:
        problems.append(
            f"The default of {name} spans several lines, but {name} is single-line: make it multi-line."
        )
    return problems


def _read_spec(item: Any, where: str) -> VariableSpec:
    """Read one entry of a body's ``variables`` list."""
    reader = _BodyReader(item, where)
    default = reader.value("default", None)
    if default is not None and not isinstance(default, str):
        raise TemplateFormatError(f"{where}.default must be a string or null.")
    spec = VariableSpec(
        name=reader.text("name"),
        description=reader.text("description", ""),
        default=default,
        multi_line=reader.boolean("multi_line", False),
        choices=tuple(reader.strings("choices")),
        allow_other=reader.boolean("allow_other", False),
        trusted=reader.boolean("trusted", False),
    )
    reader.reject_unknown(
        {"name", "description", "default", "multi_line", "choices", "allow_other", "trusted"}
    )
    return spec


_REQUIRED = object()


class _BodyReader:
    """Read typed fields from one JSON object, naming the field in every error."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise TemplateFormatError(f"{where} must be a JSON object.")
        self.data = data
        self.where = where

    def value(self, key: str, default: Any = _REQUIRED) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _REQUIRED:
            raise TemplateFormatError(f"{self.where} has no {key!r} field.")
        return default

    def text(self, key: str, default: Any = _REQUIRED) -> str:
        value = self.value(key, default)
        if not isinstance(value, str):
            raise TemplateFormatError(f"{self.where}.{key} must be a string.")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.value(key, default)
        if not isinstance(value, bool):
            raise TemplateFormatError(f"{self.where}.{key} must be true or false.")
        return value

    def integer(self, key: str, default: int) -> int:
        value = self.value(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TemplateFormatError(f"{self.where}.{key} must be a whole number.")
        return value

    def array(self, key: str) -> list[Any]:
        value = self.value(key, [])
        if not isinstance(value, list):
            raise TemplateFormatError(f"{self.where}.{key} must be a list.")
        return value

    def strings(self, key: str) -> list[str]:
        values = self.array(key)
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise TemplateFormatError(f"{self.where}.{key}[{index}] must be a string.")
        return values

    def reject_unknown(self, known: set[str]) -> None:
        unknown = sorted(set(self.data) - known)
        if unknown:
            raise TemplateFormatError(
                f"{self.where} has unknown field(s) {', '.join(map(repr, unknown))}; "
                f"the known fields are {', '.join(sorted(known))}."
            )
