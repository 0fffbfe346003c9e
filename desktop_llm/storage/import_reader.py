"""Stream the items of an import file: folders, templates and conversations, checked, one at a time.

Both kinds of input are read with :class:`JsonStream`, so only one conversation is in memory at
a time. Problems go to the caller's :class:`Problems`; an item with problems is not yielded.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Any

from desktop_llm.storage.bundles import ConversationBundle, TemplateBundle
from desktop_llm.storage.chatgpt import looks_like_chatgpt, read_chatgpt_conversation
from desktop_llm.storage.import_source import ImportLimits, ImportSource
from desktop_llm.storage.json_stream import JsonStream, JsonStreamError
from desktop_llm.storage.records import Folder
from desktop_llm.storage.validation import (
    FORMAT_ID,
    Problems,
    check_format,
    describe,
    read_conversation,
    read_folder,
    read_template,
)

Item = Folder | TemplateBundle | ConversationBundle
_LISTS: dict[str, Callable[[Any, str, Problems], Item | None]] = {
    "folders": read_folder,
    "templates": read_template,
    "conversations": read_conversation,
}


def read_items(
    source: ImportSource, limits: ImportLimits, problems: Problems
) -> Generator[tuple[str, Item], None, None]:
    """Yield ``(path, item)`` for every valid item of ``source``, recording problems as they turn up."""
    with source.open(limits) as raw:
        stream = JsonStream(raw, max_value_chars=limits.max_item_chars)
        try:
            if source.kind == "chatgpt":
                yield from _chatgpt_items(stream, problems)
            else:
                yield from _desktop_llm_items(stream, problems)
        except JsonStreamError as error:
            problems.add("", str(error))


def _desktop_llm_items(stream: JsonStream, problems: Problems) -> Iterator[tuple[str, Item]]:
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
        if key not in _LISTS:
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
        reader = _LISTS[key]
        for index, value in enumerate(stream.iter_array()):
            path = f"{key}[{index}]"
            if (item := reader(value, path, problems)) is not None:
                yield path, item
    stream.finish()
    if reason := check_format(document_format, version):
        problems.replace_all(reason)
    elif "conversations" not in seen:
        problems.add("conversations", "missing")


def _known_bad_format(document_format: Any, version: Any) -> str | None:
    """Return why the file cannot be read, once ``format`` (and ``version``, if right) are known."""
    if document_format is None or (document_format == FORMAT_ID and version is None):
        return None  # not known yet: the exporter writes them first, but a reader cannot count on it
    return check_format(document_format, version)


def _chatgpt_items(stream: JsonStream, problems: Problems) -> Iterator[tuple[str, Item]]:
    for index, value in enumerate(stream.iter_array()):
        path = f"conversations[{index}]"
        if index == 0 and not looks_like_chatgpt(value):
            problems.replace_all(
                "another format: a JSON list whose first item is not a ChatGPT conversation "
                '(no "mapping" object); expected a desktop-llm export or ChatGPT\'s conversations.json'
            )
            return
        if (bundle := read_chatgpt_conversation(value, path, problems)) is not None:
            yield path, bundle
    stream.finish()
