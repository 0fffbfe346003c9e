"""The PyInstaller bundle: built from this checkout, it carries the resources, leaves out the Qt
parts the app never loads, and passes its own ``--smoke-test`` offscreen.

The bundle is built once per session with ``packaging/build.sh`` into a temp folder (about a
minute on two cores), unless ``DESKTOP_LLM_BUNDLE`` names a bundle folder built already. The smoke
report is kept as ``test-artifacts/bundle-smoke.json``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_llm import __version__

pytestmark = [
    pytest.mark.slow,
    pytest.mark.e2e,
    pytest.mark.timeout(900),  # the first test also waits for the build
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="CI builds and checks the Linux bundle"),
]

BUNDLE_ENV = "DESKTOP_LLM_BUNDLE"
PROGRAM = "desktop-llm"
# Parts of Qt (and of the build machine) a Widgets chat app never loads; none may be in the bundle.
FORBIDDEN = (
    "QtWebEngine",
    "Qt6WebEngine",
    "Qt3D",
    "Qt63D",
    "QtQuick",
    "Qt6Quick",
    "QtQml",
    "Qt6Qml",
    "QtPdf",
    "Qt6Pdf",
    "QtMultimedia",
    "Qt6Multimedia",
    "Qt6Designer",
    "/qml/",
    "/translations/",
    "/sqldrivers/",
    "libqgtk3",
    "libgtk-3",
    "/openai/",
    "/anthropic/",
    "/pytest",
)
# Libraries the bundle must carry itself (system ones such as libEGL come from the machine).
OWN_LIBRARIES = ("libQt6", "libicu", "libpyside6", "libshiboken6", "libpython")
NEEDED_PLUGINS = ("platforms/libqxcb.so", "platforms/libqwayland.so", "platforms/libqoffscreen.so")
SIZE_LIMIT_MB = 150  # issue 12, with the math library in
# The desktop session's libraries come from the machine (packaging/desktop-llm.spec, HOST_LIBRARIES).
HOST_LIBRARIES = (
    "libX11.so",
    "libfontconfig.so",
    "libfreetype.so",
    "libglib-2.0.so",
    "libdbus-1.so",
    "libsystemd.so",
)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """Return the one-folder bundle (the folder holding the program), building it if needed."""
    given = os.environ.get(BUNDLE_ENV)
    if given:
        folder = Path(given)
        assert (folder / PROGRAM).is_file(), f"{BUNDLE_ENV}={given} holds no {PROGRAM} program"
        return folder
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.fail("PyInstaller is not installed: install the dev extra (scripts/test.sh does)")
    out = tmp_path_factory.mktemp("bundle")
    env = {**os.environ, "PYINSTALLER_CONFIG_DIR": str(out / "pyinstaller-cache")}
    build = subprocess.run(
        [
            "bash",
            str(repo_root / "packaging" / "build.sh"),
            "--dist",
            str(out / "dist"),
            "--work",
            str(out / "work"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=840,
        check=False,
    )
    assert build.returncode == 0, f"packaging/build.sh failed:\n{_tail(build.stdout)}\n{_tail(build.stderr)}"
    return out / "dist" / PROGRAM


def _bundle_files(bundle: Path) -> list[str]:
    return sorted("/" + path.relative_to(bundle).as_posix() for path in bundle.rglob("*"))


def test_bundle_passes_its_smoke_test_offscreen(bundle: Path, tmp_path: Path, repo_root: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run(
        [str(bundle / PROGRAM), "--smoke-test", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    artifacts = repo_root / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "bundle-smoke.json").write_text(run.stdout, encoding="utf-8")

    report = json.loads(run.stdout)
    failed = {name: check for name, check in report["checks"].items() if not check["ok"]}
    assert not failed, f"smoke checks failed in the bundle: {failed}\nstderr:\n{_tail(run.stderr)}"
    assert report["ok"] is True
    assert run.returncode == 0, run.stderr
    expected = {"window", "database", "fts5", "resources", "tokenizers", "math", "keyring"}
    assert expected <= report["checks"].keys()
    assert str(bundle) in report["checks"]["resources"]["detail"], "resources not found in the bundle"
    # A Qt plugin that cannot load its libraries only says so on stderr.
    assert "Cannot load library" not in run.stderr
    assert "Could not load" not in run.stderr


def test_bundle_runs_the_command_line_too(bundle: Path) -> None:
    run = subprocess.run(
        [str(bundle / PROGRAM), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"desktop-llm {__version__}"


def test_bundle_carries_every_resource_file(bundle: Path, repo_root: Path) -> None:
    source = repo_root / "resources"
    shipped = bundle / "_internal" / "desktop_llm" / "resources"
    expected = [path for path in source.rglob("*") if path.is_file()]
    assert len(expected) > 20  # tokenizers, templates, models.json, icons, the desktop entry
    for path in expected:
        copy = shipped / path.relative_to(source)
        assert copy.is_file(), f"{path.relative_to(repo_root)} is missing from the bundle"
        assert copy.read_bytes() == path.read_bytes(), f"{copy} differs from {path}"


def test_bundle_leaves_out_what_the_app_never_loads(bundle: Path) -> None:
    files = _bundle_files(bundle)
    unwanted = [path for path in files if any(part in path for part in FORBIDDEN)]
    assert not unwanted, f"unused parts in the bundle: {unwanted[:20]}"
    plugins = "/_internal/PySide6/Qt/plugins/"
    for plugin in NEEDED_PLUGINS:
        assert plugins + plugin in files, f"the {plugin} platform plugin is missing"


def test_every_bundled_qt_library_finds_the_qt_it_links_to(bundle: Path) -> None:
    internal = bundle / "_internal"
    qt = internal / "PySide6"
    binaries = [path for path in qt.rglob("*.so*") if path.is_file() and not path.is_symlink()]
    assert binaries
    # The bootloader puts _internal on the library path; ldd with the same path sees what the app sees.
    env = {**os.environ, "LD_LIBRARY_PATH": str(internal)}
    missing = {}
    for binary in binaries:
        ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, env=env, check=False)
        lost = [
            line.strip()
            for line in ldd.stdout.splitlines()
            if "not found" in line and line.strip().startswith(OWN_LIBRARIES)
        ]
        if lost:
            missing[str(binary.relative_to(internal))] = lost
    assert not missing, f"bundled libraries with unresolved links: {missing}"


def test_bundle_stays_under_its_size_limit_with_the_math_fonts_in(bundle: Path) -> None:
    files = [path for path in bundle.rglob("*") if path.is_file() and not path.is_symlink()]
    size_mb = sum(path.stat().st_size for path in files) / 2**20
    assert size_mb < SIZE_LIMIT_MB, f"the bundle is {size_mb:.1f} MB"
    shipped = {path.name for path in files}
    assert {"STIXTwoMath-Regular.ttf", "unimathsymbols.txt"} <= shipped  # ziamath and latex2mathml data


def test_bundle_leaves_the_desktop_session_libraries_and_most_icu_data_to_the_machine(bundle: Path) -> None:
    internal = bundle / "_internal"
    session = [path.name for path in internal.iterdir() if path.name.startswith(HOST_LIBRARIES)]
    assert not session, f"the desktop session's libraries are bundled: {session}"
    [icu_data] = (internal / "PySide6" / "Qt" / "lib").glob("libicudata.so.*")
    assert icu_data.stat().st_size < 8 * 2**20, "ICU's data library is not the trimmed one"
