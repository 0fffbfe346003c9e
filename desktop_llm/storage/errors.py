"""Name every known storage failure, each with a message a person can act on.

Known failures (a newer schema, a locked data folder, a missing row, bad import input, a busy or
full disk) are raised as :class:`StorageError` subclasses so the UI and the command line can show
their message as is. Anything else that escapes ``sqlite3`` is a bug and is left to the crash
reporter.

Hierarchy::

    StorageError
     ├── DatabaseBusy       another writer kept the database locked; try again
     ├── SchemaTooNew       the file was written by a newer Desktop LLM
     ├── DataFolderLocked   another window holds the data folder
     ├── NotFound           no such conversation / message / folder / template / setting
     └── ImportFailed       bad import input; ``.problems`` lists every problem found
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class StorageError(Exception):
    """A known storage failure; ``str(error)`` is a message for a person."""


class DatabaseBusy(StorageError):
    """Another connection (an import on the command line, say) kept the write lock too long.

    Worth retrying: the other writer finishes, and nothing was changed by the failed call.
    """


class SchemaTooNew(StorageError):
    """The database was written by a newer Desktop LLM than this one."""

    def __init__(self, path: Path, found: int, known: int) -> None:
        self.path = path
        self.found = found
        self.known = known
        super().__init__(
            f"The database {path} was written by a newer version of Desktop LLM "
            f"(schema {found}; this version knows up to {known}). "
            "Update Desktop LLM to open it; the file has not been changed."
        )


class DataFolderLocked(StorageError):
    """Another Desktop LLM window holds the data folder."""

    def __init__(self, folder: Path, pid: int | None) -> None:
        self.folder = folder
        self.pid = pid
        holder = f" (process {pid})" if pid is not None else ""
        super().__init__(
            f"Desktop LLM is already running with the data folder {folder}{holder}. "
            "Switch to that window, or close it and try again."
        )


class NotFound(StorageError):
    """No such conversation, message, folder, template or setting."""

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"No {kind} {key!r}: it may have been deleted.")


class ImportFailed(StorageError):
    """Bad import input; ``problems`` names each one precisely and nothing was changed."""

    def __init__(self, problems: Iterable[str], *, source: str = "") -> None:
        self.problems = list(problems)
        where = f" {source}" if source else ""
        shown = "; ".join(self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"Could not import{where}: {shown}{more}. Nothing was changed.")
