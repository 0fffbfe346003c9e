"""The resource locator, the data folders and the command line's option parsing."""

import pytest

from desktop_llm.cli import build_parser
from desktop_llm.core.paths import resolve_paths
from desktop_llm.core.resources import ResourceMissing, resource_path, resources_dir


def test_resources_ship_with_the_package() -> None:
    folder = resources_dir()
    assert folder.is_dir()
    assert folder.name == "resources"


def test_a_missing_resource_is_named() -> None:
    with pytest.raises(ResourceMissing, match="no-such-file"):
        resource_path("no-such-file.bin")


def test_data_dir_option_roots_every_folder(tmp_path) -> None:
    paths = resolve_paths(tmp_path / "d")
    assert paths.logs.parent == paths.data and paths.cache.parent == paths.data
    assert paths.database.parent == paths.data


def test_data_dir_from_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DESKTOP_LLM_DATA_DIR", str(tmp_path / "env"))
    assert resolve_paths().data == (tmp_path / "env").resolve()


@pytest.mark.parametrize(
    "argv",
    [
        ["--data-dir", "/x", "search", "hello"],
        ["search", "hello", "--data-dir", "/x"],
        ["search", "--data-dir", "/x", "hello"],
    ],
)
def test_global_options_before_or_after_the_subcommand(argv) -> None:
    args = build_parser().parse_args(argv)
    assert args.command == "search"
    assert args.query == "hello"
    assert args.data_dir == "/x"
