"""Limits on what one message lays out: rows, columns, code and length, each cut with a note."""

from __future__ import annotations

from markdown_it import MarkdownIt

from desktop_llm.core.markdown_limits import NO_LIMITS, Limits, limit_markdown

PARSER = MarkdownIt("commonmark").enable(["table"])


def table(rows: int, columns: int = 3) -> str:
    header = "| " + " | ".join(f"h{c}" for c in range(columns)) + " |\n"
    rule = "|" + "---|" * columns + "\n"
    body = "".join("| " + " | ".join(f"r{r}c{c}" for c in range(columns)) + " |\n" for r in range(rows))
    return header + rule + body


def shape(text: str) -> tuple[int, int]:
    """Return (body rows, columns) of the first table markdown-it finds in ``text``."""
    tokens = PARSER.parse(text)
    rows = sum(1 for t in tokens if t.type == "tr_open") - 1
    first_row = next(i for i, t in enumerate(tokens) if t.type == "tr_open")
    columns = 0
    for token in tokens[first_row:]:
        if token.type == "tr_close":
            break
        columns += token.type == "th_open"
    return rows, columns


def test_a_long_table_keeps_its_first_rows_and_says_how_many_are_hidden() -> None:
    limited = limit_markdown("Intro\n\n" + table(20_000) + "\nAfter.\n", Limits())
    assert limited.hidden
    assert shape(limited.text) == (200, 3)
    assert "19,800 more rows not shown" in limited.text
    assert limited.text.rstrip().endswith("After.")


def test_a_wide_table_keeps_its_first_columns_in_every_row() -> None:
    limited = limit_markdown(table(3, columns=2000), Limits())
    assert limited.hidden and shape(limited.text) == (3, 24)
    assert "more columns not shown" in limited.text


def test_a_huge_code_block_keeps_its_first_lines_and_the_fence_closes() -> None:
    code = "x = 1\n" * 400_000  # 2.4 MB
    limited = limit_markdown(f"```python\n{code}```\nafter\n", Limits())
    fences = [t for t in PARSER.parse(limited.text) if t.type == "fence"]
    assert len(fences) == 1 and len(fences[0].content) <= Limits().code_chars
    assert "more lines of code not shown" in limited.text and "after" in limited.text
    # A fence that never closes is closed with its own marker.
    open_fence = limit_markdown("~~~~\n" + "y\n" * 50_000, Limits(total_chars=None))
    assert [t.type for t in PARSER.parse(open_fence.text)][:2] == ["fence", "paragraph_open"]


def test_a_long_message_is_cut_at_a_line_and_small_ones_are_untouched() -> None:
    prose = "".join(f"Line {i} of a long answer.\n\n" for i in range(20_000))
    limited = limit_markdown(prose, Limits(total_chars=10_000))
    assert limited.hidden and len(limited.text) < 10_200
    assert "more characters of this message not shown" in limited.text
    small = "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode\n```\n"
    assert limit_markdown(small, Limits()) == limit_markdown(small, NO_LIMITS)
    assert not limit_markdown(small, Limits()).hidden
    assert limit_markdown(small, Limits()).text == small


def test_pipes_inside_code_are_not_tables() -> None:
    code = "```\n| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 500 + "```\n"
    assert limit_markdown(code, Limits()).text == code
