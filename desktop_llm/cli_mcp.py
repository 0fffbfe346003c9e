"""Run ``desktop-llm mcp ...``: add, list, show tools of, remove and import MCP servers.

``mcp list`` prints ``{"name", "transport", "enabled", "tools"}`` one object a line, where
``tools`` is the number of tools the server offers (it is started to find out), or null for a
disabled server (not started) or one that failed. ``mcp tools [NAME]`` prints
``{"server", "name", "description"}`` per tool of every enabled server (or of NAME, enabled or
not). A server that cannot start or answer: one line on stderr naming it, and exit status 1
once the others are printed. Secrets (``--env`` values named like KEY/TOKEN/SECRET/..., every
``--header`` value) go to the system keyring; without one, such a server is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

PROG = "desktop-llm"
EXIT_ERROR = 1


class McpCommandError(Exception):
    """A known failure of an ``mcp`` command; the message is shown as is."""


def add_arguments(
    parser: argparse.ArgumentParser, add_global: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Add the ``mcp`` subcommands to ``parser``; ``add_global`` adds --data-dir to each."""
    sub = parser.add_subparsers(dest="mcp_command", metavar="SUBCOMMAND", required=True)
    add = sub.add_parser(
        "add",
        help="add a server: NAME -- COMMAND [ARGS...] (stdio) or NAME --url URL (streamable HTTP)",
        description="Add an MCP server. stdio: desktop-llm mcp add NAME -- COMMAND [ARGS...]; "
        "streamable HTTP: desktop-llm mcp add NAME --url URL [--header NAME=VALUE]...",
    )
    add.add_argument("name", metavar="NAME")
    _add_options(add)
    # REMAINDER, split by _split_rest: argparse alone would swallow options given after NAME.
    add.add_argument(
        "rest", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]", help="the stdio command"
    )
    listing = sub.add_parser("list", help="list servers; one JSON object a line")
    tools = sub.add_parser(
        "tools", help="list the tools of enabled servers (or of NAME); one JSON object a line"
    )
    tools.add_argument("name", nargs="?", metavar="NAME")
    remove = sub.add_parser("remove", help="remove a server and its secrets")
    remove.add_argument("name", metavar="NAME")
    importing = sub.add_parser(
        "import", help="add the servers of Claude Desktop's claude_desktop_config.json"
    )
    importing.add_argument("file", metavar="FILE")
    for command in (add, listing, tools, remove, importing):
        add_global(command)


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="the server's streamable HTTP endpoint")
    parser.add_argument(
        "--header", action="append", default=[], metavar="NAME=VALUE", help="HTTP header (secret)"
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="environment variable"
    )
    parser.add_argument("--disabled", action="store_true", help="store it switched off")


class _OptionParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise McpCommandError(f"mcp add: {message}; put the command after -- (mcp add NAME -- COMMAND ...)")


