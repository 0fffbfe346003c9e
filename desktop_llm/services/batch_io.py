"""Read a batch's rows from CSV, JSONL or pasted text, and write its results as CSV or JSONL.

Input formats (UTF-8, a byte-order mark is ignored):

- CSV (or TSV): the first row names the columns; each column named like a template variable
  gives that variable's value. An empty cell is an empty value; a row of empty cells is skipped.
  Other columns ride along into the results (ids, notes).
- JSONL: one JSON object per line; keys are column names. A missing key or ``null`` means "not
  given", so the variable's default applies. Numbers and booleans are written as JSON writes
  them (``3``, ``true``); lists and objects as compact JSON text.
- Pasted text: a table copied from a spreadsheet (tab-separated, first row the column names),
  or plain text giving the template's first variable (the first field of its form) one row per
  line, or one row per block when blocks are separated by lines holding only ``---``. The other
  variables then take their defaults.

Every problem raises ``BatchInputError`` with the 1-based line it is on; a column the template
needs (a variable without a default) that the input lacks is named.

Results are written one line per input row, in input order: the row number (from 1), the input
columns, then ``status`` ("done", "failed" or "pending" for rows not run yet), ``output``,
``error``, ``cached``, ``model``, ``finish_reason``, ``input_tokens``, ``output_tokens`` and
``seconds``. In CSV an input column whose name is taken by a result column is written as
``input:<name>``; JSONL keeps the inputs apart under ``"input"``. A CSV cell that a spreadsheet
would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return:
model output and input rows come from outside) is written with a leading ``'``, as OWASP
advises; JSONL is written as it is.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from desktop_llm.core.prompt_templates import PromptTemplate
from desktop_llm.services.batch import RowResult

__all__ = [
    "BatchInput",
    "BatchInputError",
    "read_batch_file",
    "read_csv",
    "read_jsonl",
    "read_pasted",
    "write_results_csv",
    "write_results_jsonl",
]

ROW_SEPARATOR = "---"
RESULT_COLUMNS = (
    "status",
    "output",
    "error",
    "cached",
    "model",
    "finish_reason",
    "input_tokens",
    "output_tokens",
    "seconds",
)


class BatchInputError(ValueError):
    """Input rows that cannot be used; ``line`` is where (1-based), None when the whole input is at fault."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(f"Line {line}: {message}" if line is not None else message)
        self.line = line


@dataclass(frozen=True)
class BatchInput:
    """The rows of a batch: column names in input order, and one mapping per row."""

    columns: tuple[str, ...]
    rows: tuple[dict[str, str], ...]


# -- reading ----------------------------------------------------------------------------------


