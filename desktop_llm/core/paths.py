"""Find the data, log and cache folders: ``--data-dir``, ``DESKTOP_LLM_DATA_DIR``, else the OS's."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from desktop_llm.core.private_files import private_folder, tighten_folder

APP_NAME = "desktop-llm"
DATA_DIR_ENV = "DESKTOP_LLM_DATA_DIR"


@dataclass(frozen=True)
class AppPaths:
    """The folders one running instance uses."""

    data: Path
    logs: Path
    cache: Path

    @property
    def database(self) -> Path:
        return self.data / "desktop-llm.sqlite3"

    def ensure(self) -> AppPaths:
        """Create the folders, owner-only (0700); tighten the data folder once it holds our database."""
        for folder in (self.data, self.logs, self.cache):
            private_folder(folder)
        if self.database.exists():
            tighten_folder(self.data)
        return self


def resolve_paths(data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
    """Return the folders: an explicit data dir (or ``DESKTOP_LLM_DATA_DIR``) roots all three."""
    root = data_dir or os.environ.get(DATA_DIR_ENV) or None
    if root:
        base = Path(root).expanduser().resolve()
        return AppPaths(data=base, logs=base / "logs", cache=base / "cache")
    return AppPaths(
        data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        logs=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        cache=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )
