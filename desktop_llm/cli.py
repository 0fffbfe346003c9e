"""Run the command line: ``desktop-llm [--data-dir DIR] [--smoke-test] [COMMAND ...]``.

Global options go before or after the subcommand. Errors are one line on stderr
(``desktop-llm: error: ...``) and a non-zero exit; nothing is changed. The commands never take
the GUI's data-folder lock and never turn streaming replies into interrupted ones (only the
GUI holding the lock may); they read freely and write in transactions. Qt is imported only when
the GUI starts.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TextIO, TypeVar

from desktop_llm import __version__

PROG = "desktop-llm"
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

T = TypeVar("T")


class CommandError(Exception):
    """A problem with the command as given; the message is shown as is."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # On subparsers the defaults are suppressed so a value given before the subcommand survives.
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=default,
        help="folder for the database, logs and cache (env DESKTOP_LLM_DATA_DIR)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for every command and option."""
    parser = _Parser(prog=PROG, description="Desktop LLM: a desktop chat client for language models.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_global_options(parser, top=True)
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="start, open the window, check everything, print a JSON report and exit",
    )
    entry = parser.add_mutually_exclusive_group()
    entry.add_argument("--install-desktop-entry", action="store_true", help="add the app to the Linux menu")
    entry.add_argument("--uninstall-desktop-entry", action="store_true", help="remove the Linux menu entry")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (add_arguments, _, help_text) in _COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        _add_global_options(command, top=False)
        add_arguments(command)
    return parser


# --- export ------------------------------------------------------------------------------------


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--conversation",
        action="append",
        default=[],
        metavar="ID",
        help="export this conversation (repeat for several); default: everything",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="write one conversation's branch on screen as Markdown"
    )
    parser.add_argument("out", metavar="OUT", help="the file to write (replaced once complete)")


def _run_export(args: argparse.Namespace, out: TextIO) -> int:
    from desktop_llm.storage.export_json import export_json_file
    from desktop_llm.storage.markdown_export import export_markdown_file

    target = Path(args.out)
    if args.markdown:
        if len(args.conversation) != 1:
            raise CommandError("--markdown exports one conversation: give exactly one --conversation ID")
        conversation_id = args.conversation[0]
        count = _with_database(
            args, lambda db: export_markdown_file(db, conversation_id, target), create=False
        )
        out.write(
            f"Exported conversation {conversation_id} ({_count(count, 'message')}) to {target} as Markdown.\n"
        )
        return 0
    chosen = args.conversation or None
    summary = _with_database(
        args, lambda db: export_json_file(db, target, conversation_ids=chosen), create=False
    )
    out.write(
        f"Exported {_count(summary.conversations, 'conversation')} ({_count(summary.messages, 'message')}), "
        f"{_count(summary.folders, 'folder')} and {_count(summary.templates, 'template')} to {target}.\n"
    )
    return 0


# --- import ------------------------------------------------------------------------------------


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source", metavar="IN", help="a desktop-llm export, or ChatGPT's conversations.json or its .zip"
    )


def _run_import(args: argparse.Namespace, out: TextIO) -> int:
    from desktop_llm.storage.importer import import_file

    source = Path(args.source)
    result = _with_database(args, lambda db: import_file(db, source), create=True)
    kind = "ChatGPT export" if result.format == "chatgpt" else "Desktop LLM export"
    out.write(
        f"Imported {_count(result.imported, 'conversation')} ({_count(result.messages, 'message')}) "
        f"from the {kind} {source}; skipped {result.skipped} already present; "
        f"{result.renamed} got new ids because theirs were taken; "
        f"added {_count(result.folders, 'folder')} and {_count(result.templates, 'template')}.\n"
    )
    return 0


# --- search ------------------------------------------------------------------------------------


def _search_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", metavar="QUERY", help='words (each a prefix), or a "quoted phrase"')
    parser.add_argument("--limit", type=int, default=50, metavar="N", help="at most N results (default 50)")


def _run_search(args: argparse.Namespace, out: TextIO) -> int:
    from desktop_llm.storage.search import search

    if args.limit < 1:
        raise CommandError("--limit must be at least 1")
    hits = _with_database(args, lambda db: search(db, args.query, limit=args.limit), create=False)
    for hit in hits:
        line = {
            "conversation_id": hit.conversation_id,
            "message_id": hit.message_id,
            "title": hit.title,
            "snippet": hit.snippet,
        }
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return 0


# --- batch -------------------------------------------------------------------------------------


def _batch_arguments(parser: argparse.ArgumentParser) -> None:
    from desktop_llm.cli_batch import add_batch_arguments

    add_batch_arguments(parser, lambda action: _add_global_options(action, top=False))


def _run_batch(args: argparse.Namespace, out: TextIO) -> int:
    from desktop_llm.cli_batch import BatchCommandError, run_batch

    try:
        return run_batch(args, out)
    except BatchCommandError as error:
        raise CommandError(str(error)) from error


# --- ask ---------------------------------------------------------------------------------------


