"""Math: formulas drawn per second and the first formula's latency, against showing the source.

- ``first_formula_ms``: a fresh process imports ziamath and draws one formula (what the first
  formula of a session costs; the chat view does it on a worker thread);
- ``formulas_per_s``: the 122 formulas of tests/fixtures/math/formulas.txt drawn to SVG by
  ziamath, then to an image by QtSvg (the whole path of a formula);
- baseline: the same formulas laid out as their source text in a QTextDocument (what the view
  shows while a formula is being drawn, and for invalid LaTeX).
- ``first_formula_in_view_ms``: in a fresh process, a chat view streams a reply at 50 tokens a
  second whose first formula is display math (16 tokens) or inline math (4 tokens); the time
  from its closing delimiter to the formula drawn, with the library loaded as soon as the stream
  (or the question) shows a ``$`` (``warm``) and, as the same-run baseline, only when the
  formula is complete (``cold``, what the app did before).

Usage: python bench/math_render.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FIRST = (
    "import time; t = time.perf_counter(); from desktop_llm.core.math_svg import formula_svg;"
    " formula_svg(r'\\frac{a}{b} + \\sum_{i=1}^n x_i', False, '#000000', 16);"
    " print(time.perf_counter() - t)"
)


DISPLAY = [
    "The ",
    "Gaussian ",
    "integral ",
    "is\n\n",
    "$$",
    "\\int",
    "_0",
    "^",
    "\\infty ",
    "e",
    "^{-",
    "x^2}",
    "\\,",
    "dx ",
    "= ",
    "\\frac",
    "{\\sqrt",
    "{\\pi}}",
    "{2}",
    "$$",
]
INLINE = ["The ", "area ", "of ", "a ", "circle ", "is ", "$", "\\pi ", "r", "^2", "$"]
# (question, reply pieces): the question is shown as typed; a ``$`` in it warms the library too.
STREAMS = {
    "display": ("The Gaussian integral?", DISPLAY),
    "inline": ("The area of a circle?", INLINE),
    "inline, math in the question": ("The area of a circle of radius $r$?", INLINE),
}
TOKEN_SECONDS = 0.02  # 50 tokens a second

IN_VIEW = """
import sys, time
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from desktop_llm.ui.chat.chat_view import ChatView, MessageView
from desktop_llm.ui.common.math_images import MathImages
sys.path.insert(0, {bench!r})
from math_render import STREAMS, TOKEN_SECONDS, spin

class Cold(MathImages):
    def warm(self):  # the library loads with the first complete formula only
        pass

math = (MathImages if {warm!r} else Cold)()
drawn = []
math.drawn.connect(lambda name: drawn.append(time.perf_counter()))
view = ChatView(math=math)
view.resize(760, 600)
view.show()
question, pieces = STREAMS[{stream!r}]
view.set_messages([MessageView("u1", "user", question)])
spin(app, 0.3)
view.start_streaming("a1")
for piece in pieces:
    view.append_stream_text("a1", piece)
    view.refresh_streams()
    closed = time.perf_counter()
    spin(app, TOKEN_SECONDS)
while not drawn:
    spin(app, 0.002)
print(drawn[0] - closed)
"""


def spin(app: object, seconds: float) -> None:
    """Run the Qt event loop for ``seconds``."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.001)


def in_view_ms(stream: str, warm: bool, runs: int) -> float:
    times = []
    for _ in range(runs):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        script = IN_VIEW.format(bench=str(ROOT / "bench"), warm=warm, stream=stream)
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]) * 1000)
    return round(sorted(times)[len(times) // 2], 1)


def formulas() -> list[str]:
    lines = (ROOT / "tests" / "fixtures" / "math" / "formulas.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def first_formula_ms(runs: int) -> float:
    times = []
    for _ in range(runs):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        command = [sys.executable, "-c", FIRST]
        out = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        times.append(float(out.stdout.strip()) * 1000)
    return round(sorted(times)[len(times) // 2], 1)


def main(quick: bool) -> dict:
    from PySide6.QtGui import QTextDocument
    from PySide6.QtWidgets import QApplication

    from desktop_llm.core.math_svg import formula_svg
    from desktop_llm.ui.common.math_images import svg_image

    QApplication.instance() or QApplication(sys.argv[:1])
    items = formulas()[:40] if quick else formulas()
    formula_svg("x", False, "#000000", 16)  # imported and warm: the steady rate
    start = time.perf_counter()
    drawn = 0
    for latex in items:
        svg = formula_svg(latex, False, "#1f2328", 16)
        drawn += svg is not None and svg_image(svg, 1.0) is not None
    math_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for latex in items:
        document = QTextDocument()
        document.setPlainText(f"${latex}$")
        document.documentLayout().documentSize()
    baseline_seconds = time.perf_counter() - start
    runs = 3 if quick else 7
    in_view = {
        stream: {"warm": in_view_ms(stream, True, runs), "cold (baseline)": in_view_ms(stream, False, runs)}
        for stream in STREAMS
    }
    rate = len(items) / math_seconds
    baseline_rate = len(items) / baseline_seconds
    return {
        "benchmark": "math",
        "quick": quick,
        "formulas": len(items),
        "drawn": drawn,
        "figure": "formulas_per_s (ziamath SVG + QtSvg image, warm)",
        "formulas_per_s": round(rate, 1),
        "first_formula_ms": first_formula_ms(3 if quick else 7),
        "baseline": {
            "method": "the source laid out as text in a QTextDocument",
            "formulas_per_s": round(baseline_rate),
        },
        "ratio_vs_baseline": round(rate / baseline_rate, 4),
        "first_formula_in_view_ms": in_view,
        "first_formula_in_view_ratio": {
            stream: round(times["warm"] / times["cold (baseline)"], 3) for stream, times in in_view.items()
        },
    }


def cli() -> None:
    """Parse arguments, run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 formulas, 3 first-formula runs")
    print(json.dumps(main(parser.parse_args().quick), indent=2))


if __name__ == "__main__":
    cli()
