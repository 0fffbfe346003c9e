"""``desktop-llm mcp add | list | tools | remove | import`` run as subprocesses, with a real MCP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.mcp_server import TOOL_NAMES
from mcp_kit import FAKE_SERVER

import desktop_llm

PACKAGE_ROOT = str(Path(desktop_llm.__file__).resolve().parent.parent)
TOKEN = "ghp-cli-secret-90c1e2"


def mcp(data: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``desktop-llm mcp ARGS`` on the data folder ``data``."""
    environ = dict(os.environ, PYTHONPATH=PACKAGE_ROOT, PYTHONIOENCODING="utf-8", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "desktop_llm", "--data-dir", str(data), "mcp", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=environ,
        timeout=90,
        check=False,
    )


def lines(result: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_add_list_tools_remove(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = mcp(data, "add", "calc", "--", sys.executable, FAKE_SERVER, "--name", "calc")
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("Added MCP server 'calc' (stdio: ")
    # Options after NAME, and arguments that look like options after --.
    off = mcp(
        data,
        "add",
        "quiet",
        "--disabled",
        "--env",
        "ROOT=/tmp",
        "--",
        sys.executable,
        FAKE_SERVER,
        "--mode",
        "normal",
    )
    assert off.returncode == 0, off.stderr

    listed = mcp(data, "list")
    assert listed.returncode == 0, listed.stderr
    assert lines(listed) == [
        {"name": "calc", "transport": "stdio", "enabled": True, "tools": len(TOOL_NAMES)},
        {"name": "quiet", "transport": "stdio", "enabled": False, "tools": None},
    ]
    tools = mcp(data, "tools")
    assert tools.returncode == 0, tools.stderr
    rows = lines(tools)
    assert {"server": "calc", "name": "add_numbers", "description": "Add two numbers"} in rows
    assert {row["server"] for row in rows} == {"calc"}  # the disabled one is not started
    named = mcp(data, "tools", "quiet")
    assert named.returncode == 0 and {row["server"] for row in lines(named)} == {"quiet"}

    removed = mcp(data, "remove", "quiet")
    assert removed.returncode == 0 and removed.stdout == "Removed MCP server 'quiet'.\n"
    assert [row["name"] for row in lines(mcp(data, "list"))] == ["calc"]


def test_a_server_that_cannot_start_is_one_line_on_stderr(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert mcp(data, "add", "calc", "--", sys.executable, FAKE_SERVER).returncode == 0
    assert mcp(data, "add", "broken", "--", sys.executable, FAKE_SERVER, "--mode", "exit").returncode == 0
    listed = mcp(data, "list")
    assert listed.returncode == 1
    assert lines(listed) == [
        {"name": "broken", "transport": "stdio", "enabled": True, "tools": None},
        {"name": "calc", "transport": "stdio", "enabled": True, "tools": len(TOOL_NAMES)},
    ]
    (error,) = listed.stderr.splitlines()
    assert error.startswith("desktop-llm: error: MCP server 'broken' exited while starting")
    assert "missing configuration, giving up" in error
    tools = mcp(data, "tools", "broken")
    assert tools.returncode == 1 and tools.stdout == "" and len(tools.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("add", "x"), "-- COMMAND [ARGS...] or --url URL"),
        (("add", "x", "--url", "https://h/mcp", "--", "npx"), "not both"),
        (("add", "x", "--url", "https://me:pw@h/mcp"), "carries a password"),
        (("add", "x", "--env", "NOEQUALS", "--", "npx"), "expected NAME=VALUE"),
        (("add", "x", "--bogus"), "unrecognized arguments: --bogus"),
        (("remove", "nobody"), "no MCP server called 'nobody'"),
        (("tools", "nobody"), "no MCP server called 'nobody'"),
        (("import", "missing.json"), "missing.json"),
    ],
)
def test_errors_are_one_line(tmp_path: Path, args: tuple[str, ...], fragment: str) -> None:
    result = mcp(tmp_path / "data", *args)
    assert result.returncode != 0 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("desktop-llm: error: ") and fragment in line


def test_a_taken_name_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert mcp(data, "add", "calc", "--", "npx").returncode == 0
    again = mcp(data, "add", "calc", "--url", "https://h/mcp")
    assert again.returncode == 1 and "already an MCP server called 'calc'" in again.stderr


def test_secrets_are_refused_without_a_keyring(tmp_path: Path) -> None:
    result = mcp(
        tmp_path / "data",
        "add",
        "gh",
        "--env",
        f"GITHUB_TOKEN={TOKEN}",
        "--",
        "npx",
        env={"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"},
    )
    assert result.returncode == 1 and "GITHUB_TOKEN must be kept in a system keyring" in result.stderr
    assert TOKEN not in result.stderr


def test_import_claude_desktop(tmp_path: Path) -> None:
    data = tmp_path / "data"
    source = tmp_path / "claude_desktop_config.json"
    source.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "calc": {"command": sys.executable, "args": [FAKE_SERVER]},
                    "remote": {"url": "https://example.com/mcp"},
                }
            }
        ),
        encoding="utf-8",
    )
    first = mcp(data, "import", str(source))
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"Imported MCP servers from {source}: calc, remote.\n"
    again = mcp(data, "import", str(source))
    assert "skipped calc, remote (already present)" in again.stdout
    tools = mcp(data, "tools", "calc")
    assert tools.returncode == 0 and len(lines(tools)) == len(TOOL_NAMES)
    bad = tmp_path / "bad.json"
    bad.write_text('{"servers": {}}', encoding="utf-8")
    refused = mcp(data, "import", str(bad))
    assert refused.returncode == 1 and 'no "mcpServers" object' in refused.stderr


@pytest.mark.keyring
@pytest.mark.skipif(
    not os.environ.get("DBUS_SESSION_BUS_ADDRESS"), reason="needs a D-Bus session with gnome-keyring"
)
def test_secrets_go_to_the_real_keyring_not_the_database(tmp_path: Path) -> None:
    from desktop_llm.secrets import KeyStore
    from desktop_llm.services.mcp_config import keyring_user
    from desktop_llm.storage.database import Database

    data = tmp_path / "data"
    added = mcp(
        data,
        "add",
        "gh",
        "--env",
        f"GITHUB_TOKEN={TOKEN}",
        "--env",
        "ROOT=/srv",
        "--",
        sys.executable,
        FAKE_SERVER,
    )
    assert added.returncode == 0, added.stderr
    assert "secrets in the system keyring" in added.stdout and TOKEN not in added.stdout
    stored = b"".join(path.read_bytes() for path in data.glob("desktop-llm.sqlite3*"))
    assert b"GITHUB_TOKEN" in stored and TOKEN.encode() not in stored
    with Database.open(data / "desktop-llm.sqlite3") as db:
        server_id = db.conn.execute("SELECT id FROM mcp_servers WHERE name = 'gh'").fetchone()[0]
    keystore = KeyStore()
    assert json.loads(keystore.get(keyring_user(server_id)))["env"] == {"GITHUB_TOKEN": TOKEN}
    assert lines(mcp(data, "list"))[0]["tools"] == len(TOOL_NAMES)
    assert mcp(data, "remove", "gh").returncode == 0
    assert keystore.get(keyring_user(server_id)) is None
