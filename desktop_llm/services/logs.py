"""Write the app's log to the user log folder with every API key redacted.

Keys reach a log in surprising ways: an exception whose message quotes a header, a URL with a
``key=`` query, a debug line from a library. So redaction does not trust the call sites: a
:class:`KeyRedactor` filter on the handler rewrites every record (message, arguments, traceback
and stack text) and replaces each key it knows (from the environment and from every key the
keyring hands out or stores, see ``composition.RedactingKeyStore``) plus anything shaped like a
credential (``sk-...``, ``Bearer ...``, ``x-api-key: ...``, ``key=...``).
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from desktop_llm.core.private_files import private_file, private_folder
from desktop_llm.core.redaction import secret_forms

LOG_FILENAME = "desktop-llm.log"
REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 6  # shorter strings would blank out ordinary words
_MAX_LOG_BYTES = 2_000_000
_LOG_BACKUPS = 3

_CREDENTIAL_SHAPES = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),  # OpenAI, Anthropic (sk-ant-...), OpenRouter (sk-or-...)
    re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"),  # Google API keys
    re.compile(r"(?i)(\bbearer\s+)[^\s\"',;]+"),
    re.compile(
        r"(?i)((?:x-api-key|x-goog-api-key|api[_-]?key|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]+"
    ),
    re.compile(r"(?i)([?&]key=)[^\s&\"']+"),
    # user:password@ in a proxy or base URL (the lookahead keeps the "@host" readable).
    re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://)[^/\s@\"']+(?=@)"),
)


class KeyRedactor(logging.Filter):
    """Replace known keys and credential-shaped strings in every record with ``[redacted]``.

    Thread-safe: keys may be added from the keyring's worker thread while the Qt thread logs.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Redact these strings and their escaped forms from now on (None and short ones are ignored)."""
        fresh = {
            form
            for secret in secrets
            if secret and len(secret.strip()) >= MIN_SECRET_LENGTH
            for form in secret_forms(secret.strip())
        }
        with self._lock:
            self._secrets = self._secrets | fresh

    def redact(self, text: str) -> str:
        """Return ``text`` with every known key and credential-shaped string replaced."""
        # Longest first, so a key that contains another known key is replaced whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        for shape in _CREDENTIAL_SHAPES:
            text = shape.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place (message with its arguments, traceback, stack) and keep it."""
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose every file (the current one and each rotated one) is owner-only (0600)."""

    def _open(self) -> io.TextIOWrapper:
        private_file(Path(self.baseFilename))
        return super()._open()


def configure_logging(folder: Path, redactor: KeyRedactor, *, level: int = logging.INFO) -> Path:
    """Send the root logger to ``folder/desktop-llm.log`` (rotated) and to stderr for warnings.

    Returns the log file's path (the crash dialog names it). Both handlers redact.
    """
    private_folder(folder)
    path = folder / LOG_FILENAME
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    file_handler = PrivateRotatingFileHandler(
        path, maxBytes=_MAX_LOG_BYTES, backupCount=_LOG_BACKUPS, encoding="utf-8"
    )
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    root = logging.getLogger()
    for handler in (file_handler, console):
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO; Gemini URLs may carry a key, and it is noise anyway.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # qasync logs every executor call with its arguments at DEBUG: those may include a key.
    logging.getLogger("qasync").setLevel(logging.INFO)
    return path
