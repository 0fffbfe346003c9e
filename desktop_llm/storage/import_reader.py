"""Stream the items of an import file: folders, templates and conversations, checked, one at a time.

Both kinds of input are read with :class:`JsonStream`, so only one conversation is in memory at
a time, and an attachment's base64 text is decoded as it streams by (never held whole).
Problems go to the caller's :class:`Problems`; an item with problems is not yielded.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Generator, Iterator
from typing import Any

from desktop_llm.storage.attachment_stream import Base64Decoder, Base64Error
from desktop_llm.storage.bundles import AttachmentBlob, ConversationBundle, TemplateBundle
from desktop_llm.storage.chatgpt import looks_like_chatgpt, read_chatgpt_conversation
from desktop_llm.storage.chatgpt_assets import ZipAssets, open_zip_assets
from desktop_llm.storage.import_source import ImportLimits, ImportSource
from desktop_llm.storage.json_stream import JsonStream, JsonStreamError
from desktop_llm.storage.records import Folder
from desktop_llm.storage.validation import (
    COUNT,
    FORMAT_ID,
    FORMAT_VERSION,
    SHA256,
    Problems,
    check_format,
    describe,
    read_conversation,
    read_folder,
    read_template,
)

Item = Folder | TemplateBundle | ConversationBundle | AttachmentBlob
ATTACHMENTS = "attachments"
_LISTS: dict[str, Callable[[Any, str, Problems], Item | None]] = {
    "folders": read_folder,
    "templates": read_template,
    "conversations": read_conversation,
}


def read_items(
    source: ImportSource, limits: ImportLimits, problems: Problems, *, keep_attachments: bool = False
) -> Generator[tuple[str, Item], None, None]:
    """Yield ``(path, item)`` for every valid item of ``source``, recording problems as they turn up.

    Args:
        keep_attachments: yield each attachment with its bytes (else they are only checked).
    """
    with source.open(limits) as raw, contextlib.ExitStack() as stack:
        stream = JsonStream(raw, max_value_chars=limits.max_item_chars)
        try:
            if source.kind == "chatgpt":
                assets = None
                if source.member is not None:  # a .zip: its images come in as attachments
                    archive, assets = open_zip_assets(source.path, max_bytes=limits.max_item_chars)
                    stack.callback(archive.close)
                yield from _chatgpt_items(stream, problems, assets, keep_attachments)
            else:
                yield from _desktop_llm_items(stream, problems, keep_attachments)
        except JsonStreamError as error:
            problems.add("", str(error))


def _desktop_llm_items(
    stream: JsonStream, problems: Problems, keep_attachments: bool
) -> Iterator[tuple[str, Item]]:
    document_format: Any = None
    version: Any = None
    seen: set[str] = set()
    for key in stream.iter_object():
        if key in ("format", "version"):
            if key == "format":
                document_format = stream.read_value()
            else:
                version = stream.read_value()
            continue
        if key not in _LISTS and key != ATTACHMENTS:
            stream.read_value()  # readers ignore members they do not know
            continue
        if (reason := _known_bad_format(document_format, version)) is not None:
            problems.replace_all(reason)  # another format or a newer version: nothing else matters
            return
        seen.add(key)
        if stream.peek_kind() != "[":
            value = stream.read_value()
            problems.add(key, f"expected a list, found {describe(value)}")
            continue
        if key == ATTACHMENTS:
            for index in stream.iter_items():
                path = f"{key}[{index}]"
                if (blob := _read_attachment(stream, path, problems, keep_attachments)) is not None:
                    yield path, blob
            continue
        reader = _LISTS[key]
        if key == "conversations":
            known = version if isinstance(version, int) and not isinstance(version, bool) else FORMAT_VERSION
            reader = functools.partial(read_conversation, version=known)
        for index, value in enumerate(stream.iter_array()):
            path = f"{key}[{index}]"
            if (item := reader(value, path, problems)) is not None:
                yield path, item
    stream.finish()
    if reason := check_format(document_format, version):
        problems.replace_all(reason)
    elif "conversations" not in seen:
        problems.add("conversations", "missing")


def _read_attachment(stream: JsonStream, path: str, problems: Problems, keep: bool) -> AttachmentBlob | None:
    """Read one ``{"sha256", "size", "data"}`` object, decoding ``data`` as it streams by."""
    if stream.peek_kind() != "{":
        problems.add(path, f"expected an object, found {describe(stream.read_value())}")
        return None
    stated: dict[str, Any] = {}
    decoder: Base64Decoder | None = None
    digest = None
    ok = True
    for key in stream.iter_object():
        if key != "data" or decoder is not None:
            stated[key] = stream.read_value()
            continue
        decoder = Base64Decoder(keep=keep)
        if stream.peek_kind() != '"':
            problems.add(f"{path}.data", f"expected a base64 string, found {describe(stream.read_value())}")
            ok = False
            continue
        pieces = stream.iter_string()
        try:
            for piece in pieces:
                decoder.feed(piece)
            digest = decoder.finish()
        except Base64Error as error:
            problems.add(f"{path}.data", str(error))
            ok = False
            for _ in pieces:  # read past the rest of the string
                pass
    if decoder is None:
        problems.add(f"{path}.data", "missing")
    for name, check in (("sha256", SHA256), ("size", COUNT)):
        if name not in stated:
            problems.add(f"{path}.{name}", "missing")
            ok = False
        elif not check.test(stated[name]):
            problems.add(f"{path}.{name}", f"expected {check.expected}, found {describe(stated[name])}")
            ok = False
    if decoder is not None and ok and digest is not None:
        if decoder.size != stated["size"]:
            problems.add(f"{path}.size", f"{stated['size']:,} bytes stated; the data holds {decoder.size:,}")
            ok = False
        elif digest != stated["sha256"]:
            problems.add(f"{path}.sha256", f"does not match the data (its sha256 is {digest})")
            ok = False
    if decoder is None or not ok or digest is None:
        if decoder is not None:
            decoder.close()
        return None
    return AttachmentBlob(digest, decoder.size, decoder.spool)


def _known_bad_format(document_format: Any, version: Any) -> str | None:
    """Return why the file cannot be read, once ``format`` (and ``version``, if right) are known."""
    if document_format is None or (document_format == FORMAT_ID and version is None):
        return None  # not known yet: the exporter writes them first, but a reader cannot count on it
    return check_format(document_format, version)


def _chatgpt_items(
    stream: JsonStream, problems: Problems, assets: ZipAssets | None, keep: bool
) -> Iterator[tuple[str, Item]]:
    resolve = assets.resolve if assets is not None else None
    given: set[str] = set()  # attachments already yielded in this pass
    for index, value in enumerate(stream.iter_array()):
        path = f"conversations[{index}]"
        if index == 0 and not looks_like_chatgpt(value):
            problems.replace_all(
                "another format: a JSON list whose first item is not a ChatGPT conversation "
                '(no "mapping" object); expected a desktop-llm export or ChatGPT\'s conversations.json'
            )
            return
        if (bundle := read_chatgpt_conversation(value, path, problems, resolve)) is None:
            continue
        yield path, bundle
        for ref in (ref for message in bundle.messages for ref in message.attachments):
            if assets is not None and ref.sha256 not in given:
                given.add(ref.sha256)
                yield path, AttachmentBlob(ref.sha256, ref.size, assets.open(ref.sha256) if keep else None)
    stream.finish()
