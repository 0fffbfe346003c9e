"""Turn LaTeX into SVG with ziamath (pure Python: latex2mathml, then its own math layout and fonts).

Why ziamath (see docs/math.md): no web engine and no TeX install, about 4 MB with its STIX Two
Math font, a formula in about 10-20 ms, and coverage of what replies use (fractions, sums,
integrals, matrices, aligned equations, Greek, accents). Imported on the first formula only.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote

log = logging.getLogger(__name__)

MATH_SCHEME = "math"


def formula_name(latex: str, display: bool, colour: str, pixel_size: int) -> str:
    """Return the image name of a formula drawn in ``colour`` at ``pixel_size`` (all it depends on)."""
    mode = "d" if display else "i"
    return f"{MATH_SCHEME}:{mode}:{colour.lstrip('#')}:{pixel_size}:{quote(latex, safe='')}"


def parse_formula_name(name: str) -> tuple[str, bool, str, int] | None:
    """Return (latex, display, colour, pixel size) from a formula's image name, or None."""
    parts = name.split(":", 4)
    if len(parts) != 5 or parts[0] != MATH_SCHEME or parts[1] not in ("d", "i") or not parts[3].isdigit():
        return None
    return unquote(parts[4]), parts[1] == "d", f"#{parts[2]}", int(parts[3])


def load_math_library() -> None:
    """Import ziamath and draw one formula, so the first real one waits for neither."""
    formula_svg("x", False, "#000000", 16)


def formula_svg(latex: str, display: bool, colour: str, pixel_size: int) -> str | None:
    """Return the formula as SVG text, or None if ziamath cannot read it (the source is shown)."""
    from ziamath.config import config
    from ziamath.zmath import Latex

    # SVG 1.1 paths: QtSvg (SVG Tiny 1.2) draws no <symbol>/<use href>, ziamath's default.
    config.svg2 = False
    try:
        return str(Latex(latex, size=pixel_size, color=colour, inline=not display).svg())
    except Exception as error:  # noqa: BLE001 - latex2mathml raises many kinds; each means "not math"
        log.info("formula %r is shown as source: %s: %s", latex[:80], type(error).__name__, error)
        return None
