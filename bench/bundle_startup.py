"""Time from launch to a visible window: the packaged app against a bare PySide6 window.

The bundle (``dist/desktop-llm`` from ``packaging/build.sh``, or ``--bundle DIR``) is started on
a data folder holding 2,000 conversations (500 with ``--quick``), as a person's usual launch is,
or with ``--first-launch`` on a fresh data folder each run (the database is created then); the
baseline is a bare ``QMainWindow`` shown by this checkout's
Python with the same PySide6. The same app run from the checkout (``python -m desktop_llm``) is
timed too, to tell what packaging adds from what the app's own start-up costs. Runs alternate,
so drift on a shared machine hits all alike.

Modes:
- ``xvfb`` (default when ``Xvfb`` and ``xdotool`` exist): a private Xvfb display; the clock stops
  when the process's window is mapped and viewable (``xdotool search --onlyvisible --pid``,
  polled every 5 ms); the process is then ended.
- ``offscreen``: no display; the clock stops when the process exits after showing its window
  (the bundle with ``--smoke-test``, so its figure also includes its database, tokenizer and
  keyring checks, which makes the ratio a pessimistic one).

Targets (issue 12, reported, not gates): median bundle time at most 1.5 times the bare window's,
and the bundle folder under 150 MB (``du -s --apparent-size``, with the math library in).

Usage: python bench/bundle_startup.py [--quick] [--runs N] [--bundle DIR] [--mode xvfb|offscreen]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from startup import populate  # noqa: E402  (one way to fill the database: bench/startup.py's)

TARGET_RATIO = 1.5
TARGET_SIZE_MB = 150.0
POLL_SECONDS = 0.005
LAUNCH_TIMEOUT = 60.0
BARE_WINDOW = """
import sys
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
window = QMainWindow()
window.setWindowTitle("bare PySide6 window")
window.resize(1100, 720)
window.show()
if "--exit-after-show" in sys.argv:
    app.processEvents()
    sys.exit(0)
sys.exit(app.exec())
"""


@contextmanager
def private_display() -> Iterator[str]:
    """Start an Xvfb on a free display number; yield its DISPLAY value; stop it afterwards."""
    number = 140
    while Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
        number += 1
    server = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"Xvfb :{number} did not start")
            time.sleep(0.05)
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _window_visible(pid: int, env: dict[str, str]) -> bool:
    found = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--pid", str(pid)],
        capture_output=True,
        env=env,
        check=False,
    )
    return found.returncode == 0 and bool(found.stdout.strip())


def time_to_window(command: list[str], env: dict[str, str]) -> float:
    """Start ``command`` and return the seconds until one of its windows is viewable."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not _window_visible(process.pid, env):
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited ({process.returncode}) before showing a window")
            if time.perf_counter() - start > LAUNCH_TIMEOUT:
                raise RuntimeError(f"{command[0]} showed no window within {LAUNCH_TIMEOUT:.0f} s")
            time.sleep(POLL_SECONDS)
        return time.perf_counter() - start
    finally:
        process.terminate()
        process.wait(timeout=20)


def time_to_exit(command: list[str], env: dict[str, str]) -> float:
    """Run ``command`` to completion (it shows its window, then exits); return the seconds it took."""
    start = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True, timeout=LAUNCH_TIMEOUT)
    return time.perf_counter() - start


def folder_size_mb(folder: Path) -> float:
    """Return the bytes under ``folder`` in MiB (as ``du -s`` counts them, symlinks not followed)."""
    total = sum(
        path.lstat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink()
    )
    return round(total / 2**20, 1)


