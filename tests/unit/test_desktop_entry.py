"""The Linux menu entry (``--install-desktop-entry``) and the shipped icon files it installs."""

from __future__ import annotations

import configparser
import io
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_llm import cli, desktop_entry
from desktop_llm.core.resources import resource_path
from desktop_llm.desktop_entry import (
    ICON_SIZES,
    DesktopEntryError,
    EntryFiles,
    find_gui_launcher,
    install,
    quote_exec_argument,
    uninstall,
    xdg_data_home,
)

# --- a reader written from the Desktop Entry Specification, independent of the writer ---------


def unescape_value(value: str) -> str:
    """Undo a string value's escapes: ``\\s``, ``\\n``, ``\\t``, ``\\r`` and ``\\\\``."""
    out, chars = [], iter(value)
    for char in chars:
        if char == "\\":
            following = next(chars)
            out.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[following])
        else:
            out.append(char)
    return "".join(out)


def split_exec(value: str) -> list[str]:
    """Split an ``Exec`` value into arguments as a launcher does (quotes, then ``%%``)."""
    text, args, current, quoted, started = unescape_value(value), [], [], False, False
    chars = iter(text)
    for char in chars:
        if quoted:
            if char == "\\":
                current.append(next(chars))
            elif char == '"':
                quoted = False
            else:
                current.append(char)
        elif char == '"':
            quoted, started = True, True
        elif char == " ":
            if started:
                args.append("".join(current))
            current, started = [], False
        else:
            assert char not in "\\\"'`$<>|&;*?#()~\t\n", f"reserved {char!r} outside quotes in {value!r}"
            current.append(char)
            started = True
    assert not quoted, f"unterminated quote in {value!r}"
    if started:
        args.append("".join(current))
    return [arg.replace("%%", "%") for arg in args]


def read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return dict(parser["Desktop Entry"])


