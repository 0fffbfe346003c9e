"""MCP server configuration: secrets split to the keyring, Claude Desktop's file, tool names, approvals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes.keyrings import DictKeyring
from hypothesis import given
from hypothesis import strategies as st

from desktop_llm.core.mcp_config import (
    TOOL_NAME,
    McpConfigError,
    McpServerConfig,
    assign_tool_names,
    is_secret_env,
    parse_claude_desktop,
    parse_pairs,
    validate,
)
from desktop_llm.secrets import SERVICE, KeyStore, SecretsError
from desktop_llm.services.mcp_config import McpConfigService, keyring_user
from desktop_llm.storage.errors import NotFound, StorageError
from desktop_llm.storage.executor import DatabaseThread

TOKEN = "ghp-secret-5a9e7c1d"
HEADER = "Bearer hdr-4d2b8f"


def test_secret_names() -> None:
    for name in ("GITHUB_TOKEN", "openai_api_key", "DB_PASSWORD", "Authorization_X", "MY_SECRET", "COOKIE"):
        assert is_secret_env(name)
    for name in ("PATH", "ALLOWED_DIR", "LOG_LEVEL", "HOME"):
        assert not is_secret_env(name)


def test_validate_refuses_what_cannot_work() -> None:
    with pytest.raises(McpConfigError, match="command"):
        validate(McpServerConfig("x", "stdio"))
    with pytest.raises(McpConfigError, match="web address"):
        validate(McpServerConfig("x", "http", url="ftp://host/mcp"))
    with pytest.raises(McpConfigError, match="password"):
        validate(McpServerConfig("x", "http", url="https://me:pw@host/mcp"))
    with pytest.raises(McpConfigError, match="'api_key' parameter looks like a credential"):
        validate(McpServerConfig("x", "http", url="https://host/mcp?api_key=abc"))
    with pytest.raises(McpConfigError, match="name"):
        validate(McpServerConfig("  ", "stdio", command="npx"))
    with pytest.raises(McpConfigError, match="NAME=VALUE"):
        parse_pairs(["NOEQUALS"], "--env")
    assert parse_pairs(["A=1", "B=x=y"], "--env") == {"A": "1", "B": "x=y"}


def test_claude_desktop_file_is_read() -> None:
    text = json.dumps(
        {
            "mcpServers": {
                "filesystem": {
                    "command": "npx",
                    "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
                },
                "github": {"command": "docker", "args": ["run"], "env": {"GITHUB_TOKEN": TOKEN}},
                "remote": {
                    "type": "http",
                    "url": "https://example.com/mcp",
                    "headers": {"Authorization": HEADER},
                },
                "off": {"command": "uvx", "args": ["thing"], "disabled": True},
            },
            "globalShortcut": "",
        }
    )
    servers = {s.name: s for s in parse_claude_desktop(text)}
    assert servers["filesystem"].args == ("-y", "@modelcontextprotocol/server-filesystem", "/tmp")
    assert servers["github"].env == {"GITHUB_TOKEN": TOKEN}
    assert servers["remote"].transport == "http" and servers["remote"].headers == {"Authorization": HEADER}
    assert servers["off"].enabled is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ('{"servers": {}}', "mcpServers"),
        ('{"mcpServers": {"a": {"args": []}}}', 'neither "command" nor "url"'),
        ('{"mcpServers": {"a": {"command": "x", "args": "y"}}}', "not a list"),
    ],
)
def test_claude_desktop_file_errors_are_named(text: str, message: str) -> None:
    with pytest.raises(McpConfigError, match=message):
        parse_claude_desktop(text, source="claude.json")


def test_tool_names_keep_own_names_when_unique_and_prefix_clashes() -> None:
    names = assign_tool_names([("files", "read_file"), ("a", "echo"), ("b b", "echo"), ("web", "get page!")])
    assert names == {
        "read_file": ("files", "read_file"),
        "a_echo": ("a", "echo"),
        "b_b_echo": ("b b", "echo"),
        "web_get_page": ("web", "get page!"),
    }


@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=90), st.text(min_size=1, max_size=90)),
        max_size=30,
        unique=True,
    )
)
def test_tool_names_are_always_valid_unique_and_map_back(tools: list[tuple[str, str]]) -> None:
    names = assign_tool_names(tools)
    assert len(names) == len(tools)
    assert all(TOOL_NAME.match(name) for name in names)
    assert len({name.lower() for name in names}) == len(names)
    assert sorted(names.values()) == sorted(tools)


# --- the service: keyring and database -------------------------------------------------------------


def _database_bytes(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in folder.glob("desktop-llm.sqlite3*"))


async def test_secrets_go_to_the_keyring_never_the_database(tmp_path: Path) -> None:
    db = DatabaseThread(tmp_path / "desktop-llm.sqlite3")
    keyring = DictKeyring()
    service = McpConfigService(db, KeyStore(keyring))
    try:
        stdio = await service.save(
            McpServerConfig(
                "gh", "stdio", command="docker", env={"GITHUB_TOKEN": TOKEN, "LOG_LEVEL": "debug"}
            )
        )
        web = await service.save(
            McpServerConfig("web", "http", url="https://x.test/mcp", headers={"Authorization": HEADER})
        )
        stored = _database_bytes(tmp_path)
        assert b"LOG_LEVEL" in stored and b"GITHUB_TOKEN" in stored  # the names are there...
        assert TOKEN.encode() not in stored and HEADER.encode() not in stored  # ...the values are not
        assert json.loads(keyring.passwords[(SERVICE, keyring_user(stdio.id))]) == {
            "env": {"GITHUB_TOKEN": TOKEN},
            "headers": {},
        }
        assert stdio.env == {"LOG_LEVEL": "debug"} and stdio.secret_env == ("GITHUB_TOKEN",)
        joined = await service.config(await service.record("gh"))
        assert joined.env == {"GITHUB_TOKEN": TOKEN, "LOG_LEVEL": "debug"}
        assert (await service.config(web)).headers == {"Authorization": HEADER}

        await service.remove("gh")
        assert (SERVICE, keyring_user(stdio.id)) not in keyring.passwords
        with pytest.raises(NotFound):
            await service.record("gh")
    finally:
        await db.aclose()


async def test_a_lost_keyring_entry_is_named(tmp_path: Path) -> None:
    db = DatabaseThread(tmp_path / "desktop-llm.sqlite3")
    keyring = DictKeyring()
    service = McpConfigService(db, KeyStore(keyring))
    try:
        record = await service.save(McpServerConfig("gh", "stdio", command="x", env={"GITHUB_TOKEN": TOKEN}))
        keyring.passwords.clear()
        with pytest.raises(SecretsError, match="'gh': the values of GITHUB_TOKEN are not in the keyring"):
            await service.config(record)
    finally:
        await db.aclose()


async def test_no_keyring_refuses_secrets_when_required(tmp_path: Path) -> None:
    import keyring.backends.null

    db = DatabaseThread(tmp_path / "desktop-llm.sqlite3")
    service = McpConfigService(db, KeyStore(keyring.backends.null.Keyring()), require_keyring=True)
    try:
        with pytest.raises(SecretsError, match="GITHUB_TOKEN must be kept in a system keyring"):
            await service.save(McpServerConfig("gh", "stdio", command="x", env={"GITHUB_TOKEN": TOKEN}))
        assert await service.records() == []
        await service.save(McpServerConfig("plain", "stdio", command="x", env={"ROOT": "/tmp"}))
        assert [r.name for r in await service.records()] == ["plain"]
    finally:
        await db.aclose()


async def test_names_are_unique_and_approvals_revocable(tmp_path: Path) -> None:
    db = DatabaseThread(tmp_path / "desktop-llm.sqlite3")
    service = McpConfigService(db, KeyStore(DictKeyring()))
    try:
        record = await service.save(McpServerConfig("files", "stdio", command="x"))
        with pytest.raises(StorageError, match="already an MCP server called 'files'"):
            await service.save(McpServerConfig("files", "stdio", command="y"))
        await service.always_allow(record.id, "read_file")
        await service.always_allow(record.id, "list_dir")
        assert await service.approvals(record.id) == ["list_dir", "read_file"]
        await service.revoke(record.id, "read_file")
        assert await service.approvals(record.id) == ["list_dir"]
        off = await service.set_enabled("files", False)
        assert off.enabled is False and (await service.record("files")).enabled is False
    finally:
        await db.aclose()


async def test_import_claude_desktop_skips_names_already_present(tmp_path: Path) -> None:
    db = DatabaseThread(tmp_path / "desktop-llm.sqlite3")
    keyring = DictKeyring()
    service = McpConfigService(db, KeyStore(keyring))
    source = tmp_path / "claude_desktop_config.json"
    source.write_text(
        json.dumps({"mcpServers": {"a": {"command": "x"}, "b": {"command": "y", "env": {"API_KEY": TOKEN}}}}),
        encoding="utf-8",
    )
    try:
        await service.save(McpServerConfig("a", "stdio", command="old"))
        summary = await service.import_claude_desktop(source)
        assert summary.added == ("b",) and summary.skipped == ("a",)
        assert (await service.record("a")).command == "old"
        assert TOKEN.encode() not in _database_bytes(tmp_path)
    finally:
        await db.aclose()


def test_conversation_servers_live_in_params() -> None:
    from desktop_llm.core.mcp_config import conversation_servers, with_conversation_servers

    params = {"temperature": 0.2}
    assert conversation_servers(params) is None
    chosen = with_conversation_servers(params, ["files"])
    assert chosen == {"temperature": 0.2, "mcp_servers": ["files"]} and params == {"temperature": 0.2}
    assert conversation_servers(chosen) == ["files"]
    assert conversation_servers(with_conversation_servers(chosen, [])) == []
    assert conversation_servers(with_conversation_servers(chosen, None)) is None


def test_secret_values_for_the_log_redactor() -> None:
    from desktop_llm.services.mcp_config import secret_values

    entry = json.dumps({"env": {"GITHUB_TOKEN": TOKEN}, "headers": {"Authorization": HEADER}})
    assert secret_values(keyring_user("id-1"), entry) == [TOKEN, HEADER]
    assert secret_values("provider-id", "sk-plain") == ["sk-plain"]
    assert secret_values(keyring_user("id-1"), None) == []


async def test_an_export_never_holds_server_secrets(tmp_path: Path) -> None:
    from desktop_llm.storage.export_json import export_json_file

    db = DatabaseThread(tmp_path / "desktop-llm.sqlite3")
    service = McpConfigService(db, KeyStore(DictKeyring()))
    try:
        await service.save(McpServerConfig("gh", "stdio", command="x", env={"GITHUB_TOKEN": TOKEN}))
        await service.save(
            McpServerConfig("web", "http", url="https://x.test/mcp", headers={"X-Key": HEADER})
        )
        target = tmp_path / "export.json"
        await db.call(lambda d: export_json_file(d, target))
        text = target.read_bytes()
        assert TOKEN.encode() not in text and HEADER.encode() not in text
    finally:
        await db.aclose()


async def test_a_damaged_keyring_entry_is_named(tmp_path: Path) -> None:
    db = DatabaseThread(tmp_path / "desktop-llm.sqlite3")
    keyring = DictKeyring()
    service = McpConfigService(db, KeyStore(keyring))
    try:
        record = await service.save(McpServerConfig("gh", "stdio", command="x", env={"GITHUB_TOKEN": TOKEN}))
        keyring.passwords[(SERVICE, keyring_user(record.id))] = "{not json"
        with pytest.raises(SecretsError, match="'gh': its keyring entry is damaged"):
            await service.config(record)
    finally:
        await db.aclose()