def _split_rest(args: argparse.Namespace) -> list[str]:
    """Return the stdio command line; options given after NAME are merged into ``args``."""
    rest = list(args.rest)
    if "--" in rest:
        cut = rest.index("--")
        options, command = rest[:cut], rest[cut + 1 :]
    elif rest and rest[0].startswith("-"):
        options, command = rest, []
    else:
        options, command = [], rest
    if options:
        parser = _OptionParser(prog=f"{PROG} mcp add", add_help=False)
        _add_options(parser)
        parser.add_argument("--data-dir")
        later = parser.parse_args(options)
        args.url = later.url or args.url
        args.header = [*args.header, *later.header]
        args.env = [*args.env, *later.env]
        args.disabled = args.disabled or later.disabled
        if later.data_dir:
            args.data_dir = later.data_dir
    return command


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run the ``mcp`` subcommand in ``args``; return the exit status."""
    runner = _RUNNERS[args.mcp_command]
    if args.mcp_command == "add":
        args.command_line = _split_rest(args)
    return asyncio.run(_with_services(args, lambda services: runner(args, services, out)))


class _Services:
    def __init__(self, config: Any, manager: Any) -> None:
        self.config = config
        self.manager = manager


async def _with_services(args: argparse.Namespace, work: Callable[[_Services], Awaitable[int]]) -> int:
    from desktop_llm.core.mcp_config import McpConfigError
    from desktop_llm.core.paths import resolve_paths
    from desktop_llm.secrets import KeyStore, SecretsError
    from desktop_llm.services.mcp_config import McpConfigService
    from desktop_llm.services.mcp_manager import McpManager
    from desktop_llm.services.mcp_types import McpError
    from desktop_llm.storage.executor import DatabaseThread

    # Each failure is shown once, as one line, by the command; log records stay out of stderr.
    logging.getLogger().addHandler(logging.NullHandler())
    paths = resolve_paths(args.data_dir)
    db = DatabaseThread(paths.database)
    keystore = await asyncio.to_thread(KeyStore)
    config = McpConfigService(db, keystore, require_keyring=True)
    manager = McpManager(config, log_dir=paths.logs)
    try:
        return await work(_Services(config, manager))
    except (McpConfigError, SecretsError, McpError) as error:
        raise McpCommandError(str(error)) from error
    finally:
        await manager.aclose()
        await db.aclose()


def _say_failure(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {' '.join(message.split())}\n")


async def _add(args: argparse.Namespace, services: _Services, out: TextIO) -> int:
    from desktop_llm.core.mcp_config import McpServerConfig, parse_pairs

    if args.url and args.command_line:
        raise McpCommandError("give either --url URL or -- COMMAND [ARGS...], not both")
    if args.url:
        if args.env:
            raise McpCommandError("--env is for stdio servers; an HTTP server takes --header")
        config = McpServerConfig(
            args.name,
            "http",
            url=args.url,
            headers=parse_pairs(args.header, "--header"),
            enabled=not args.disabled,
        )
    elif args.command_line:
        if args.header:
            raise McpCommandError("--header is for HTTP servers; a stdio server takes --env")
        command, *rest = args.command_line
        config = McpServerConfig(
            args.name,
            "stdio",
            command=command,
            args=tuple(rest),
            env=parse_pairs(args.env, "--env"),
            enabled=not args.disabled,
        )
    else:
        raise McpCommandError(f"say how to reach {args.name!r}: -- COMMAND [ARGS...] or --url URL")
    record = await services.config.save(config)
    kept = " (secrets in the system keyring)" if record.has_secrets else ""
    out.write(f"Added MCP server {record.name!r} ({config.describe()}){kept}.\n")
    return 0


async def _list(args: argparse.Namespace, services: _Services, out: TextIO) -> int:
    from desktop_llm.services.mcp_types import McpError

    status = 0
    for record in await services.config.records():
        count: int | None = None
        if record.enabled:
            try:
                count = len(await services.manager.tools(record.name))
            except McpError as error:
                _say_failure(str(error))
                status = EXIT_ERROR
        line = {"name": record.name, "transport": record.transport, "enabled": record.enabled, "tools": count}
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return status


async def _tools(args: argparse.Namespace, services: _Services, out: TextIO) -> int:
    from desktop_llm.services.mcp_types import McpError
    from desktop_llm.storage.errors import NotFound

    if args.name:
        try:
            names = [(await services.config.record(args.name)).name]
        except NotFound as error:
            raise McpCommandError(
                f"there is no MCP server called {args.name!r}; see `{PROG} mcp list`"
            ) from error
    else:
        names = [record.name for record in await services.config.records() if record.enabled]
    status = 0
    for name in names:
        try:
            tools = await services.manager.tools(name)
        except McpError as error:
            _say_failure(str(error))
            status = EXIT_ERROR
            continue
        for tool in tools:
            line = {"server": tool.server, "name": tool.name, "description": tool.description}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return status


async def _remove(args: argparse.Namespace, services: _Services, out: TextIO) -> int:
    from desktop_llm.storage.errors import NotFound

    try:
        record = await services.config.remove(args.name)
    except NotFound as error:
        raise McpCommandError(
            f"there is no MCP server called {args.name!r}; see `{PROG} mcp list`"
        ) from error
    out.write(f"Removed MCP server {record.name!r}.\n")
    return 0


async def _import(args: argparse.Namespace, services: _Services, out: TextIO) -> int:
    source = Path(args.file)
    summary = await services.config.import_claude_desktop(source)
    added = ", ".join(summary.added) or "none"
    skipped = f"; skipped {', '.join(summary.skipped)} (already present)" if summary.skipped else ""
    out.write(f"Imported MCP servers from {source}: {added}{skipped}.\n")
    return 0


_RUNNERS: dict[str, Callable[[argparse.Namespace, _Services, TextIO], Awaitable[int]]] = {
    "add": _add,
    "list": _list,
    "tools": _tools,
    "remove": _remove,
    "import": _import,
}
