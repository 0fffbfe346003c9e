"""Show what changed between two versions of a template, side by side, in colour.

A version's body is laid out as readable text (name, description, each part, each variable's
metadata), the two texts are compared line by line with ``difflib``, and changed lines are
compared again character by character so a one-word edit in a long prompt is easy to spot.
Removed text is red on the left, added text green on the right.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from PySide6.QtWidgets import QTextBrowser, QWidget

from desktop_llm.core.prompt_templates import PromptTemplate
from desktop_llm.core.theme import DiffColours, diff_colours_for
from desktop_llm.ui.common.theme import is_dark

RowKind = Literal["same", "changed", "removed", "added"]


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff: the old line (None: nothing there) and the new one."""

    kind: RowKind
    old: str | None
    new: str | None


def body_lines(body: Mapping[str, Any]) -> list[str]:
    """Return a version's body as the lines the diff compares."""
    template = PromptTemplate.from_dict(body)
    lines = [f"Name: {template.name}", f"Description: {template.description}", "", "── System part ──"]
    lines += template.system.split("\n") if template.system else ["(empty)"]
    lines += ["", "── User part ──", *template.user.split("\n"), "", "── Variables ──"]
    if not template.specs:
        lines.append("(no metadata)")
    for spec in template.specs:
        details = ["multi-line" if spec.multi_line else "single-line"]
        details.append("required" if spec.default is None else f"default {spec.default!r}")
        if spec.choices:
            details.append(
                "choices " + " | ".join(spec.choices) + (" (or other)" if spec.allow_other else "")
            )
        lines.append(f"{{{spec.name}}}: {', '.join(details)}")
        if spec.description:
            lines.append(f"    {spec.description}")
    return lines


def diff_rows(old: list[str], new: list[str]) -> list[DiffRow]:
    """Pair the lines of two texts for a side-by-side view."""
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [DiffRow("same", line, line) for line in old[i1:i2]]
        elif tag == "delete":
            rows += [DiffRow("removed", line, None) for line in old[i1:i2]]
        elif tag == "insert":
            rows += [DiffRow("added", None, line) for line in new[j1:j2]]
        else:
            left, right = old[i1:i2], new[j1:j2]
            for index in range(max(len(left), len(right))):
                a = left[index] if index < len(left) else None
                b = right[index] if index < len(right) else None
                kind: RowKind = "removed" if b is None else "added" if a is None else "changed"
                rows.append(DiffRow(kind, a, b))
    return rows


def _marked(text: str, other: str, colour: str, *, old_side: bool) -> str:
    """Return ``text`` as HTML with the characters that differ from ``other`` highlighted."""
    a, b = (text, other) if old_side else (other, text)
    pieces: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        chunk = a[i1:i2] if old_side else b[j1:j2]
        if not chunk:
            continue
        escaped = html.escape(chunk)
        pieces.append(escaped if tag == "equal" else f"<span style='background:{colour}'>{escaped}</span>")
    return "".join(pieces)


def diff_html(rows: list[DiffRow], colours: DiffColours, old_title: str, new_title: str) -> str:
    """Return a two-column HTML table of ``rows``."""
    out = [
        "<table width='100%' cellspacing='0' cellpadding='2' style='font-family: monospace'>",
        f"<tr><th align='left' width='50%'>{html.escape(old_title)}</th>"
        f"<th align='left' width='50%'>{html.escape(new_title)}</th></tr>",
    ]
    for row in rows:
        old = new = ""
        old_bg = new_bg = ""
        if row.kind == "same":
            old = new = html.escape(row.old or "")
        elif row.kind == "changed":
            old = _marked(row.old or "", row.new or "", colours.removed_text, old_side=True)
            new = _marked(row.new or "", row.old or "", colours.added_text, old_side=False)
            old_bg, new_bg = colours.removed_line, colours.added_line
        elif row.kind == "removed":
            old, old_bg = html.escape(row.old or ""), colours.removed_line
        else:
            new, new_bg = html.escape(row.new or ""), colours.added_line
        out.append(
            f"<tr><td style='{_background(old_bg)}'>{_cell(old)}</td>"
            f"<td style='{_background(new_bg)}'>{_cell(new)}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def _background(colour: str) -> str:
    return f"background:{colour};" if colour else ""


def _cell(markup: str) -> str:
    # Keep indentation and give empty lines their height.
    return markup.replace("  ", "&nbsp;&nbsp;") or "&nbsp;"


class VersionDiff(QTextBrowser):
    """A read-only side-by-side diff of two template bodies."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("versionDiff")
        self.setOpenLinks(False)
        self.rows: list[DiffRow] = []

    def show_diff(
        self, old: Mapping[str, Any], new: Mapping[str, Any], old_title: str, new_title: str
    ) -> None:
        """Compare ``old`` and ``new`` (version bodies) and show the result."""
        self.rows = diff_rows(body_lines(old), body_lines(new))
        colours = diff_colours_for(is_dark(self.palette()))
        if all(row.kind == "same" for row in self.rows):
            self.setHtml(
                f"<p><i>{html.escape(old_title)} and {html.escape(new_title)} are identical.</i></p>"
                + diff_html(self.rows, colours, old_title, new_title)
            )
        else:
            self.setHtml(diff_html(self.rows, colours, old_title, new_title))

    def changed_rows(self) -> list[DiffRow]:
        """Return the rows that differ (for tests and the summary)."""
        return [row for row in self.rows if row.kind != "same"]
