"""No API key ever reaches SQLite, its WAL, an export or a log (issue 3, item 7).

A known key is stored through KeyStore (the real session keyring when there is one, else the
in-memory fallback) and set in the environment, conversations are written, everything is
exported in every format, by the library and by the command line; then the bytes of every file
the app and the exports left behind are searched for the key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.exchange_samples import populate

import desktop_llm
from desktop_llm.core.paths import resolve_paths
from desktop_llm.secrets import KeyStore, environment_providers, resolve_key
from desktop_llm.storage.database import Database
from desktop_llm.storage.export_json import export_json_file
from desktop_llm.storage.importer import import_file
from desktop_llm.storage.markdown_export import export_markdown_file
from desktop_llm.storage.records import ProviderSetting
from desktop_llm.storage.settings import SettingsRepository

STORED_KEY = "sk-proj-STORED-4f1c9a7e2b3d4c5e6f708192a3b4c5d6"
ENV_KEY = "sk-ant-ENVIRONMENT-9e8d7c6b5a4f3e2d1c0b"
PACKAGE_ROOT = str(Path(desktop_llm.__file__).resolve().parent.parent)


def encodings(key: str) -> list[bytes]:
    return [key.encode("utf-8"), key.encode("utf-16-le"), key[8:24].encode("utf-8")]


def files_holding(root: Path, keys: list[str]) -> list[str]:
    needles = [needle for key in keys for needle in encodings(key)]
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path} holds {needle!r}" for needle in needles if needle in data]
    return found


@pytest.fixture
def keystore() -> KeyStore:
    store = KeyStore()  # the session keyring under scripts/test.sh, else the memory fallback
    return store


def test_no_key_in_the_database_its_wal_exports_or_logs(
    keystore: KeyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = resolve_paths(tmp_path / "data").ensure()
    exports = tmp_path / "exports"
    exports.mkdir()
    monkeypatch.setenv("ANTHROPIC_API_KEY", ENV_KEY)

    db = Database.open(paths.database)
    try:
        setting = SettingsRepository(db).save_provider(
            ProviderSetting(id="", kind="openai", name="My OpenAI", key_env_var="OPENAI_API_KEY")
        )
        keystore.set(setting.id, STORED_KEY)
        anthropic = SettingsRepository(db).save_provider(
            ProviderSetting(id="", kind="anthropic", name="Claude")
        )
        assert resolve_key(setting, keystore, os.environ) == STORED_KEY
        assert resolve_key(anthropic, keystore, os.environ) == ENV_KEY
        assert [p.kind for p in environment_providers()] == ["anthropic"]
        sample = populate(db)

        export_json_file(db, exports / "all.json")
        export_json_file(db, exports / "one.json", conversation_ids=[sample.branched])
        export_markdown_file(db, sample.branched, exports / "one.md")
        import_file(db, exports / "all.json")
        # Scanned while the connection is open, so the write-ahead log still holds recent pages.
        assert paths.database.with_name(paths.database.name + "-wal").exists()
        leaks = files_holding(tmp_path, [STORED_KEY, ENV_KEY])
    finally:
        db.close()
    assert leaks == []

    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT, OPENAI_API_KEY=STORED_KEY)
    for arguments in (
        ["export", str(exports / "cli.json")],
        ["export", "--markdown", "--conversation", sample.branched, str(exports / "cli.md")],
        ["import", str(exports / "all.json")],
        ["search", "Paris"],
        ["import", str(exports / "missing.json")],  # an error message, too
    ):
        command = [sys.executable, "-m", "desktop_llm", "--data-dir", str(paths.data), *arguments]
        done = subprocess.run(command, capture_output=True, env=env, timeout=60, check=False)
        assert not any(needle in done.stdout + done.stderr for needle in encodings(STORED_KEY))
    assert files_holding(tmp_path, [STORED_KEY, ENV_KEY]) == []
    assert keystore.get(setting.id) == STORED_KEY  # it was stored all along, just not in a file
    keystore.delete(setting.id)
