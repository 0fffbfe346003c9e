"""Locate the files shipped in ``resources/``: the one place that knows where they live.

In a wheel or a PyInstaller bundle they sit inside the package as ``desktop_llm/resources``;
in a source checkout they sit at the repository root.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path


class ResourceMissing(FileNotFoundError):
    """A shipped resource file is missing: the installation is incomplete."""


@cache
def resources_dir() -> Path:
    """Return the folder holding the shipped resources."""
    package_dir = Path(__file__).resolve().parent.parent
    candidates = [package_dir / "resources", package_dir.parent / "resources"]
    bundle_root = getattr(sys, "_MEIPASS", None)
    if bundle_root:
        candidates.insert(0, Path(bundle_root) / "desktop_llm" / "resources")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise ResourceMissing(
        "Desktop LLM's resources folder is missing; looked in "
        + ", ".join(str(c) for c in candidates)
        + ". Reinstall the application."
    )


def resource_path(*parts: str) -> Path:
    """Return the path of one shipped resource, raising ``ResourceMissing`` if absent."""
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise ResourceMissing(f"The resource {'/'.join(parts)} is missing from {resources_dir()}.")
    return path
