"""The suite runs against an installed wheel, where ``tests`` is not a package: no test may import it."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
FORBIDDEN = re.compile(r"^\s*(from|import)\s+tests(\.|\s|$)", re.MULTILINE)


def test_no_test_imports_the_tests_folder_as_a_package() -> None:
    offenders = [
        str(path.relative_to(TESTS))
        for path in sorted(TESTS.rglob("*.py"))
        if FORBIDDEN.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"import helpers by their module name (app_harness, fakes...): {offenders}"
