"""Put Desktop LLM in the Linux application menu: a ``.desktop`` file and the icon, per XDG.

``desktop-llm --install-desktop-entry`` writes

- ``$XDG_DATA_HOME/applications/desktop-llm.desktop``: the shipped template with ``Exec`` and
  ``TryExec`` pointing at the absolute path of the installed ``desktop-llm-gui`` launcher (a
  virtual environment's ``bin`` is rarely on the menu's ``PATH``), and
- ``$XDG_DATA_HOME/icons/hicolor/<N>x<N>/apps/desktop-llm.png`` for every shipped size, plus
  ``scalable/apps/desktop-llm.svg``;

``--uninstall-desktop-entry`` removes exactly those files. ``XDG_DATA_HOME`` defaults to
``~/.local/share``. Desktops watch these folders, so the entry appears without logging out.
No Qt here: this runs from the command line.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from desktop_llm.core.resources import ResourceMissing, resource_path

APP_ID = "desktop-llm"
GUI_LAUNCHER = "desktop-llm-gui"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# Characters that force quoting of an Exec argument (Desktop Entry Specification, "The Exec key").
_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


class DesktopEntryError(Exception):
    """The desktop entry cannot be installed or removed; the message says why and what to do."""


@dataclass(frozen=True)
class EntryFiles:
    """Where the entry and its icons go under one XDG data folder."""

    data_home: Path

    @property
    def desktop_file(self) -> Path:
        return self.data_home / "applications" / f"{APP_ID}.desktop"

    def png_icon(self, size: int) -> Path:
        return self.data_home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"

    @property
    def svg_icon(self) -> Path:
        return self.data_home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"

    def all(self) -> list[Path]:
        """Return every file this module writes, the desktop file first."""
        return [self.desktop_file, *(self.png_icon(size) for size in ICON_SIZES), self.svg_icon]


def xdg_data_home(environ: Mapping[str, str] | None = None) -> Path:
    """Return ``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset, empty or relative (per XDG)."""
    value = (os.environ if environ is None else environ).get("XDG_DATA_HOME", "")
    if value and Path(value).is_absolute():
        return Path(value)
    return Path.home() / ".local" / "share"


def find_gui_launcher() -> Path:
    """Return the absolute path of the installed ``desktop-llm-gui`` (in a bundle: the bundle's program)."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve()
    candidates: list[Path] = []
    if sys.argv and sys.argv[0]:
        # The console script that is running now sits next to its GUI twin.
        invoked = Path(sys.argv[0]).absolute()
        candidates += [invoked.parent / GUI_LAUNCHER, invoked.resolve().parent / GUI_LAUNCHER]
    for scheme in (sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")):
        candidates.append(Path(sysconfig.get_path("scripts", scheme)) / GUI_LAUNCHER)
    on_path = shutil.which(GUI_LAUNCHER)
    if on_path:
        candidates.append(Path(on_path).absolute())
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise DesktopEntryError(
        f"cannot find the {GUI_LAUNCHER} launcher (looked in "
        + ", ".join(sorted({str(c.parent) for c in candidates}))
        + "); install Desktop LLM with pip (`pip install .`) and run this from its desktop-llm command"
    )


def escape_value(value: str) -> str:
    """Escape a string value for a desktop file (backslash, newline, tab, carriage return)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def quote_exec_argument(argument: str) -> str:
    """Quote one ``Exec`` argument as the Desktop Entry Specification asks (``%`` doubled too)."""
    argument = argument.replace("%", "%%")
    if any(char in _EXEC_RESERVED for char in argument):
        argument = '"' + "".join("\\" + char if char in '"`$\\' else char for char in argument) + '"'
    # The quoting rule applies inside the value, whose own escapes come on top of it.
    return escape_value(argument)


def render_desktop_file(template: str, launcher: Path) -> str:
    """Return the template with ``Exec`` and ``TryExec`` pointing at ``launcher``."""
    lines = []
    for line in template.splitlines():
        key = line.split("=", 1)[0].strip()
        if key == "Exec":
            line = f"Exec={quote_exec_argument(str(launcher))}"
        elif key == "TryExec":  # a plain path, not a command line: no quoting
            line = f"TryExec={escape_value(str(launcher))}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def install(data_home: Path | None = None, launcher: Path | None = None) -> list[Path]:
    """Write the desktop file and the icons; return the files written."""
    files = EntryFiles(data_home or xdg_data_home())
    launcher = launcher or find_gui_launcher()
    try:
        template = resource_path(f"{APP_ID}.desktop").read_text(encoding="utf-8")
        sources = {
            files.png_icon(size): resource_path("icons", f"{APP_ID}-{size}.png") for size in ICON_SIZES
        }
        sources[files.svg_icon] = resource_path("icons", f"{APP_ID}.svg")
    except ResourceMissing as error:
        raise DesktopEntryError(str(error)) from error
    for target, source in sources.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    files.desktop_file.parent.mkdir(parents=True, exist_ok=True)
    # Write the menu entry last, so it never points at an icon that is not there yet.
    partial = files.desktop_file.with_suffix(".desktop.partial")
    partial.write_text(render_desktop_file(template, launcher), encoding="utf-8")
    partial.replace(files.desktop_file)
    return [files.desktop_file, *sources]


def uninstall(data_home: Path | None = None) -> list[Path]:
    """Remove the desktop file and the icons that ``install`` writes; return the files removed."""
    removed = []
    for path in EntryFiles(data_home or xdg_data_home()).all():
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed


def run_command(*, install_entry: bool, out: TextIO, err: TextIO, platform: str = sys.platform) -> int:
    """Install or remove the entry for the command line; report in one line; return the exit status."""
    try:
        if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
            raise DesktopEntryError(
                "desktop entries are for Linux and other freedesktop.org desktops; on macOS and Windows "
                "use the packaged app (see README.md, 'Building the bundle')"
            )
        if install_entry:
            written = install()
            out.write(
                f"Installed {written[0]} and {len(written) - 1} icons; look for Desktop LLM in the menu.\n"
            )
        else:
            removed = uninstall()
            out.write(
                f"Removed {len(removed)} files of the Desktop LLM menu entry.\n"
                if removed
                else "There was no Desktop LLM menu entry to remove.\n"
            )
    except DesktopEntryError as error:
        err.write(f"desktop-llm: error: {error}\n")
        return 1
    except OSError as error:
        err.write(f"desktop-llm: error: {error.filename or 'a file'}: {error.strerror or error}\n")
        return 1
    return 0