def _ask_arguments(parser: argparse.ArgumentParser) -> None:
    from desktop_llm.cli_ask import add_arguments

    add_arguments(parser)


def _run_ask(args: argparse.Namespace) -> int:
    """Run ``ask``: Ctrl-C stops the reply and keeps its text as ``stopped``, as Stop does in the window."""
    from desktop_llm.cli_ask import AskError, run
    from desktop_llm.providers import ProviderError
    from desktop_llm.secrets import SecretsError
    from desktop_llm.storage.errors import StorageError

    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
    try:
        return run(args, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: error: interrupted; the reply so far is kept\n")
        return EXIT_INTERRUPTED
    except (AskError, ProviderError, SecretsError, StorageError) as error:
        sys.stderr.write(f"{PROG}: error: {_one_line(str(error))}\n")
        return EXIT_ERROR


# --- mcp ---------------------------------------------------------------------------------------


def _mcp_arguments(parser: argparse.ArgumentParser) -> None:
    from desktop_llm import cli_mcp

    cli_mcp.add_arguments(parser, lambda command: _add_global_options(command, top=False))


def _run_mcp(args: argparse.Namespace, out: TextIO) -> int:
    from desktop_llm import cli_mcp

    try:
        return cli_mcp.run(args, out)
    except cli_mcp.McpCommandError as error:
        raise CommandError(str(error)) from error


# --- shared ------------------------------------------------------------------------------------


def _with_database(args: argparse.Namespace, work: Callable[..., T], *, create: bool) -> T:
    """Run ``work(database)``; refuse to create a database unless ``create``.

    The work runs on this (the main) thread, not a DatabaseThread: Ctrl-C must reach the open
    transaction and roll it back, rather than wait for a worker thread to commit.
    """
    from desktop_llm.core.paths import resolve_paths
    from desktop_llm.storage.database import Database

    paths = resolve_paths(args.data_dir)
    if not create and not paths.database.exists():
        raise CommandError(
            f"there is no Desktop LLM database in {paths.data} ({paths.database.name} not found); "
            "check --data-dir or DESKTOP_LLM_DATA_DIR"
        )
    with Database.open(paths.database) as database:
        return work(database)


_Runner = Callable[[argparse.Namespace, TextIO], int]
_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], _Runner, str]] = {
    "export": (_export_arguments, _run_export, "export conversations to JSON (or one to Markdown)"),
    "import": (_import_arguments, _run_import, "import a desktop-llm export or a ChatGPT export"),
    "search": (_search_arguments, _run_search, "search all conversations; one JSON object a line"),
    "batch": (
        _batch_arguments,
        _run_batch,
        "run a template over many rows, here or on a provider's batch service",
    ),
    "ask": (_ask_arguments, lambda args, out: _run_ask(args), "ask a model; the reply streams to stdout"),
    "mcp": (_mcp_arguments, _run_mcp, "add, list, remove and import MCP servers (tools for the model)"),
}


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _one_line(message: str) -> str:
    return " ".join(message.split())


class _CtrlC:
    """Note Ctrl-C before raising KeyboardInterrupt, so it is recognised however it surfaces.

    Ctrl-C that lands while SQLite runs one of our functions (the search-index text function)
    comes out of sqlite3 as ``OperationalError``, not KeyboardInterrupt. Either way the open
    transaction has rolled back and the export's temporary file is gone.
    """

    def __init__(self) -> None:
        self.pressed = False

    def __enter__(self) -> _CtrlC:
        self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc_info: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _on_sigint(self, signum: int, frame: object) -> None:
        self.pressed = True
        raise KeyboardInterrupt


def _run_command(name: str, args: argparse.Namespace) -> int:
    from desktop_llm.storage.errors import StorageError

    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")  # JSON lines and titles in any script
    with _CtrlC() as ctrl_c:
        try:
            return _COMMANDS[name][1](args, sys.stdout)
        except BaseException as error:
            if ctrl_c.pressed:
                sys.stderr.write(f"{PROG}: error: interrupted; nothing was changed\n")
                return EXIT_INTERRUPTED
            if isinstance(error, CommandError | StorageError):
                message = str(error)
            elif isinstance(error, OSError):
                message = f"{error.filename or 'a file'}: {error.strerror or error}"
            else:
                raise  # a bug: let the traceback show
    sys.stderr.write(f"{PROG}: error: {_one_line(message)}\n")
    return EXIT_ERROR


def run(argv: list[str]) -> int:
    """Parse ``argv`` and run it; return the process exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "ask":
        return _run_ask(args)
    if args.command:
        return _run_command(args.command, args)
    if args.install_desktop_entry or args.uninstall_desktop_entry:
        from desktop_llm.desktop_entry import run_command

        return run_command(install_entry=args.install_desktop_entry, out=sys.stdout, err=sys.stderr)
    from desktop_llm.app import run_gui

    return run_gui(data_dir=args.data_dir, smoke_test=args.smoke_test)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
