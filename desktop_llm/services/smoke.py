"""``--smoke-test``: check that an installation works, from inside the real, started app.

Each check returns ``{"ok": bool, "detail": str}``; the report is
``{"checks": {...}, "ok": every check passed}``, printed as one JSON line. "No keyring" is
reported (``keyring.available`` false) but is not a failure: the app works without one.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

from desktop_llm.core.resources import ResourceMissing, resource_path, resources_dir
from desktop_llm.secrets import KeyStore
from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import StorageError
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.settings import SettingsRepository

Check = dict[str, Any]
REQUIRED_RESOURCES = (
    ("models.json",),
    ("templates",),
    ("tokenizers", "o200k_base.tiktoken"),
    ("tokenizers", "cl100k_base.tiktoken"),
)


def passed(detail: str, **extra: Any) -> Check:
    return {"ok": True, "detail": detail, **extra}


def failed(detail: str, **extra: Any) -> Check:
    return {"ok": False, "detail": detail, **extra}


def report(checks: dict[str, Check]) -> dict[str, Any]:
    """Return the report: every check, and whether all passed."""
    return {"checks": checks, "ok": bool(checks) and all(c["ok"] for c in checks.values())}


def print_report(checks: dict[str, Check], write: Callable[[str], object] = print) -> int:
    """Print the report as one JSON line; return the exit status (0 only if every check passed)."""
    result = report(checks)
    write(json.dumps(result, ensure_ascii=False))
    return 0 if result["ok"] else 1


def _write_and_read(db: Database) -> bool:
    repository = SettingsRepository(db)
    key, value = "smoke_test_probe", uuid.uuid4().hex
    repository.set(key, value)
    try:
        return bool(repository.get(key) == value)
    finally:
        repository.delete(key)


def _fts5(db: Database) -> str:
    db.conn.execute("CREATE VIRTUAL TABLE temp.smoke_fts USING fts5(body)")
    try:
        db.conn.execute("INSERT INTO temp.smoke_fts (body) VALUES ('smoke test probe')")
        found = db.conn.execute(
            "SELECT count(*) FROM temp.smoke_fts WHERE smoke_fts MATCH 'probe'"
        ).fetchone()[0]
    finally:
        db.conn.execute("DROP TABLE temp.smoke_fts")
    if found != 1:
        raise StorageError("FTS5 answered a query wrongly")
    return str(db.conn.execute("SELECT sqlite_version()").fetchone()[0])


async def check_database(db: DatabaseThread) -> dict[str, Check]:
    """Open the database, write and read a value, and run an FTS5 query."""
    checks: dict[str, Check] = {}
    try:
        ok = await db.call(_write_and_read)
        checks["database"] = (passed if ok else failed)(f"{db.path}: write and read back")
    except StorageError as error:
        checks["database"] = failed(str(error))
        checks["fts5"] = failed("skipped: the database did not open")
        return checks
    try:
        version = await db.call(_fts5)
        checks["fts5"] = passed(f"FTS5 works (SQLite {version})")
    except (StorageError, sqlite3.Error) as error:  # "no such module: fts5"
        checks["fts5"] = failed(f"FTS5 is not available: {error}")
    return checks


def check_resources() -> Check:
    """Check the shipped resources are where the locator says."""
    try:
        for parts in REQUIRED_RESOURCES:
            resource_path(*parts)
    except ResourceMissing as missing:
        return failed(str(missing))
    return passed(str(resources_dir()))


def check_tokenizers() -> Check:
    """Load both tokenizer files (hash-checked) and count exactly with them."""
    from desktop_llm.core.encodings import TokenizerFileError, get_encoding
    from desktop_llm.core.tokens import count_tokens

    try:
        for name in ("o200k_base", "cl100k_base"):
            get_encoding(name)
        counted = count_tokens("Hello, smoke test!", model="gpt-4o")
    except (TokenizerFileError, ResourceMissing, OSError, ValueError) as error:
        return failed(f"the tokenizer files do not load: {error}")
    if not counted.exact:
        return failed("token counts for OpenAI models are not exact")
    return passed(f"o200k_base and cl100k_base load; 'Hello, smoke test!' is {counted.count} tokens")


def check_math() -> Check:
    """Turn a formula into SVG (blocking): the math library and its fonts are installed."""
    from desktop_llm.core.math_svg import formula_svg

    try:
        svg = formula_svg(r"\frac{a}{b} + \sqrt{x^2}", True, "#000000", 16)
    except (ImportError, OSError) as error:  # the library, or a data file it reads as it loads
        return failed(f"the math library does not load: {type(error).__name__}: {error}")
    if not svg or "<svg" not in svg:
        return failed("formulas do not render: the math library (ziamath) or its fonts are missing")
    return passed(f"a formula renders as {len(svg)} characters of SVG")


def check_keyring(keystore: KeyStore) -> Check:
    """Report the keyring (blocking); no keyring is a fact to report, not a failure."""
    status = keystore.status
    return passed(status.message, available=status.available, backend=status.backend)


async def run_checks(*, window_shown: bool, db: DatabaseThread, keystore: KeyStore) -> dict[str, Check]:
    """Run every check of an app that has started; blocking ones off the Qt thread."""
    checks: dict[str, Check] = {
        "window": passed("the main window is on screen")
        if window_shown
        else failed("the window did not show")
    }
    checks.update(await check_database(db))
    checks["resources"] = await asyncio.to_thread(check_resources)
    checks["tokenizers"] = await asyncio.to_thread(check_tokenizers)
    checks["math"] = await asyncio.to_thread(check_math)
    checks["keyring"] = await asyncio.to_thread(check_keyring, keystore)  # the first use picks the backend
    return checks
