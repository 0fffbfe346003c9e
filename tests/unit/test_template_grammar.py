"""The template grammar: variables, literal braces, every error and its position, rendering."""

from __future__ import annotations

import keyword
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_llm.core.templates import TemplateError, Variable, escape, parse_template


def test_the_design_example() -> None:
    template = parse_template("Translate {text} into {language}. Literal braces: {{ and }}.")
    assert template.variables == ("text", "language")
    assert (
        template.render(text="hi", language="French") == "Translate hi into French. Literal braces: { and }."
    )


def test_variables_are_listed_once_in_order_of_first_appearance() -> None:
    template = parse_template("{b} {a} {b} {c} {a}")
    assert template.variables == ("b", "a", "c")
    assert template.render(a=1, b=2, c=3) == "2 1 2 3 1"


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("", ""),
        ("plain text", "plain text"),
        ("{{", "{"),
        ("}}", "}"),
        ("{{}}", "{}"),
        ("{{x}}", "{x}"),
        ("{{{x}}}", "{X}"),
        ("{{{{x}}}}", "{{x}}"),
        ("{x}{x}", "XX"),
        ("a{x}b", "aXb"),
        ("}}{x}{{", "}X{"),
        ("{x}}}", "X}"),
        ("{{{x}", "{X"),
    ],
)
def test_literal_braces_read_left_to_right_like_str_format(text: str, rendered: str) -> None:
    template = parse_template(text)
    assert template.render_mapping({"x": "X"} if template.variables else {}) == rendered
    assert rendered == text.format(x="X")


@pytest.mark.parametrize(
    "name",
    ["x", "_", "_private", "snake_case", "CamelCase", "x1", "größe", "名前", "ℌ", "class", "from", "None"],
)
def test_any_python_identifier_is_a_variable_keywords_included(name: str) -> None:
    template = parse_template(f"<{{{name}}}>")
    assert template.variables == (name,)
    assert template.render_mapping({name: "v"}) == "<v>"


def test_keywords_really_are_accepted() -> None:
    text = " ".join(f"{{{word}}}" for word in keyword.kwlist)
    assert parse_template(text).variables == tuple(keyword.kwlist)


def test_a_variable_named_self_can_be_passed_as_a_keyword() -> None:
    assert parse_template("{self}").render(self="me") == "me"


