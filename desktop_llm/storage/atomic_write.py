"""Write a file all at once or not at all: a temporary file beside it, renamed over it at the end."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from desktop_llm.storage.errors import StorageError


@contextlib.contextmanager
def atomic_text_file(path: Path) -> Iterator[TextIO]:
    """Yield a UTF-8 text file that replaces ``path`` only if the block finishes without error.

    On any error the temporary file is removed and ``path`` is left as it was. The file is
    readable by its owner only (exports hold private conversations).
    """
    path = Path(path)
    if path.is_dir():
        raise StorageError(f"{path} is a folder; give a file name to write to.")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except FileNotFoundError:
        raise StorageError(f"Cannot write {path}: the folder {path.parent} does not exist.") from None
    except OSError as error:
        raise StorageError(f"Cannot write {path}: {error.strerror or error}.") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise StorageError(f"Cannot write {path}: {error.strerror or error}.") from error
        raise
