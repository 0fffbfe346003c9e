"""KeyStore against a real gnome-keyring over D-Bus (scripts/test.sh starts one for the suite)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import desktop_llm
from desktop_llm.secrets import KeyStore

pytestmark = [
    pytest.mark.keyring,
    pytest.mark.skipif(
        not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
        reason="no D-Bus session (DBUS_SESSION_BUS_ADDRESS is unset): run under "
        "`dbus-run-session -- bash scripts/_in_dbus_session.sh ...`, as scripts/test.sh does",
    ),
]

PACKAGE_ROOT = str(Path(desktop_llm.__file__).resolve().parent.parent)
READ_IN_ANOTHER_PROCESS = """
import sys
from desktop_llm.secrets import KeyStore
print(KeyStore().get(sys.argv[1]) or "<none>")
"""


def read_from_another_process(setting_id: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", READ_IN_ANOTHER_PROCESS, setting_id],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=dict(os.environ, PYTHONPATH=PACKAGE_ROOT, PYTHONIOENCODING="utf-8"),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_session_keyring_counts_as_a_keyring() -> None:
    status = KeyStore().status
    assert status.available, status.message
    assert "SecretService" in status.backend
    assert "system keyring" in status.message


def test_a_key_is_kept_by_the_keyring_not_by_the_process() -> None:
    store = KeyStore()
    setting_id = str(uuid.uuid4())
    key = "sk-real-keyring-" + uuid.uuid4().hex + "-ключ"
    store.set(setting_id, key)
    try:
        assert store.get(setting_id) == key
        assert read_from_another_process(setting_id) == key
    finally:
        store.delete(setting_id)
    assert store.get(setting_id) is None
    assert read_from_another_process(setting_id) == "<none>"


def test_keys_are_kept_apart_by_setting_id() -> None:
    store = KeyStore()
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    store.set(first, "sk-first")
    store.set(second, "sk-second")
    try:
        store.set(first, "sk-first-replaced")
        assert (store.get(first), store.get(second)) == ("sk-first-replaced", "sk-second")
    finally:
        store.delete(first)
        store.delete(second)
    store.delete(first)  # forgetting twice is not an error