def measure(bundle: Path, runs: int, mode: str, conversations: int | None) -> dict[str, object]:
    """Alternate bundle and baseline launches ``runs`` times each (after one warm-up of each)."""
    program = bundle / "desktop-llm"
    base_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DESKTOP_LLM_DATA_DIR")}
    samples: dict[str, list[float]] = {"bundle": [], "bare_pyside6": [], "source": []}
    source = [sys.executable, "-m", "desktop_llm"]
    source_env = {**base_env, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="bundle-startup-") as scratch, _display(mode) as display:
        env = {**base_env, **display}
        source_env.update(display)
        if conversations is not None:
            populate(Path(scratch) / "data", conversations)
        for index in range(runs + 1):  # run 0 warms the page cache and is dropped
            data_dir = str(Path(scratch) / ("data" if conversations is not None else f"data-{index}"))
            # Run one after another, the bundle and the checkout share a populated folder.
            source_dir = data_dir if conversations is not None else data_dir + "-source"
            if mode == "xvfb":
                app = time_to_window([str(program), "--data-dir", data_dir], env)
                bare = time_to_window([sys.executable, "-c", BARE_WINDOW], env)
                unpacked = time_to_window([*source, "--data-dir", source_dir], source_env)
            else:
                app = time_to_exit([str(program), "--smoke-test", "--data-dir", data_dir], env)
                bare = time_to_exit([sys.executable, "-c", BARE_WINDOW, "--exit-after-show"], env)
                unpacked = time_to_exit([*source, "--smoke-test", "--data-dir", source_dir], source_env)
            if index:
                samples["bundle"].append(app)
                samples["bare_pyside6"].append(bare)
                samples["source"].append(unpacked)
    bundle_median = statistics.median(samples["bundle"])
    bare_median = statistics.median(samples["bare_pyside6"])
    ratio = bundle_median / bare_median
    return {
        "benchmark": "bundle_startup",
        "mode": mode,
        "runs": runs,
        "figure": "median seconds from launch to a visible window",
        "bundle_s": round(bundle_median, 3),
        "baseline_bare_pyside6_s": round(bare_median, 3),
        "ratio": round(ratio, 2),
        # Launches of one round are adjacent in time, so their ratio cancels most of the drift.
        "paired_ratio_median": round(
            statistics.median(a / b for a, b in zip(samples["bundle"], samples["bare_pyside6"], strict=True)),
            2,
        ),
        "target_ratio": TARGET_RATIO,
        # The same app run from this checkout: bundle minus source is what packaging adds.
        "source_checkout_s": round(statistics.median(samples["source"]), 3),
        "meets_target": ratio <= TARGET_RATIO,
        "samples_s": {name: [round(value, 3) for value in values] for name, values in samples.items()},
        "conversations": conversations if conversations is not None else "first launch",
        "bundle": str(bundle),
        "bundle_size_mb": folder_size_mb(bundle),
        "target_size_mb": TARGET_SIZE_MB,
        "meets_size_target": folder_size_mb(bundle) < TARGET_SIZE_MB,
    }


@contextmanager
def _display(mode: str) -> Iterator[dict[str, str]]:
    if mode == "offscreen":
        yield {"QT_QPA_PLATFORM": "offscreen"}
        return
    with private_display() as display:
        yield {"QT_QPA_PLATFORM": "xcb", "DISPLAY": display}


def main() -> None:
    """Parse arguments, run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs each instead of 5 (for CI)")
    parser.add_argument("--runs", type=int, help="runs each (overrides --quick)")
    parser.add_argument(
        "--bundle", type=Path, default=ROOT / "dist" / "desktop-llm", help="the bundle folder"
    )
    can_show = bool(shutil.which("Xvfb") and shutil.which("xdotool"))
    parser.add_argument("--mode", choices=("xvfb", "offscreen"), default="xvfb" if can_show else "offscreen")
    parser.add_argument(
        "--first-launch", action="store_true", help="a fresh data folder each run (the database is created)"
    )
    args = parser.parse_args()
    if not (args.bundle / "desktop-llm").is_file():
        parser.error(
            f"no bundle in {args.bundle}: build it with `bash packaging/build.sh` or pass --bundle DIR"
        )
    runs = args.runs or (3 if args.quick else 5)
    conversations = None if args.first_launch else (500 if args.quick else 2000)
    print(json.dumps(measure(args.bundle.resolve(), runs, args.mode, conversations), indent=2))


if __name__ == "__main__":
    main()
