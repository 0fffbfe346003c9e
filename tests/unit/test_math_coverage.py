"""How many formulas from real replies ziamath draws (the rest are shown as their LaTeX source)."""

from __future__ import annotations

from pathlib import Path

from desktop_llm.core.math_svg import formula_svg

FORMULAS = [
    line
    for line in (Path(__file__).parents[1] / "fixtures" / "math" / "formulas.txt").read_text().splitlines()
    if line and not line.startswith("#")
]
# Measured with ziamath 0.13; a drop means a regression in what the chat can show.
MINIMUM_DRAWN = 0.9


def test_the_coverage_of_formulas_from_real_replies(capsys) -> None:
    assert len(FORMULAS) >= 100
    failed = [latex for latex in FORMULAS if formula_svg(latex, False, "#000000", 16) is None]
    drawn = len(FORMULAS) - len(failed)
    with capsys.disabled():
        print(f"\nmath coverage: {drawn}/{len(FORMULAS)} drawn; shown as source: {failed}")
    assert drawn / len(FORMULAS) >= MINIMUM_DRAWN, failed
