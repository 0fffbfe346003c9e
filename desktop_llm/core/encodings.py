"""Load tiktoken's encodings from the files shipped in ``resources/tokenizers``, never the network.

tiktoken's ``get_encoding`` downloads ``<name>.tiktoken`` on first use (or reads it from a cache
chosen by the process-wide ``TIKTOKEN_CACHE_DIR``). Instead we ship byte-identical copies
(``scripts/convert_js_tiktoken.py``) and build each ``tiktoken.Encoding`` ourselves:

- the regex, special tokens and expected sha256 come from tiktoken's own constructors in
  ``tiktoken_ext.openai_public``, run with their loader swapped for a recorder, so they stay
  whatever the installed tiktoken says and nothing is fetched;
- the ranks are read from our file by ``tiktoken.load.load_tiktoken_bpe``, which checks that
  sha256. (That loader also keeps a copy in its temp-folder cache; harmless, the hash is checked
  on every read.)

Loading a file takes a noticeable fraction of a second: it happens off the Qt thread when a
model that needs the encoding is first metered. Loaded encodings are kept for the life of the
process. tiktoken itself is imported on that first load too, not with this module (which the
token counter imports at start-up).
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop_llm.core.resources import resource_path

if TYPE_CHECKING:
    import tiktoken

ENCODING_NAMES = ("o200k_base", "cl100k_base")


class TokenizerFileError(ValueError):
    """A shipped tokenizer file is damaged or tiktoken's constructors changed shape."""


@dataclass(frozen=True)
class EncodingSpec:
    """What tiktoken's constructor says about one encoding, without its ranks."""

    name: str
    url: str  # where tiktoken would download the ranks from; we never do
    expected_hash: str
    pat_str: str
    special_tokens: Mapping[str, int]


def _refuse_download(*args: object, **kwargs: object) -> dict[bytes, int]:
    raise TokenizerFileError(
        "tiktoken's encoding constructor asked for a loader Desktop LLM does not replace; "
        "refusing to download. Update desktop_llm/core/encodings.py for this tiktoken version."
    )


@cache
def encoding_spec(name: str) -> EncodingSpec:
    """Return the regex, special tokens and expected hash tiktoken uses for ``name``.

    Runs tiktoken's own constructor on a private copy of its module globals in which
    ``load_tiktoken_bpe`` only records its arguments, and every other loader from
    ``tiktoken.load`` raises: the constructor is read, nothing is downloaded, no global changes.
    """
    if name not in ENCODING_NAMES:
        raise KeyError(
            f"Desktop LLM ships no tokenizer file for {name!r}; it has {', '.join(ENCODING_NAMES)}."
        )
    import tiktoken.load  # on the first load only: see the module docstring
    from tiktoken_ext import openai_public

    constructor = openai_public.ENCODING_CONSTRUCTORS[name]
    calls: list[tuple[str, str | None]] = []

    def record(blobpath: str, expected_hash: str | None = None) -> dict[bytes, int]:
        calls.append((blobpath, expected_hash))
        return {}

    def sandboxed(value: object) -> object:
        if value is tiktoken.load.load_tiktoken_bpe:
            return record
        if callable(value) and getattr(value, "__module__", None) == "tiktoken.load":
            return _refuse_download
        return value

    private_globals = {key: sandboxed(value) for key, value in constructor.__globals__.items()}
    run: Callable[[], dict[str, Any]] = types.FunctionType(
        constructor.__code__, private_globals, constructor.__name__
    )
    params = run()
    if len(calls) != 1 or not calls[0][1]:
        raise TokenizerFileError(f"tiktoken's {name} constructor no longer loads one hashed file: {calls!r}.")
    url, expected_hash = calls[0]
    return EncodingSpec(
        name=str(params["name"]),
        url=url,
        expected_hash=str(expected_hash),
        pat_str=str(params["pat_str"]),
        special_tokens=types.MappingProxyType(dict(params["special_tokens"])),
    )


def build_encoding(name: str, path: Path | None = None) -> tiktoken.Encoding:
    """Read the ranks of ``name`` and return a new ``tiktoken.Encoding`` (no caching).

    Args:
        name: one of ``ENCODING_NAMES``.
        path: the ranks file; None for the shipped one.
    """
    import tiktoken.load

    spec = encoding_spec(name)
    path = path or resource_path("tokenizers", f"{name}.tiktoken")
    try:
        ranks = tiktoken.load.load_tiktoken_bpe(str(path), expected_hash=spec.expected_hash)
    except ValueError as error:
        raise TokenizerFileError(
            f"The tokenizer file {path} is damaged (its sha256 is not {spec.expected_hash}). "
            "Reinstall Desktop LLM."
        ) from error
    return tiktoken.Encoding(
        spec.name, pat_str=spec.pat_str, mergeable_ranks=ranks, special_tokens=dict(spec.special_tokens)
    )


_loaded: dict[str, tiktoken.Encoding] = {}
# One lock for all: a second caller waits for the first load instead of reading 4 MB again.
_load_lock = threading.Lock()


def get_encoding(name: str) -> tiktoken.Encoding:
    """Return the encoding ``name``, loading it from the shipped file on first use (blocks)."""
    encoding = _loaded.get(name)
    if encoding is None:
        with _load_lock:
            encoding = _loaded.get(name)
            if encoding is None:
                encoding = _loaded[name] = build_encoding(name)
    return encoding


def preload_encodings() -> None:
    """Load every shipped encoding now; call it off the Qt thread so the first count is instant."""
    for name in ENCODING_NAMES:
        get_encoding(name)


def is_loaded(name: str) -> bool:
    """Return whether ``get_encoding(name)`` would return without reading a file."""
    return name in _loaded
