"""Find the files a ChatGPT export's messages point at inside its .zip, so they import as attachments.

An image in ``conversations.json`` is a part ``{"content_type": "image_asset_pointer",
"asset_pointer": "file-service://file-AbC123"}`` (newer exports: ``sediment://file_00…``). The
zip holds the file under a name that starts with that id: ``file-AbC123-IMG_2044.jpeg``. The
message's ``metadata.attachments`` usually names the file and its type; otherwise the name is
the member's without the id, and the type comes from the extension or the first bytes.

Bytes are hashed as they stream out of the zip (never read whole) once per import pass, and
opened again only when the importer stores them.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from desktop_llm.storage.records import AttachmentRef

log = logging.getLogger(__name__)

_POINTER = re.compile(r"^[a-z-]+://(?P<id>file[-_][A-Za-z0-9]+)")
_READ = 1 << 20
# The first bytes of the image types ChatGPT stores, for files whose name has no extension.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"),
)


@dataclass(frozen=True)
class AssetInfo:
    """What the message says about a file it carries (``metadata.attachments``)."""

    name: str | None = None
    media_type: str | None = None


def file_id(pointer: str) -> str | None:
    """Return the file id in an asset pointer (``file-service://file-AbC`` -> ``file-AbC``), or None."""
    match = _POINTER.match(pointer)
    return match.group("id") if match else None


class ZipAssets:
    """The files of one ChatGPT export .zip, found by the ids messages point at.

    Args:
        archive: the open zip (owned by the caller).
        max_bytes: a larger file is left out (its message keeps an ``[image]`` placeholder).
    """

    def __init__(self, archive: zipfile.ZipFile, *, max_bytes: int) -> None:
        self._archive = archive
        self._max_bytes = max_bytes
        self._members: dict[str, list[zipfile.ZipInfo]] = {}
        for info in archive.infolist():
            name = PurePosixPath(info.filename).name
            if not info.is_dir() and (match := re.match(r"file[-_][A-Za-z0-9]+", name)):
                self._members.setdefault(match.group(), []).append(info)
        self._found: dict[str, tuple[zipfile.ZipInfo, str, int] | None] = {}  # id -> (member, sha256, size)
        self._by_hash: dict[str, zipfile.ZipInfo] = {}

    def resolve(self, pointer: str, info: AssetInfo) -> AttachmentRef | None:
        """Return the attachment ``pointer`` refers to, or None when the zip does not hold it."""
        key = file_id(pointer)
        if key is None:
            return None
        if key not in self._found:
            self._found[key] = self._hash(key)
        found = self._found[key]
        if found is None:
            return None
        member, digest, size = found
        self._by_hash.setdefault(digest, member)
        name = info.name or _name_without_id(PurePosixPath(member.filename).name, key)
        media_type = info.media_type or self._media_type(member, name)
        return AttachmentRef(sha256=digest, name=name, media_type=media_type, size=size)

    def open(self, digest: str) -> IO[bytes]:
        """Open the bytes of an attachment :meth:`resolve` returned, for reading once."""
        return self._archive.open(self._by_hash[digest])

    def _hash(self, key: str) -> tuple[zipfile.ZipInfo, str, int] | None:
        candidates = sorted(self._members.get(key, []), key=lambda i: (len(i.filename), i.filename))
        if not candidates:
            return None
        member = candidates[0]
        digest = hashlib.sha256()
        size = 0
        with self._archive.open(member) as raw:
            while piece := raw.read(_READ):
                size += len(piece)
                if size > self._max_bytes:
                    log.warning(
                        "left out %s from the ChatGPT export: larger than %d bytes",
                        member.filename,
                        self._max_bytes,
                    )
                    return None
                digest.update(piece)
        return member, digest.hexdigest(), size

    def _media_type(self, member: zipfile.ZipInfo, name: str) -> str:
        guessed, _ = mimetypes.guess_type(name)
        if guessed:
            return guessed
        with self._archive.open(member) as raw:
            head = raw.read(16)
        for signature, media_type in _SIGNATURES:
            if head.startswith(signature):
                return media_type
        return "application/octet-stream"


def _name_without_id(member_name: str, key: str) -> str:
    rest = member_name[len(key) :].lstrip("-_ ")
    return rest if rest and not rest.startswith(".") else member_name


def open_zip_assets(path: Path, *, max_bytes: int) -> tuple[zipfile.ZipFile, ZipAssets]:
    """Open the export .zip at ``path`` and index its files; the caller closes the zip."""
    archive = zipfile.ZipFile(path)
    return archive, ZipAssets(archive, max_bytes=max_bytes)
