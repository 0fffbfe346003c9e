"""Make the README's screenshots: run the tests that grab them, writing into docs/screenshots.

The pictures come from real screens against the fake provider server (tests/fakes), each in a
fresh demo data folder the test builds: the attachment screens (chips before sending, a sent
message with its thumbnail and PDF, the image viewer), the template, batch and Batches windows.
Usage (from the repository root, with the dev dependencies installed):

    python scripts/screenshots.py            # every screenshot test
    python scripts/screenshots.py -k chips   # extra arguments go to pytest

Dark and narrow (900 px) variants of the attachment screens are kept in pytest's temporary
folder (``qa-*.png``), for looking over by hand; they are not copied into the docs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = (
    "tests/ui/test_screenshots_attachments.py",
    "tests/ui/test_batch_remote.py",
    "tests/ui/test_batch_dialog.py",
    "tests/ui/test_template_window.py",
    "tests/ui/test_compare_view.py",
)


def main(argv: list[str]) -> int:
    """Run the screenshot tests with ``DESKTOP_LLM_SCREENSHOTS`` set; return pytest's status."""
    environ = dict(os.environ)
    environ["DESKTOP_LLM_SCREENSHOTS"] = str(ROOT / "docs" / "screenshots")
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH", "")]))
    environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    command = [sys.executable, "-m", "pytest", "-q", *TESTS, *argv]
    return subprocess.call(command, cwd=ROOT, env=environ)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
