"""Decide where a saved API key may go: only to the kind, preset and server it was saved for.

A person who edits an entry's base URL, kind or preset and leaves the key field empty has not
said the saved key belongs to the new server. Sending it there anyway (a connection test, or
every later chat) would hand the key to whatever host was typed, perhaps by mistake. So the key
follows an entry only while its destination stays the same.
"""

from __future__ import annotations

import urllib.parse
from typing import Protocol

from desktop_llm.providers.presets import PRESETS

# Kinds whose servers usually run without a key (a hosted preset may still need one).
KEYLESS_KINDS = ("ollama", "openai-compatible")

KEY_NOT_SENT = (
    "You changed where this provider connects (its kind, server or base URL). Type the API key "
    "again to use it there: a saved key is only sent to the server it was saved for."
)


class Destination(Protocol):
    """What ``destination`` reads from a provider entry (storage's ``ProviderSetting``)."""

    @property
    def kind(self) -> str: ...

    @property
    def preset(self) -> str | None: ...

    @property
    def base_url(self) -> str | None: ...


def destination(entry: Destination) -> tuple[str, str | None, tuple[str, str, int | None] | None]:
    """Return who receives the entry's key: kind, preset and the base URL's scheme, host and port.

    The path does not count (``/v1`` and ``/v2`` on one host reach the same owner); the scheme
    does (a key must not move from https to plain http unasked).
    """
    origin = None
    if entry.base_url:
        parts = urllib.parse.urlsplit(entry.base_url)
        try:
            port = parts.port
        except ValueError:
            port = None
        origin = (parts.scheme.lower(), (parts.hostname or "").lower(), port)
    return entry.kind, entry.preset or None, origin


def needs_key(kind: str, preset: str | None) -> bool:
    """Return whether requests of this kind (and preset) are pointless without a key."""
    if kind not in KEYLESS_KINDS:
        return True
    known = PRESETS.get(preset or "") if kind == "openai-compatible" else None
    return known is not None and known.needs_key
