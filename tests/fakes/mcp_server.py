"""A real MCP server built with the official SDK (``MCPServer``), for the MCP client's tests.

Run as a script: ``python mcp_server.py [--mode normal|exit|hang] [--http PORT] [--name NAME]``.
stdio by default; ``--http PORT`` serves streamable HTTP on 127.0.0.1:PORT at ``/mcp``.

Tools: ``add_numbers``, ``echo``, ``fail`` (reports an error), ``slow`` (sleeps; writes
``$MCP_FAKE_CANCEL_FILE`` when cancelled), ``picture`` (an image), ``long_text``,
``read_env`` (a variable of the server's environment), ``read_header`` (HTTP only),
``grow`` (adds the tool ``extra_tool`` and sends tools/list_changed), ``freeze`` (blocks the
whole server: a hung one), ``die`` (exits the process).
"""

# No "from __future__ import annotations": the SDK evaluates the tools' annotations, imported in build().

import argparse
import os
import sys
import time
from pathlib import Path

# The SDK is imported in build(): "exit" and "hang" modes speak before any slow import.

TOOL_NAMES = (
    "add_numbers",
    "echo",
    "fail",
    "slow",
    "picture",
    "long_text",
    "read_env",
    "read_header",
    "grow",
    "freeze",
    "die",
)

# A 1x1 transparent PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082"
)


def build(name: str):
    """Return the server (an ``MCPServer``) with every test tool registered."""
    import anyio
    from mcp.server.mcpserver import Context, Image, MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer(name, log_level="CRITICAL")

    @server.tool(description="Add two numbers")
    def add_numbers(a: float, b: float) -> str:
        total = a + b
        return str(int(total)) if total == int(total) else str(total)

    @server.tool(description="Repeat the text")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Always fails")
    def fail(message: str = "it broke") -> str:
        raise ToolError(message)

    @server.tool(description="Sleep, then answer")
    async def slow(seconds: float) -> str:
        try:
            await anyio.sleep(seconds)
        except anyio.get_cancelled_exc_class():
            marker = os.environ.get("MCP_FAKE_CANCEL_FILE")
            if marker:
                Path(marker).write_text("cancelled", encoding="utf-8")  # noqa: ASYNC240 - must land before exit
            raise
        return f"slept {seconds}"

    @server.tool(description="Return a picture and a caption", structured_output=False)
    def picture():  # no annotation: the SDK converts each item to a content block
        return ["a red dot", Image(data=PNG, format="png")]

    @server.tool(description="Return a long text")
    def long_text(size: int) -> str:
        return "x" * size

    @server.tool(description="Read a variable of the server's environment")
    def read_env(name: str) -> str:
        return os.environ.get(name, "<unset>")

    @server.tool(description="Read a request header (streamable HTTP)")
    def read_header(name: str, ctx: Context) -> str:
        headers = ctx.headers or {}
        return headers.get(name.lower(), headers.get(name, "<unset>"))

    @server.tool(description="Add a tool and tell the client")
    async def grow(ctx: Context) -> str:
        def extra_tool() -> str:
            return "extra"

        server.add_tool(extra_tool, description="Added at run time")
        await ctx.session.send_tool_list_changed()
        return "grown"

    @server.tool(description="Block the whole server (it answers nothing, pings included)")
    async def freeze(seconds: float) -> str:
        time.sleep(seconds)  # noqa: ASYNC251 - blocking the loop is the point: a hung server
        return "thawed"

    @server.tool(description="Exit the server process at once")
    def die() -> str:
        sys.stderr.write("fake server: dying on request\n")
        sys.stderr.flush()
        os._exit(3)

    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("normal", "exit", "hang"), default="normal")
    parser.add_argument("--http", type=int, default=0, metavar="PORT")
    parser.add_argument("--name", default="fake")
    args = parser.parse_args()
    if args.mode == "exit":
        sys.stderr.write("fake server: missing configuration, giving up\n")
        sys.exit(2)
    if args.mode == "hang":
        sys.stderr.write("fake server: hanging before it reads anything\n")
        sys.stderr.flush()
        time.sleep(3600)
    server = build(args.name)
    if args.http:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
