"""Parse and render the prompt-template grammar: ``{name}`` variables and ``{{``/``}}`` literal braces.

The grammar (DESIGN.md, "Other public names") is a strict subset of ``str.format``:

- ``{name}`` is a variable; ``name`` is a Python identifier (``str.isidentifier``) and nothing else
  may stand inside the braces: no spaces, attributes, indexes, conversions or format specs.
  Keywords such as ``{class}`` or ``{from}`` are accepted: they are identifiers, and to the person
  writing a prompt they are ordinary words. Names are compared exactly as written (no Unicode
  normalisation), so ``{größe}`` and ``{名前}`` work.
- ``{{`` and ``}}`` are a literal ``{`` and ``}``, read left to right as ``str.format`` does, so
  ``{{{x}}}`` is ``{`` + the value of ``x`` + ``}``.
- Anything else (``{}``, ``{a.b}``, ``{x:>3}``, ``{ x }``, an unclosed ``{``, a lone ``}``) is a
  ``TemplateError`` whose ``position`` is the offset of the offending brace.

Parsing is one left-to-right pass: every character is looked at a bounded number of times.
Rendering inserts ``str(value)`` verbatim; a value is never parsed as a template itself.

Defaults and per-variable metadata live in ``desktop_llm.core.prompt_templates``, not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Template", "TemplateError", "Variable", "escape", "parse_template"]

_BRACE_HINT = "Write {{ or }} for a literal brace."


class TemplateError(ValueError):
    """A template that does not follow the grammar, or values that do not fit it.

    Args:
        message: what is wrong, naming the variable where there is one.
        position: the offset into the template text of the offending brace (syntax errors) or of
            the variable's first use (a missing value); None when no place in the text is at fault
            (an unexpected value).
        variable: the variable concerned, if any.
    """

    def __init__(self, message: str, *, position: int | None = None, variable: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.variable = variable

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Variable:
    """One use of a variable in a template: its name and the offset of its opening brace."""

    name: str
    position: int


# A parsed template is a sequence of literal text and variable uses.
Segment = str | Variable


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and variables, ready to render many times.

    ``variables`` holds each variable's name once, in order of first appearance.
    """

    text: str
    segments: tuple[Segment, ...]
    variables: tuple[str, ...]

    def first_use(self, name: str) -> int | None:
        """Return the offset of the first ``{name}`` in the text, or None if it is not used."""
        for segment in self.segments:
            if isinstance(segment, Variable) and segment.name == name:
                return segment.position
        return None

    def render(self, /, **values: object) -> str:
        """Return the text with every variable replaced by ``str()`` of its value.

        Raises ``TemplateError`` when a variable has no value (``position`` at its first use) or
        a value names no variable of this template (``position`` None).
        """
        return self.render_mapping(values)

    def render_mapping(self, values: Mapping[str, object]) -> str:
        """Return the text rendered with ``values``, as ``render`` does but from a mapping."""
        for name in self.variables:
            if name not in values:
                position = self.first_use(name)
                raise TemplateError(
                    f"No value was given for the variable {{{name}}} (first used at position {position}).",
                    position=position,
                    variable=name,
                )
        known = set(self.variables)
        for name in values:
            if name not in known:
                raise TemplateError(
                    f"A value was given for {name!r}, but the template has no variable {{{name}}}.",
                    variable=name,
                )
        return "".join(
            segment if isinstance(segment, str) else str(values[segment.name]) for segment in self.segments
        )


def escape(text: str) -> str:
    """Return ``text`` as a template that renders to exactly ``text`` (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


def parse_template(text: str) -> Template:
    """Parse ``text`` in the template grammar, raising ``TemplateError`` at the first mistake."""
    segments: list[Segment] = []
    literal: list[str] = []  # pieces of the literal run being collected
    seen: dict[str, None] = {}  # an insertion-ordered set of names
    i = 0  # everything before i has been consumed
    # The next "{" and "}" at or after i (-1: none left). Each is searched again only once i has
    # passed it, so every character is scanned at most once per brace kind: linear time.
    next_open = text.find("{")
    next_close = text.find("}")
    while next_open >= 0 or next_close >= 0:
        if next_close >= 0 and (next_open < 0 or next_close < next_open):
            if not text.startswith("}", next_close + 1):
                raise TemplateError(
                    f"A single '}}' at position {next_close} closes nothing. {_BRACE_HINT}",
                    position=next_close,
                )
            literal.append(text[i : next_close + 1])
            i = next_close + 2
        elif text.startswith("{", next_open + 1):
            literal.append(text[i : next_open + 1])
            i = next_open + 2
        else:
            brace = next_open
            next_open = text.find("{", brace + 1)
            name = _variable_name(text, brace, next_open, next_close)
            literal.append(text[i:brace])
            if any(literal):
                segments.append("".join(literal))
            literal.clear()
            segments.append(Variable(name, brace))
            seen.setdefault(name, None)
            i = next_close + 1
        if 0 <= next_open < i:
            next_open = text.find("{", i)
        if 0 <= next_close < i:
            next_close = text.find("}", i)
    literal.append(text[i:])
    if any(literal):
        segments.append("".join(literal))
    return Template(text=text, segments=tuple(segments), variables=tuple(seen))


def _variable_name(text: str, brace: int, next_open: int, next_close: int) -> str:
    """Return the name of the variable whose "{" is at ``brace``, or raise ``TemplateError``.

    ``next_open`` and ``next_close`` are the first "{" and "}" after ``brace`` (-1: none).
    """
    if next_close < 0:
        raise TemplateError(f"The '{{' at position {brace} is never closed. {_BRACE_HINT}", position=brace)
    if 0 <= next_open < next_close:
        raise TemplateError(
            f"The '{{' at position {brace} is not closed before the next '{{'. {_BRACE_HINT}",
            position=brace,
        )
    name = text[brace + 1 : next_close]
    if not name:
        raise TemplateError(
            f"The braces at position {brace} are empty: put a variable name inside, like {{text}}. "
            + _BRACE_HINT,
            position=brace,
        )
    if not name.isidentifier():
        raise TemplateError(
            f"'{{{_shorten(name)}}}' at position {brace} is not a variable: a name holds only letters, "
            "digits and underscores and does not start with a digit; nothing else goes inside the braces "
            f"(no spaces, dots or formats). {_BRACE_HINT}",
            position=brace,
        )
    return name


def _shorten(text: str, limit: int = 40) -> str:
    """Return ``text`` cut to ``limit`` characters with an ellipsis, so a message stays readable."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