def read_batch_file(path: Path, template: PromptTemplate | None = None) -> BatchInput:
    """Read ``path`` by its extension: .csv, .tsv, .jsonl/.ndjson, anything else as pasted text.

    Blocking (reads the file): call it off the Qt thread.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BatchInputError(f"Cannot read {path}: {error.strerror or error}.") from error
    text = _decode(data)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(text, template)
    if suffix == ".tsv":
        return read_csv(text, template, delimiter="\t")
    if suffix in (".jsonl", ".ndjson"):
        return read_jsonl(text, template)
    if template is None:
        raise BatchInputError(f"{path.name} is plain text; reading it needs the template.")
    return read_pasted(text, template)


def read_csv(text: str, template: PromptTemplate | None = None, *, delimiter: str = ",") -> BatchInput:
    """Read CSV (or, with ``delimiter="\\t"``, TSV) whose first row names the columns."""
    reader = csv.reader(
        io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=delimiter, strict=True
    )
    columns: tuple[str, ...] | None = None
    rows: list[dict[str, str]] = []
    line = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise BatchInputError(f"{_csv_problem(error)}.", line=line) from error
        if not any(value.strip() for value in record):
            # A blank line, or a spreadsheet's empty row (",,,"): nothing to run.
            line = reader.line_num + 1
            continue
        if columns is None:
            columns = _header(record, line)
        elif len(record) != len(columns):
            raise BatchInputError(
                f"this row has {_count(len(record), 'value')} but the header names {len(columns)} columns "
                f"({', '.join(columns)}). A value holding the separator must be quoted.",
                line=line,
            )
        else:
            rows.append(dict(zip(columns, record, strict=True)))
        line = reader.line_num + 1
    return _finish(columns, rows, template)


def read_jsonl(text: str, template: PromptTemplate | None = None) -> BatchInput:
    """Read one JSON object per line (blank lines are skipped)."""
    columns: dict[str, None] = {}
    rows: list[dict[str, str]] = []
    required = _required(template)
    # Only "\n" ends a JSONL line: str.splitlines would also split inside a JSON string at
    # U+2028 and other characters JSON allows unescaped.
    for line, source in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        if not source.strip():
            continue
        try:
            item = json.loads(source)
        except json.JSONDecodeError as error:
            raise BatchInputError(
                f"not valid JSON: {error.msg} (column {error.colno}).", line=line
            ) from error
        if not isinstance(item, dict):
            raise BatchInputError(f"expected a JSON object {{...}}, found {_json_kind(item)}.", line=line)
        row = {key: _json_text(value) for key, value in item.items() if value is not None}
        missing = [name for name in required if name not in row]
        if missing:
            raise BatchInputError(
                f"no value for {_names(missing)}, which the template needs (no default).", line=line
            )
        columns.update(dict.fromkeys(item))
        rows.append(row)
    if not rows:
        raise BatchInputError("The input holds no rows: write one JSON object per line.")
    return BatchInput(tuple(columns), tuple(rows))


def read_pasted(text: str, template: PromptTemplate) -> BatchInput:
    """Read pasted text: a tab-separated table with a header, or values of the first variable."""
    text = text.removeprefix("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first_line = next((line for line in lines if line.strip()), "")
    if "\t" in first_line:
        return read_csv(text, template, delimiter="\t")
    specs = template.variable_specs()
    if not specs:
        raise BatchInputError("The template has no variables, so there is nothing to fill in from rows.")
    column = specs[0].name
    others = [spec.name for spec in specs[1:] if spec.required]
    if others:
        raise BatchInputError(
            f"Pasted lines fill only {{{column}}}, but the template also needs {_names(others)}. "
            "Paste a table with a header row instead (tab-separated, as copied from a spreadsheet)."
        )
    if any(line.strip() == ROW_SEPARATOR for line in lines):
        values = _blocks(lines)
    else:
        values = [line for line in lines if line.strip()]
    if not values:
        raise BatchInputError("Nothing was pasted: give one value per line, or blocks separated by ---.")
    return BatchInput((column,), tuple({column: value} for value in values))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BatchInputError(
            "the file is not UTF-8 text; save it as UTF-8 (in a spreadsheet: CSV UTF-8).", line=line
        ) from error


def _csv_problem(error: csv.Error) -> str:
    message = str(error)
    if "unexpected end of data" in message:
        return 'a quoted value is never closed (a " is missing)'
    if "field larger than field limit" in message:
        return f"a value is longer than {csv.field_size_limit()} characters"
    if "expected" in message and "after" in message:
        return 'a closing quote is followed by more text; write a quote inside a quoted value as ""'
    return f"malformed CSV ({message})"


def _header(record: list[str], line: int) -> tuple[str, ...]:
    names = tuple(name.strip() for name in record)
    for position, name in enumerate(names, start=1):
        if not name:
            raise BatchInputError(f"column {position} of the header row has no name.", line=line)
        if names.index(name) != position - 1:
            raise BatchInputError(f"the header row names the column {name!r} twice.", line=line)
    return names


def _finish(
    columns: tuple[str, ...] | None, rows: list[dict[str, str]], template: PromptTemplate | None
) -> BatchInput:
    if columns is None:
        raise BatchInputError("The input is empty: the first row must name the columns.")
    missing = [name for name in _required(template) if name not in columns]
    if missing:
        raise BatchInputError(
            f"The input has no column for {_names(missing)}, which the template needs (no default). "
            f"Columns found: {', '.join(columns)}.",
            line=1,
        )
    if not rows:
        raise BatchInputError("The input has a header row but no rows below it.")
    return BatchInput(columns, tuple(rows))


def _required(template: PromptTemplate | None) -> list[str]:
    if template is None:
        return []
    return [spec.name for spec in template.variable_specs() if spec.required]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _names(names: Sequence[str]) -> str:
    return ", ".join(f"{{{name}}}" for name in names)


def _json_kind(value: Any) -> str:
    kinds = {list: "a list", str: "a string", bool: "true or false", int: "a number", float: "a number"}
    return kinds.get(type(value), "null")


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _blocks(lines: list[str]) -> list[str]:
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip() == ROW_SEPARATOR:
            blocks.append([])
        else:
            blocks[-1].append(line)
    texts = ("\n".join(block).strip("\n") for block in blocks)
    return [text for text in texts if text.strip()]


# -- writing ----------------------------------------------------------------------------------


def write_results_csv(out: TextIO, batch: BatchInput, results: Mapping[int, RowResult]) -> None:
    """Write one CSV line per input row: row number, inputs, then the result columns."""
    taken = {"row", *RESULT_COLUMNS}
    headers = ["row", *(f"input:{c}" if c in taken else c for c in batch.columns), *RESULT_COLUMNS]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    for index, row, result in _each_row(batch, results):
        outcome = _outcome(result)
        writer.writerow(
            [
                index + 1,
                *(_safe(row.get(column, "")) for column in batch.columns),
                *("" if outcome[name] is None else _safe(_cell(outcome[name])) for name in RESULT_COLUMNS),
            ]
        )


def write_results_jsonl(out: TextIO, batch: BatchInput, results: Mapping[int, RowResult]) -> None:
    """Write one JSON object per input row: ``row``, ``input`` (the row's values), then the results."""
    for index, row, result in _each_row(batch, results):
        line = {"row": index + 1, "input": row, **_outcome(result)}
        out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _each_row(
    batch: BatchInput, results: Mapping[int, RowResult]
) -> Iterable[tuple[int, dict[str, str], RowResult | None]]:
    for index, row in enumerate(batch.rows):
        yield index, row, results.get(index)


def _outcome(result: RowResult | None) -> dict[str, Any]:
    if result is None:
        return dict.fromkeys(RESULT_COLUMNS) | {"status": "pending", "cached": False}
    usage = result.usage
    return {
        "status": result.status,
        "output": result.text,
        "error": result.error,
        "cached": result.cached,
        "model": result.model,
        "finish_reason": result.finish_reason,
        "input_tokens": None if usage is None else usage.input_tokens,
        "output_tokens": None if usage is None else usage.output_tokens,
        "seconds": round(result.seconds, 3),
    }


# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(text: str) -> str:
    """Return ``text`` so a spreadsheet shows it as text: a leading ``'`` before a formula start."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
