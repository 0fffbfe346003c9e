"""The bundle's lock file agrees with pyproject.toml: every runtime dependency pinned, hashed, allowed.

``packaging/build.sh`` installs exactly ``packaging/requirements.lock`` (``--require-hashes``);
``packaging/lock.sh`` writes it. A dependency added to pyproject.toml without re-locking, a pin
outside a specifier, a pin without a hash, or a package nobody asked for fails here.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "packaging" / "requirements.lock"
LOCK_INPUT = "-r packaging/requirements.in"
# Runtime dependencies that branches in flight add (attachments, tools/MCP, rendering); locked
# ahead so the lock stays valid when they merge. Nothing else may be asked for.
EXPECTED_SOON = {"mcp", "pypdfium2", "ziamath", "pillow"}
BROKEN_PYSIDE = Version("6.12.0")  # aborts the process on Python 3.11 (see pyproject.toml)


@dataclass
class Pin:
    name: str
    version: Version
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)


def read_lock(text: str) -> dict[str, Pin]:
    """Return the lock's pins by canonical name (hashes and "via" annotations attached)."""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for line in text.splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", line):
            current = Pin(canonicalize_name(match[1]), Version(match[2]))
            pins[current.name] = current
        elif current is not None and (found := re.search(r"--hash=(sha256:[0-9a-f]{64})", line)):
            current.hashes.append(found[1])
        elif (
            current is not None and (via := re.match(r"^\s+#\s+(?:via\s+)?(\S.*)$", line)) and via[1] != "via"
        ):
            current.via.append(via[1].strip())
    return pins


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


@pytest.fixture(scope="module")
def pins() -> dict[str, Pin]:
    return read_lock(LOCK.read_text(encoding="utf-8"))


def bundled_requirements(project: dict) -> list[Requirement]:
    """Return what the bundle needs: the runtime dependencies and PyInstaller."""
    dev = [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    return [Requirement(r) for r in project["dependencies"]] + [
        r for r in dev if r.name.lower() == "pyinstaller"
    ]


def test_every_runtime_dependency_is_pinned_within_its_specifier(project, pins) -> None:
    for requirement in bundled_requirements(project):
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement} is not in {LOCK.name}: run packaging/lock.sh"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{LOCK.name} pins {pin.name}=={pin.version}, outside {requirement}: run packaging/lock.sh"
        )


def test_the_broken_pyside_release_is_never_locked(pins) -> None:
    for name in ("pyside6-essentials", "pyside6", "shiboken6"):
        if name in pins:
            assert pins[name].version != BROKEN_PYSIDE


def test_extras_bring_their_dependencies(project, pins) -> None:
    # httpx[http2] speaks HTTP/2 only with h2 installed.
    assert any(Requirement(r).extras == {"http2"} for r in project["dependencies"])
    assert "h2" in pins


def test_every_pin_carries_hashes(pins) -> None:
    unhashed = sorted(name for name, pin in pins.items() if not pin.hashes)
    assert not unhashed, f"pins without --hash (pip --require-hashes refuses them): {unhashed}"


def test_nothing_is_asked_for_but_the_bundles_dependencies(project, pins) -> None:
    wanted = {canonicalize_name(r.name) for r in bundled_requirements(project)} | EXPECTED_SOON
    asked = {name for name, pin in pins.items() if LOCK_INPUT in pin.via}
    assert asked == wanted


def test_the_build_installs_the_lock_with_hashes() -> None:
    script = (ROOT / "packaging" / "build.sh").read_text(encoding="utf-8")
    assert "--require-hashes -r packaging/requirements.lock" in script


def test_the_lock_reader_sees_every_annotation() -> None:
    text = (
        "anyio==4.16.0 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via\n    #   httpx\n    #   -r x.in\n"
        "h2==4.4.1 ; sys_platform == 'linux' \\\n    --hash=sha256:" + "b" * 64 + "\n    # via httpx\n"
    )
    pins = read_lock(text)
    assert pins["anyio"].via == ["httpx", "-r x.in"] and pins["anyio"].version == Version("4.16.0")
    assert pins["h2"].via == ["httpx"] and len(pins["h2"].hashes) == 1
