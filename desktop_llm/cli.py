"""The command line: ``desktop-llm [--data-dir DIR] [--smoke-test] [export|import|search ...]``.

Global options go before or after the subcommand. Errors are one line on stderr and a
non-zero exit; nothing is changed. Qt is imported only when the GUI starts.
"""

from __future__ import annotations

import argparse
import sys

from desktop_llm import __version__


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
    parser = argparse.ArgumentParser(
        prog="desktop-llm", description="Desktop LLM: a desktop chat client for language models."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_global_options(parser, top=True)
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="start, open the window, check everything, print a JSON report and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in (
        ("export", "export conversations to JSON or Markdown"),
        ("import", "import desktop-llm JSON or a ChatGPT export"),
        ("search", "search all conversations; one JSON object a line"),
    ):
        command = sub.add_parser(name, help=help_text)
        _add_global_options(command, top=False)
        _COMMANDS[name][0](command)
    return parser


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conversation", action="append", default=[], metavar="ID")
    parser.add_argument("--markdown", action="store_true", help="write Markdown (one conversation)")
    parser.add_argument("out", metavar="OUT")


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="IN")


def _search_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", metavar="QUERY")


def _run_command(name: str, args: argparse.Namespace) -> int:
    from desktop_llm.storage import commands

    return getattr(commands, f"run_{name}")(args)


_COMMANDS = {
    "export": (_export_arguments,),
    "import": (_import_arguments,),
    "search": (_search_arguments,),
}


def run(argv: list[str]) -> int:
    """Parse ``argv`` and run it; return the process exit status."""
    args = build_parser().parse_args(argv)
    if args.command:
        return _run_command(args.command, args)
    from desktop_llm.app import run_gui

    return run_gui(data_dir=args.data_dir, smoke_test=args.smoke_test)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
