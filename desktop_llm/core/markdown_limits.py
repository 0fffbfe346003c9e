"""Bound the markdown one message asks the view to lay out: rows, columns, code and length.

A reply can be a 20,000-row table, a 2,000-column table or a 2 MB code block; parsing and laying
that out blocked the app for tens of seconds. ``limit_markdown`` cuts the *source* before it is
parsed, line by line and block by block (so a block is cut the same way whether it arrives
whole or streamed), and says how much it left out; the view offers "Show all" for the rest.

- a table keeps its first ``table_rows`` body rows and ``table_columns`` columns;
- a fenced code block keeps its first ``code_chars`` characters (whole lines);
- the whole text keeps its first ``total_chars`` characters (whole lines), for finished messages.

Each cut is followed by a short italic note saying what is hidden. Plain Python, no Qt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPENING = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_DELIMITER = re.compile(r" {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class Limits:
    """How much of one message is laid out before "Show all"."""

    table_rows: int = 200
    table_columns: int = 24
    code_chars: int = 40_000
    total_chars: int | None = 100_000


NO_LIMITS = Limits(table_rows=1 << 60, table_columns=1 << 60, code_chars=1 << 60, total_chars=None)


@dataclass(frozen=True)
class LimitedMarkdown:
    """The source to render and whether anything was left out."""

    text: str
    hidden: bool


def _note(text: str) -> str:
    return f"\n*… {text} not shown*\n\n"


def _is_delimiter(line: str, header: str) -> bool:
    """Return True if ``line`` is a table's delimiter row under ``header``."""
    line = line.rstrip("\r\n")
    return bool(_DELIMITER.fullmatch(line)) and ("|" in line or header.strip().startswith("|"))


def _cells(row: str) -> list[str]:
    return _CELL_SPLIT.split(row)


def _cut_columns(row: str, columns: int) -> tuple[str, bool]:
    """Return ``row`` with at most ``columns`` cells (leading and trailing pipes kept)."""
    cells = _cells(row)
    leading = cells[0].strip() == "" and row.lstrip().startswith("|")
    first = 1 if leading else 0
    if len(cells) - first <= columns + 1:  # the last piece may be the empty after a final pipe
        return row, False
    kept = cells[: first + columns]
    return "|".join(kept) + "|", True


def limit_markdown(text: str, limits: Limits) -> LimitedMarkdown:
    """Return the part of ``text`` to render under ``limits``, with notes where it was cut."""
    if "|" not in text and len(text) <= limits.code_chars:
        return LimitedMarkdown(text, False)  # no table, and too short for any other limit
    return _Limiter(limits).run(text)


class _Limiter:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.out: list[str] = []
        self.hidden = False
        self.fence: re.Pattern[str] | None = None
        self.marker = ""
        self.code_kept = 0
        self.code_skipped = 0
        self.in_table = False
        self.table_rows = -2  # body rows kept so far (the header and delimiter count from -2)
        self.rows_skipped = 0
        self.columns_cut = False
        self.kept = 0  # characters of the source kept so far

    def _emit(self, line: str) -> None:
        self.kept += len(line)
        self.out.append(line)

    def run(self, text: str) -> LimitedMarkdown:
        read = 0
        lines = text.splitlines(keepends=True)
        for index, line in enumerate(lines):
            if self.limits.total_chars is not None and self.kept + len(line) > self.limits.total_chars:
                self._end_blocks()
                self.out.append(_note(f"{len(text) - read:,} more characters of this message"))
                self.hidden = True
                return LimitedMarkdown("".join(self.out), True)
            read += len(line)
            self._line(line, lines[index + 1] if index + 1 < len(lines) else None)
        self._end_blocks()
        return LimitedMarkdown("".join(self.out), self.hidden)

    def _line(self, line: str, following: str | None) -> None:
        body = line.rstrip("\r\n")
        if self.fence is not None:
            self._code_line(line, body)
            return
        if self.in_table:
            if body.strip() and "|" in body:
                self._table_row(line, body)
                return
            self._end_table()
        opening = _OPENING.fullmatch(body)
        if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            marker = self.marker = opening.group(1)
            self.fence = re.compile(rf" {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*")
            self.code_kept = self.code_skipped = 0
            self._emit(line)
            return
        if "|" in body and following is not None and _is_delimiter(following, body):
            self.in_table, self.table_rows = True, -2
            self.rows_skipped, self.columns_cut = 0, False
            self._table_row(line, body)
            return
        self._emit(line)

    def _code_line(self, line: str, body: str) -> None:
        assert self.fence is not None
        if self.fence.fullmatch(body):
            self._emit(line)
            self.fence = None
            if self.code_skipped:
                self.out.append(_note(f"{self.code_skipped:,} more lines of code"))
                self.hidden = True
            return
        if self.code_kept + len(line) > self.limits.code_chars:
            self.code_skipped += 1
            return
        self.code_kept += len(line)
        self._emit(line)

    def _table_row(self, line: str, body: str) -> None:
        ending = line[len(body) :]
        if self.table_rows >= self.limits.table_rows:
            self.rows_skipped += 1
            return
        row, cut = _cut_columns(body, self.limits.table_columns)
        self.columns_cut = self.columns_cut or cut
        self._emit(row + ending)
        self.table_rows += 1  # header and delimiter bring -2 up to 0

    def _end_table(self) -> None:
        if not self.in_table:
            return
        self.in_table = False
        hidden = []
        if self.rows_skipped:
            hidden.append(f"{self.rows_skipped:,} more rows")
        if self.columns_cut:
            hidden.append("more columns")
        if hidden:
            self.hidden = True
            if self.out and not self.out[-1].endswith(("\n", "\r")):
                self.out.append("\n")
            self.out.append(_note(" and ".join(hidden)))

    def _end_blocks(self) -> None:
        self._end_table()
        if self.fence is not None and self.code_skipped:
            self.hidden = True
            # The fence never closed: close it, then say what is missing.
            newline = "" if not self.out or self.out[-1].endswith(("\n", "\r")) else "\n"
            self.out.append(f"{newline}{self.marker}\n")
            self.out.append(_note(f"{self.code_skipped:,} more lines of code"))
