"""Describe MCP servers: their configuration, which values are secrets, Claude Desktop's file, tool names.

Pure data and rules, no I/O. A server speaks over ``stdio`` (a command with arguments and
environment variables) or streamable ``http`` (a URL with request headers).

What counts as a secret: every header value (headers on an MCP server carry credentials almost
always), and the value of every environment variable whose name contains KEY, TOKEN, SECRET,
PASSWORD, PASSWD, AUTH, CREDENTIAL or COOKIE (case-insensitive), e.g. ``GITHUB_TOKEN``,
``OPENAI_API_KEY``. Secrets are kept in the keyring, never in SQLite or an export. A URL that
carries a password (``https://user:pw@host``) or a secret-looking query parameter
(``?api_key=...``) is refused with advice to use a header instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Transport = Literal["stdio", "http"]
TRANSPORTS: tuple[str, ...] = ("stdio", "http")

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|AUTH|CREDENTIAL|COOKIE", re.IGNORECASE)
# OpenAI, Anthropic and Gemini all accept tool names matching this.
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_NAME_LIMIT = 64
_SERVER_NAME = re.compile(r"^[^\x00-\x1f]{1,80}$")


class McpConfigError(ValueError):
    """A server configuration that cannot work; the message names the server and the fix."""


@dataclass(frozen=True)
class McpServerConfig:
    """One MCP server as the app runs it, secrets included (never stored as such).

    Args:
        name: unique, what the person calls it ("filesystem").
        transport: "stdio" or "http".
        command, args, env: how to start a stdio server (env is added to a minimal environment).
        url, headers: where a streamable HTTP server answers, and what to send with each request.
        enabled: offered to the model and listed by ``mcp tools``.
        id: the stored entry's id ("" until stored).
    """

    name: str
    transport: Transport
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    enabled: bool = True
    id: str = ""

    def describe(self) -> str:
        """Return a one-line summary without any secret ("stdio: npx -y server" / "http: https://...")."""
        if self.transport == "stdio":
            return "stdio: " + " ".join([self.command, *self.args])
        return f"http: {self.url}"


def is_secret_env(name: str) -> bool:
    """Return whether an environment variable's value is kept in the keyring."""
    return bool(SECRET_NAME.search(name))


def split_secrets(
    config: McpServerConfig,
) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, str]]]:
    """Return (plain env, plain headers, secrets) where secrets is {"env": {...}, "headers": {...}}."""
    plain_env = {k: v for k, v in config.env.items() if not is_secret_env(k)}
    secret_env = {k: v for k, v in config.env.items() if is_secret_env(k)}
    return plain_env, {}, {"env": secret_env, "headers": dict(config.headers)}


def validate(config: McpServerConfig) -> McpServerConfig:
    """Return the configuration trimmed; raise McpConfigError when it cannot work."""
    name = config.name.strip()
    if not _SERVER_NAME.match(name):
        raise McpConfigError("Give the MCP server a name (up to 80 characters, one line).")
    if config.transport not in TRANSPORTS:
        raise McpConfigError(
            f"MCP server {name!r}: the transport must be stdio or http, not {config.transport!r}."
        )
    for key in config.env:
        if not key or "=" in key or "\x00" in key:
            raise McpConfigError(f"MCP server {name!r}: {key!r} is not a valid environment variable name.")
    for key in config.headers:
        if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", key):
            raise McpConfigError(f"MCP server {name!r}: {key!r} is not a valid HTTP header name.")
    if config.transport == "stdio":
        command = config.command.strip()
        if not command:
            raise McpConfigError(f"MCP server {name!r}: give the command that starts it (e.g. npx).")
        return _replace(config, name=name, command=command, url="", headers={})
    url = config.url.strip()
    _check_url(name, url)
    return _replace(config, name=name, url=url, command="", args=(), env={})


