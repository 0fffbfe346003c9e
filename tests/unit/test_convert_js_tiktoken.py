"""scripts/convert_js_tiktoken.py: js-tiktoken's ranks format in, tiktoken's file out."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import tarfile
from pathlib import Path

import pytest

from desktop_llm.core.resources import resource_path


@pytest.fixture(scope="module")
def convert(repo_root: Path):
    spec = importlib.util.spec_from_file_location(
        "convert_js_tiktoken", repo_root / "scripts/convert_js_tiktoken.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def js_module(ranks: list[tuple[str, int]], line_length: int) -> str:
    """Write ranks the way js-tiktoken does: lines of '<label> <first rank> <token> ...'."""
    lines, current, first = [], [], None
    for token, rank in ranks:
        if current and (len(current) == line_length or rank != first + len(current)):
            lines.append(f"! {first} " + " ".join(current))
            current = []
        if not current:
            first = rank
        current.append(token)
    lines.append(f"! {first} " + " ".join(current))
    payload = {"pat_str": "x", "special_tokens": {}, "bpe_ranks": "\n".join(lines)}
    return "export default " + json.dumps(payload) + ";"


def shipped_ranks(name: str) -> list[tuple[str, int]]:
    lines = resource_path("tokenizers", f"{name}.tiktoken").read_text(encoding="ascii").splitlines()
    return [(token, int(rank)) for token, rank in (line.split(" ") for line in lines)]


def test_round_trip_reproduces_the_shipped_file_byte_for_byte(convert) -> None:
    ranks = shipped_ranks("cl100k_base")
    text = js_module(ranks, line_length=7919)  # many lines, as an older js-tiktoken wrote them
    result = convert.to_tiktoken_bytes(convert.ranks_from_js(text))
    assert result == resource_path("tokenizers", "cl100k_base.tiktoken").read_bytes()


def test_gaps_in_ranks_start_a_new_line(convert) -> None:
    ranks = [(base64.b64encode(b).decode(), r) for b, r in ((b"a", 0), (b"b", 1), (b"c", 5), (b"d", 6))]
    assert convert.ranks_from_js(js_module(ranks, line_length=100)) == dict(ranks)


def test_the_package_tarball_is_read_in_place(convert, tmp_path: Path) -> None:
    text = js_module([("YQ==", 0)], line_length=10).encode()
    tgz = tmp_path / "js-tiktoken-0.0.0.tgz"
    with tarfile.open(tgz, "w:gz") as archive:
        info = tarfile.TarInfo("package/dist/ranks/o200k_base.js")
        info.size = len(text)
        archive.addfile(info, io.BytesIO(text))
    assert convert.read_ranks_module(tgz, "o200k_base") == text.decode()


def test_ranks_that_do_not_match_tiktoken_are_not_written(convert, tmp_path: Path) -> None:
    package = tmp_path / "package" / "dist" / "ranks"
    package.mkdir(parents=True)
    for name in ("o200k_base", "cl100k_base"):
        (package / f"{name}.js").write_text(js_module([("YQ==", 0)], line_length=10), encoding="utf-8")
    out = tmp_path / "out"
    assert convert.main([str(tmp_path), "--out", str(out)]) == 1
    assert not list(out.glob("*.tiktoken"))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("module.exports = {}", "export default"),
        (js_module([("YQ==", 0), ("YQ==", 1)], line_length=10), "twice"),
    ],
)
def test_malformed_modules_are_refused(convert, text: str, problem: str) -> None:
    with pytest.raises(convert.ConversionError, match=problem):
        convert.ranks_from_js(text)


def test_non_canonical_base64_is_refused(convert) -> None:
    with pytest.raises(convert.ConversionError, match="canonical"):
        convert.to_tiktoken_bytes({"YR==": 0})