@pytest.fixture
def launcher(tmp_path: Path) -> Path:
    """An installed-looking ``bin`` folder with both launchers (placeholders that are executable)."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("desktop-llm", "desktop-llm-gui"):
        script = bin_dir / name
        script.write_text("#!/bin/sh\n", encoding="utf-8")
        script.chmod(0o755)
    return bin_dir / "desktop-llm-gui"


# --- the shipped template and icons ------------------------------------------------------------


def test_shipped_template_is_a_complete_entry_for_the_gui_launcher() -> None:
    entry = read_entry(resource_path("desktop-llm.desktop"))
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Desktop LLM"
    assert split_exec(entry["Exec"]) == ["desktop-llm-gui"]
    assert entry["Icon"] == "desktop-llm"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";")


def _png_header(data: bytes) -> tuple[int, int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height, _depth, color_type = struct.unpack(">IIBB", data[16:26])
    return width, height, color_type


@pytest.mark.parametrize("size", ICON_SIZES)
def test_each_png_icon_has_its_size_and_an_alpha_channel(size: int) -> None:
    data = resource_path("icons", f"desktop-llm-{size}.png").read_bytes()
    assert _png_header(data) == (size, size, 6)  # 6: RGBA, so the corners stay transparent


def test_windows_icon_lists_every_size_up_to_256_as_embedded_pngs() -> None:
    data = resource_path("icons", "desktop-llm.ico").read_bytes()
    _reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert kind == 1
    sizes = []
    for index in range(count):
        width, _height, _colors, _zero, _planes, _bits, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * index : 22 + 16 * index]
        )
        width = width or 256
        assert _png_header(data[offset : offset + length])[:2] == (width, width)
        sizes.append(width)
    assert sizes == [size for size in ICON_SIZES if size <= 256]


def test_mac_icon_holds_pngs_up_to_512() -> None:
    data = resource_path("icons", "desktop-llm.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    position, widths = 8, []
    while position < len(data):
        length = struct.unpack(">I", data[position + 4 : position + 8])[0]
        widths.append(_png_header(data[position + 8 : position + length])[0])
        position += length
    assert position == len(data)
    assert max(widths) == 512


# --- Exec quoting ------------------------------------------------------------------------------


def test_plain_path_is_left_unquoted() -> None:
    assert quote_exec_argument("/home/ann/.venv/bin/desktop-llm-gui") == "/home/ann/.venv/bin/desktop-llm-gui"


@pytest.mark.parametrize(
    ("path", "written"),
    [
        ("/home/ann/My Apps/desktop-llm-gui", '"/home/ann/My Apps/desktop-llm-gui"'),
        ("/opt/100%/desktop-llm-gui", "/opt/100%%/desktop-llm-gui"),
        ('/opt/a"b/x', '"/opt/a\\\\"b/x"'),
        ("/opt/$HOME/x", '"/opt/\\\\$HOME/x"'),
    ],
)
def test_reserved_characters_are_quoted_as_the_specification_shows(path: str, written: str) -> None:
    assert quote_exec_argument(path) == written


@given(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1))
def test_any_path_reads_back_as_one_argument(path: str) -> None:
    assert split_exec(quote_exec_argument(path)) == [path]


# --- install and uninstall ---------------------------------------------------------------------


def test_install_writes_the_entry_and_every_icon_under_xdg_data_home(
    isolated_user_folders: Path, launcher: Path
) -> None:
    data_home = xdg_data_home()
    assert data_home == isolated_user_folders / ".local" / "share"  # conftest's XDG_DATA_HOME

    written = install(launcher=launcher)

    files = EntryFiles(data_home)
    assert sorted(written) == sorted(files.all())
    assert files.desktop_file == data_home / "applications" / "desktop-llm.desktop"
    entry = read_entry(files.desktop_file)
    assert split_exec(entry["Exec"]) == [str(launcher)]
    assert unescape_value(entry["TryExec"]) == str(launcher)
    assert entry["Icon"] == "desktop-llm"
    for size in ICON_SIZES:
        icon = data_home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "desktop-llm.png"
        assert icon.read_bytes() == resource_path("icons", f"desktop-llm-{size}.png").read_bytes()
    assert (data_home / "icons/hicolor/scalable/apps/desktop-llm.svg").is_file()
    assert not list((data_home / "applications").glob("*.partial"))


def test_install_quotes_a_launcher_path_with_spaces(tmp_path: Path) -> None:
    folder = tmp_path / "Program Files" / "bin"
    folder.mkdir(parents=True)
    gui = folder / "desktop-llm-gui"
    gui.write_text("#!/bin/sh\n", encoding="utf-8")

    install(tmp_path / "share", launcher=gui)

    entry = read_entry(EntryFiles(tmp_path / "share").desktop_file)
    assert entry["Exec"].startswith('"')
    assert split_exec(entry["Exec"]) == [str(gui)]


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="needs desktop-file-utils")
@pytest.mark.parametrize("folder", ["bin", "My Apps/100% $pecial/bin"])
def test_installed_entry_passes_desktop_file_validate(tmp_path: Path, folder: str) -> None:
    gui = tmp_path / folder / "desktop-llm-gui"
    gui.parent.mkdir(parents=True)
    gui.write_text("#!/bin/sh\n", encoding="utf-8")
    install(tmp_path / "share", launcher=gui)
    check = subprocess.run(
        ["desktop-file-validate", str(EntryFiles(tmp_path / "share").desktop_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0 and not check.stdout.strip(), check.stdout + check.stderr


def test_installing_twice_replaces_the_entry(tmp_path: Path, launcher: Path) -> None:
    install(tmp_path, launcher=launcher)
    other = launcher.with_name("desktop-llm")
    install(tmp_path, launcher=other)
    assert split_exec(read_entry(EntryFiles(tmp_path).desktop_file)["Exec"]) == [str(other)]


def test_uninstall_removes_only_what_install_wrote(tmp_path: Path, launcher: Path) -> None:
    neighbour = tmp_path / "applications" / "other-app.desktop"
    neighbour.parent.mkdir(parents=True)
    neighbour.write_text("[Desktop Entry]\n", encoding="utf-8")
    written = install(tmp_path, launcher=launcher)

    removed = uninstall(tmp_path)

    assert sorted(removed) == sorted(written)
    assert not any(path.exists() for path in written)
    assert neighbour.exists()
    assert uninstall(tmp_path) == []


@pytest.mark.parametrize("value", ["", "relative/share"])
def test_unset_or_relative_xdg_data_home_means_local_share(value: str, isolated_user_folders: Path) -> None:
    assert xdg_data_home({"XDG_DATA_HOME": value}) == isolated_user_folders / ".local" / "share"


# --- finding the launcher ----------------------------------------------------------------------


def test_launcher_is_found_next_to_the_running_console_script(
    launcher: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", [str(launcher.with_name("desktop-llm")), "--install-desktop-entry"])
    assert find_gui_launcher() == launcher


def test_in_a_bundle_the_launcher_is_the_bundle_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = tmp_path / "desktop-llm" / "desktop-llm"
    program.parent.mkdir()
    program.write_bytes(b"")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(program))
    assert find_gui_launcher() == program


def test_missing_launcher_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "nowhere" / "desktop-llm")])
    monkeypatch.setattr(desktop_entry, "GUI_LAUNCHER", "desktop-llm-gui-not-installed-anywhere")
    with pytest.raises(DesktopEntryError, match="pip install"):
        find_gui_launcher()


# --- the command line --------------------------------------------------------------------------


def test_command_line_installs_then_uninstalls(
    launcher: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", [str(launcher.with_name("desktop-llm"))])
    desktop_file = EntryFiles(xdg_data_home()).desktop_file

    assert cli.run(["--install-desktop-entry"]) == 0
    assert split_exec(read_entry(desktop_file)["Exec"]) == [str(launcher)]
    assert str(desktop_file) in capsys.readouterr().out

    assert cli.run(["--uninstall-desktop-entry"]) == 0
    assert not desktop_file.exists()
    assert "Removed 10 files" in capsys.readouterr().out


def test_install_and_uninstall_together_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.run(["--install-desktop-entry", "--uninstall-desktop-entry"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_other_systems_get_one_line_error_and_nothing_written() -> None:
    out, err = io.StringIO(), io.StringIO()
    status = desktop_entry.run_command(install_entry=True, out=out, err=err, platform="darwin")
    assert status == 1
    assert err.getvalue().startswith("desktop-llm: error: desktop entries are for Linux")
    assert err.getvalue().count("\n") == 1
    assert not EntryFiles(xdg_data_home()).desktop_file.exists()


def test_unwritable_data_home_is_reported_not_raised(
    tmp_path: Path, launcher: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    monkeypatch.setattr(sys, "argv", [str(launcher.with_name("desktop-llm"))])
    out, err = io.StringIO(), io.StringIO()
    assert desktop_entry.run_command(install_entry=True, out=out, err=err, platform="linux") == 1
    assert err.getvalue().startswith("desktop-llm: error: ")
    assert out.getvalue() == ""