def test_segments_keep_each_variable_position() -> None:
    template = parse_template("ab{x}{{c{y}")
    assert template.segments == ("ab", Variable("x", 2), "{c", Variable("y", 8))
    assert template.first_use("y") == 8
    assert template.first_use("nope") is None


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("{}", 0, "empty"),
        ("ab {} cd", 3, "empty"),
        ("{a.b}", 0, "not a variable"),
        ("{a[0]}", 0, "not a variable"),
        ("{x:>3}", 0, "not a variable"),
        ("{x!r}", 0, "not a variable"),
        ("{ x }", 0, "not a variable"),
        ("{x }", 0, "not a variable"),
        ("{ x}", 0, "not a variable"),
        ("{1x}", 0, "not a variable"),
        ("{0}", 0, "not a variable"),
        ("{a-b}", 0, "not a variable"),
        ("{x\n}", 0, "not a variable"),
        ("ok {x} then {a b}", 12, "not a variable"),
        ("{", 0, "never closed"),
        ("abc{", 3, "never closed"),
        ("{x", 0, "never closed"),
        ("{x} {y", 4, "never closed"),
        ("{{{", 2, "never closed"),
        ("{a{b}", 0, "before the next"),
        ("{a{{b}}", 0, "before the next"),
        ("}", 0, "closes nothing"),
        ("a}b", 1, "closes nothing"),
        ("}}}", 2, "closes nothing"),
        ("{x}}", 3, "closes nothing"),
        ("{{x}", 3, "closes nothing"),
        ("{x} }", 4, "closes nothing"),
    ],
)
def test_every_syntax_error_names_the_offending_brace(text: str, position: int, words: str) -> None:
    with pytest.raises(TemplateError, match=words) as caught:
        parse_template(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.position == position
    assert text[position] in "{}"
    assert f"position {position}" in str(error)
    assert "{{" in str(error)  # every syntax error says how to write a literal brace


def test_the_first_error_wins() -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template("fine {ok} } then {bad name}")
    assert caught.value.position == 10


def test_a_huge_bad_name_is_shortened_in_the_message() -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template("{" + "a b" * 1000 + "}")
    assert len(str(caught.value)) < 400


def test_a_missing_value_names_the_variable_and_its_first_use() -> None:
    template = parse_template("Hello {name}, meet {other} and {name}.")
    with pytest.raises(TemplateError, match=r"\{other\}") as caught:
        template.render(name="Ann")
    assert caught.value.position == 19
    assert caught.value.variable == "other"


def test_an_unexpected_value_names_the_variable_without_a_position() -> None:
    template = parse_template("Hello {name}.")
    with pytest.raises(TemplateError, match="'nmae'") as caught:
        template.render(name="Ann", nmae="typo")
    assert caught.value.position is None
    assert caught.value.variable == "nmae"


def test_values_are_inserted_verbatim_and_never_parsed() -> None:
    template = parse_template("[{a}] [{b}]")
    assert template.render(a="{b}", b="{{ } {") == "[{b}] [{{ } {]"
    assert template.render(a=3, b=None) == "[3] [None]"  # str() of anything


def test_parsing_is_linear_in_the_input() -> None:
    # Inputs that make a naive "search for the next brace again" parser quadratic. A quadratic
    # parser needs ~10^10 steps here and would hit the test timeout; a linear one takes milliseconds.
    n = 200_000
    assert parse_template("{{" * n + "x").render() == "{" * n + "x"
    assert parse_template("}}" * n + "{x}" * 10).variables == ("x",)
    assert len(parse_template("{x}" * n + "{{").segments) == n + 1
    with pytest.raises(TemplateError) as caught:
        parse_template("{{" * n + "}")
    assert caught.value.position == 2 * n


def test_escape_doubles_braces() -> None:
    assert escape("a{b}c") == "a{{b}}c"
    assert parse_template(escape("{x}")).variables == ()


@given(st.text())
def test_escaped_arbitrary_text_renders_back_unchanged(text: str) -> None:
    template = parse_template(escape(text))
    assert template.variables == ()
    assert template.render() == text


identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)


@st.composite
def templates(draw: st.DrawFn) -> tuple[str, list[str | tuple[str]]]:
    """Draw a template text from literal pieces and variable names, with its intended structure."""
    structure: list[str | tuple[str]] = draw(
        st.lists(st.one_of(st.text(max_size=12), identifiers.map(lambda name: (name,))), max_size=12)
    )
    text = "".join(escape(piece) if isinstance(piece, str) else f"{{{piece[0]}}}" for piece in structure)
    return text, structure


@given(templates(), st.data())
def test_random_templates_parse_to_their_structure_and_render_like_str_format(
    drawn: tuple[str, list[str | tuple[str]]], data: st.DataObject
) -> None:
    text, structure = drawn
    names = [piece[0] for piece in structure if isinstance(piece, tuple)]
    template = parse_template(text)
    assert template.variables == tuple(dict.fromkeys(names))
    values = {name: data.draw(st.text(max_size=5), label=name) for name in template.variables}
    expected = "".join(piece if isinstance(piece, str) else values[piece[0]] for piece in structure)
    assert template.render_mapping(values) == expected
    assert text.format(**values) == expected


@given(st.text(alphabet=st.sampled_from("{}ab_1 .:"), max_size=30))
def test_any_text_either_parses_like_str_format_or_fails_at_a_brace(text: str) -> None:
    try:
        template = parse_template(text)
    except TemplateError as error:
        assert error.position is not None
        assert text[error.position] in "{}"
        return
    # Whatever we accept, str.format accepts too and reads the same way.
    fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    assert list(dict.fromkeys(fields)) == list(template.variables)
    values = {name: f"<{name}>" for name in template.variables}
    assert template.render_mapping(values) == text.format(**values)
