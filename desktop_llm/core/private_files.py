"""Create the app's folders and files readable by their owner only (0700 and 0600).

Conversations, logs and exports are private: on a shared computer other accounts must not read
them. A file made here gets its mode when it is created (no window in which it is readable),
and an older one left readable by an earlier version is tightened.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700 if it is missing; return it.

    An existing folder is left as it is: it may be one the person pointed us at for other
    reasons. ``tighten_folder`` is for folders known to be ours.
    """
    path = Path(path)
    if not path.is_dir():
        path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        os.chmod(path, FOLDER_MODE)  # mkdir's mode is filtered by the umask
    return path


def tighten_folder(path: Path) -> None:
    """Remove group and other access from an existing folder of ours."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        _tighten(path, mode & FOLDER_MODE)


def private_file(path: Path) -> Path:
    """Create ``path`` empty as 0600 if it is missing, else take group and other access away."""
    path = Path(path)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            _tighten(path, FILE_MODE)
    else:
        os.close(descriptor)
    return path


def _tighten(path: Path, mode: int) -> None:
    # Someone else's file (another account made it) cannot be changed; it still works as it is.
    try:
        os.chmod(path, mode)
    except PermissionError as error:
        log.warning("could not make %s private (%o): %s", path, mode, error)
