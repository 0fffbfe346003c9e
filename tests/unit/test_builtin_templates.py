"""The templates shipped in resources/templates: each loads, validates clean and renders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop_llm.core import builtin_templates
from desktop_llm.core.builtin_templates import load_builtin_templates
from desktop_llm.core.prompt_templates import PromptTemplate, TemplateFormatError
from desktop_llm.core.resources import resource_path

SHIPPED = load_builtin_templates()


def test_a_useful_set_ships() -> None:
    assert {"summarise", "translate", "explain_code", "review_code", "rewrite_tone", "reply_email"} <= set(
        SHIPPED
    )
    assert {"commit_message", "action_items"} <= set(SHIPPED)
    assert len({template.name for template in SHIPPED.values()}) == len(SHIPPED)


def test_every_json_file_is_loaded() -> None:
    files = sorted(path.stem for path in resource_path("templates").glob("*.json"))
    assert list(SHIPPED) == files


@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_each_shipped_template_validates_clean(key: str) -> None:
    template = SHIPPED[key]
    assert template.validate() == []
    assert template.name and template.description and template.system and template.user


@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_each_shipped_template_describes_every_variable(key: str) -> None:
    template = SHIPPED[key]
    described = {spec.name for spec in template.specs}
    assert described == set(template.variables)
    assert all(spec.description for spec in template.specs)
    # The main input is the first field of the form and is a text area.
    assert template.variable_specs()[0].multi_line


@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_each_shipped_template_renders_with_only_the_required_values(key: str) -> None:
    template = SHIPPED[key]
    values = {spec.name: f"<{spec.name} value>" for spec in template.specs if spec.required}
    rendered = template.render(values)
    for value in values.values():
        assert value in rendered.system + rendered.user
    assert "{" not in rendered.user.replace("<", "")  # no variable left unfilled


@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_each_file_is_exactly_its_canonical_body(key: str) -> None:
    # Files are written as to_dict() output so that a shipped template's hash is stable.
    path = resource_path("templates", f"{key}.json")
    assert json.loads(path.read_text(encoding="utf-8")) == SHIPPED[key].to_dict()


def test_a_broken_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "good.json").write_text(json.dumps(PromptTemplate(name="G", user="hi").to_dict()))
    (folder / "bad.json").write_text('{"user": 1}')
    monkeypatch.setattr(builtin_templates, "resource_path", lambda *parts: tmp_path.joinpath(*parts))
    with pytest.raises(TemplateFormatError, match=r"bad\.json is malformed: template\.user must be a string"):
        load_builtin_templates()
    (folder / "bad.json").write_text("{not json")
    with pytest.raises(TemplateFormatError, match=r"bad\.json is not valid JSON"):
        load_builtin_templates()
    (folder / "bad.json").unlink()
    assert list(load_builtin_templates()) == ["good"]