def _check_url(name: str, url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise McpConfigError(
            f"MCP server {name!r}: the URL must be a web address such as https://example.com/mcp, "
            f"not {url!r}."
        )
    if parts.password:
        raise McpConfigError(
            f"MCP server {name!r}: the URL carries a password; give it as a header instead "
            "(e.g. Authorization=Bearer ...), so it is kept in the keyring."
        )
    for key, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if SECRET_NAME.search(key):
            raise McpConfigError(
                f"MCP server {name!r}: the URL's {key!r} parameter looks like a credential; give it as a "
                "header instead, so it is kept in the keyring."
            )


def _replace(config: McpServerConfig, **changes: Any) -> McpServerConfig:
    copied = dataclasses.replace(
        config, args=tuple(config.args), env=dict(config.env), headers=dict(config.headers)
    )
    return dataclasses.replace(copied, **changes)


def parse_pairs(pairs: Iterable[str], what: str) -> dict[str, str]:
    """Turn ``["K=V", ...]`` into a dict; raise McpConfigError naming a pair without "=".

    Args:
        what: "--env" or "--header", for the message.
    """
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise McpConfigError(f"{what} {pair!r}: expected NAME=VALUE.")
        result[key.strip()] = value
    return result


# --- per conversation ----------------------------------------------------------------------------

# The key in a conversation's ``params`` that lists the servers offered in it (absent: all enabled).
CONVERSATION_SERVERS = "mcp_servers"


def conversation_servers(params: Mapping[str, Any]) -> list[str] | None:
    """Return the servers a conversation offers (None: every enabled server; []: none)."""
    chosen = params.get(CONVERSATION_SERVERS)
    if chosen is None:
        return None
    return [str(name) for name in chosen] if isinstance(chosen, list) else None


def with_conversation_servers(params: Mapping[str, Any], names: Sequence[str] | None) -> dict[str, Any]:
    """Return ``params`` offering only ``names`` (None: back to every enabled server)."""
    updated = dict(params)
    if names is None:
        updated.pop(CONVERSATION_SERVERS, None)
    else:
        updated[CONVERSATION_SERVERS] = list(names)
    return updated


# --- Claude Desktop ------------------------------------------------------------------------------


def parse_claude_desktop(text: str, source: str = "the file") -> list[McpServerConfig]:
    """Read Claude Desktop's ``claude_desktop_config.json``: ``{"mcpServers": {name: {...}}}``.

    An entry is stdio (``command``, ``args``, ``env``) or URL-style (``url``, ``headers``; a
    ``type`` of "http", "streamable-http" or "sse" is accepted, all spoken as streamable HTTP).
    ``"disabled": true`` imports the server disabled.

    Raises:
        McpConfigError: not JSON, no ``mcpServers`` object, or an entry that cannot work (named).
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise McpConfigError(f"{source} is not JSON: {error.msg} at line {error.lineno}.") from error
    servers = document.get("mcpServers") if isinstance(document, dict) else None
    if not isinstance(servers, dict):
        raise McpConfigError(
            f'{source} has no "mcpServers" object; expected Claude Desktop\'s claude_desktop_config.json.'
        )
    return [_claude_entry(str(name), entry, source) for name, entry in servers.items()]


def _claude_entry(name: str, entry: object, source: str) -> McpServerConfig:
    if not isinstance(entry, dict):
        raise McpConfigError(f"{source}: the entry {name!r} is not an object.")
    enabled = not bool(entry.get("disabled", False))
    if "url" in entry:
        headers = _string_map(entry.get("headers"), name, "headers", source)
        config = McpServerConfig(name, "http", url=str(entry["url"]), headers=headers, enabled=enabled)
    elif "command" in entry:
        args = entry.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str | int | float) for a in args):
            raise McpConfigError(f'{source}: the entry {name!r} has "args" that are not a list of strings.')
        env = _string_map(entry.get("env"), name, "env", source)
        config = McpServerConfig(
            name,
            "stdio",
            command=str(entry["command"]),
            args=tuple(str(a) for a in args),
            env=env,
            enabled=enabled,
        )
    else:
        raise McpConfigError(f'{source}: the entry {name!r} has neither "command" nor "url".')
    return validate(config)


def _string_map(value: object, name: str, key: str, source: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise McpConfigError(f"{source}: the entry {name!r} has {key!r} that is not an object.")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


# --- tool names ----------------------------------------------------------------------------------


def _sanitize(text: str) -> str:
    cleaned = re.sub(r"[^a-zA-Z0-9_-]+", "_", text).strip("_")
    return cleaned or "tool"


def _fit(name: str, seed: str) -> str:
    """Cut ``name`` to the limit, keeping it distinct by a short hash of ``seed``."""
    if len(name) <= _NAME_LIMIT:
        return name
    digest = hashlib.sha1(seed.encode("utf-8")).hexdigest()[:8]  # a short distinguishing suffix, not security
    return f"{name[: _NAME_LIMIT - 9]}_{digest}"


def assign_tool_names(tools: Sequence[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Give each (server, tool) a name the model can call, unique and within every provider's rules.

    A tool keeps its own name when that is valid and no other server offers the same one;
    otherwise it becomes ``<server>_<tool>`` (sanitized), cut to 64 characters with a hash, and
    numbered ``_2``, ``_3``... if still taken. Deterministic for the same input order.

    Returns:
        exposed name -> (server name, the tool's own name), in input order.
    """
    own_counts: dict[str, int] = {}
    for _, tool in tools:
        own_counts[tool] = own_counts.get(tool, 0) + 1
    names: dict[str, tuple[str, str]] = {}
    taken_lower: set[str] = set()
    for server, tool in tools:
        if TOOL_NAME.match(tool) and own_counts[tool] == 1 and tool.lower() not in taken_lower:
            candidate = tool
        else:
            candidate = _fit(f"{_sanitize(server)}_{_sanitize(tool)}", f"{server}\x00{tool}")
        base, number = candidate, 2
        # Case-insensitive: some providers fold case when they match a call to a tool.
        while candidate.lower() in taken_lower:
            suffix = f"_{number}"
            candidate = base[: _NAME_LIMIT - len(suffix)] + suffix
            number += 1
        taken_lower.add(candidate.lower())
        names[candidate] = (server, tool)
    return names
