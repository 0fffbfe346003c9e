"""Entry points: ``desktop-llm`` (console) and ``desktop-llm-gui`` (no console on Windows)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the command line; with no subcommand, start the GUI."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--highlight-worker"]:  # the bundle's code highlighter (see core.highlight_pool)
        from desktop_llm.core.highlight_worker import main as serve

        serve()
        return 0
    from desktop_llm.cli import run

    return run(args)


def gui_main() -> int:
    """Start the GUI (the desktop entry's and the bundle's launcher)."""
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
