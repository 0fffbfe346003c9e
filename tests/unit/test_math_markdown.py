"""Math in markdown: which dollars and backslashes are math, and which stay text or code."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from desktop_llm.core.math_markdown import math_plugin, might_start_math
from desktop_llm.core.math_svg import formula_name, parse_formula_name

PARSER = MarkdownIt("commonmark").enable(["table"])
math_plugin(PARSER)


def formulas(text: str) -> list[tuple[str, str]]:
    found = []
    for token in PARSER.parse(text):
        for child in token.children or []:
            if child.type.startswith("math_"):
                found.append((child.type.removeprefix("math_"), child.content))
    return found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It costs $5 and $10.", []),  # currency
        ("between $5-$10 each", []),
        ("price $20 now, $30 later", []),
        ("for $5 and $10 each; `$y$` is code", []),
        ("$20 per month, or $x$ a year", [("inline", "x")]),
        ("Let $x^2$ be", [("inline", "x^2")]),
        ("$5, or $x$", [("inline", "x")]),
        (r"\$5 and $y$", [("inline", "y")]),  # an escaped dollar is a dollar
        (r"\$x\$ is not math", []),
        ("`$x$` is code", []),  # code spans are never math
        ("```\n$x$\n```", []),  # nor code blocks
        ("    $x$ indented code", []),
        ("$ x$ and $x $", []),  # spaces inside the delimiters: not math
        ("$$\\frac{a}{b}$$", [("display", "\\frac{a}{b}")]),
        ("$$\na \\\\ b\n$$", [("display", "a \\\\ b")]),
        (r"\(a+b\) and \[c\]", [("inline", "a+b"), ("display", "c")]),
        (r"\\(not math\\)", []),  # escaped backslashes
        ("$a$ and $b$", [("inline", "a"), ("inline", "b")]),
        ("$\\text{a \\$ b}$", [("inline", "\\text{a \\$ b}")]),  # an escaped dollar inside
        ("$$ $x$ $$", [("display", "$x$")]),  # nested delimiters belong to the outer formula
        ("**$x$** and [$y$](https://e.x)", [("inline", "x"), ("inline", "y")]),
        ("| $a$ | b |\n|---|---|\n| $c$ | d |", [("inline", "a"), ("inline", "c")]),
        ("unclosed $x and \\(y", []),
    ],
)
def test_math_is_found_exactly_where_it_is_meant(text: str, expected: list[tuple[str, str]]) -> None:
    assert formulas(text) == expected


def test_a_formula_name_carries_everything_it_is_drawn_from() -> None:
    name = formula_name("\\frac{a:b}{c} % 100", True, "#1f2328", 17)
    assert parse_formula_name(name) == ("\\frac{a:b}{c} % 100", True, "#1f2328", 17)
    assert parse_formula_name("math:x:1:2:3") is None
    assert parse_formula_name("https://example.com") is None


@pytest.mark.parametrize(
    ("piece", "expected"),
    [
        ("plain prose", False),
        ("a \\n escape", False),
        ("costs $", True),
        ("\\(x", True),
        ("\\[", True),
        ("ends \\", True),
    ],
)
def test_a_streamed_piece_that_may_open_a_formula_is_noticed(piece: str, expected: bool) -> None:
    assert might_start_math(piece) is expected
