"""MCP: starting a stdio server and listing its tools, and the overhead of one tool round.

1. Start + list: our ``McpManager`` (stored entry in a real SQLite file, stderr to its log file,
   the session in its long-lived task) against a bare ``mcp`` SDK client (``stdio_client`` +
   ``ClientSession.initialize`` + ``list_tools``) starting the same server, interleaved run by run.
2. One tool round (the issue's target: under 15 ms over the tool's own run time): the tool
   loop with a scripted model that calls ``echo`` every round (always allowed); a round is
   from the model's finished reply to the next request being sent (approval lookup, the call
   through our manager, results appended, tools offered again). The baseline is the same call
   on a bare SDK session to the same kind of server: the tool's own run time, IPC included.

Usage: python bench/mcp_start.py [--quick] [--runs N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fakes.keyrings import DictKeyring  # noqa: E402
from fakes.scripted_provider import ScriptedProvider, calls_reply, text_reply  # noqa: E402
from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402

from desktop_llm.core.mcp_config import McpServerConfig  # noqa: E402
from desktop_llm.providers import ChatRequest, Message, ToolCall  # noqa: E402
from desktop_llm.secrets import KeyStore  # noqa: E402
from desktop_llm.services.mcp_config import McpConfigService  # noqa: E402
from desktop_llm.services.mcp_manager import McpManager  # noqa: E402
from desktop_llm.services.tool_loop import Approval, McpApprovals, ToolLoop  # noqa: E402
from desktop_llm.storage.executor import DatabaseThread  # noqa: E402

SERVER = str(ROOT / "tests" / "fakes" / "mcp_server.py")
TARGET_ROUND_OVERHEAD_MS = 15.0
STDERR_LOG = Path(tempfile.gettempdir()) / "mcp-bench-stderr.log"


def _ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


async def _ours_start(config: McpConfigService, folder: Path) -> float:
    manager = McpManager(config, log_dir=folder / "logs")
    start = time.perf_counter()
    tools = await manager.tools("bench")
    elapsed = time.perf_counter() - start
    assert tools
    await manager.aclose()
    return elapsed


async def _bare_start() -> float:
    parameters = StdioServerParameters(command=sys.executable, args=[SERVER])
    start = time.perf_counter()
    stderr = await asyncio.to_thread(open, STDERR_LOG, "a", encoding="utf-8")  # as ours: a log file
    with stderr:
        async with (
            stdio_client(parameters, errlog=stderr) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            tools = await session.list_tools()
            elapsed = time.perf_counter() - start
    assert tools.tools
    return elapsed


async def _rounds(config: McpConfigService, folder: Path, rounds: int) -> list[float]:
    manager = McpManager(config, log_dir=folder / "logs")
    record = await config.record("bench")
    await config.always_allow(record.id, "echo")
    provider = ScriptedProvider(
        lambda request: (
            text_reply("done")
            if len(provider.requests) > rounds
            else calls_reply(ToolCall(f"c{len(provider.requests)}", "echo", '{"text": "ping"}'))
        )
    )
    loop = ToolLoop(manager, McpApprovals(config), max_rounds=rounds + 1)

    async def never_asked(_request: object) -> Approval:
        raise AssertionError("echo is always allowed")

    request = ChatRequest(model="bench", messages=[Message("user", "go")])
    await manager.tools("bench")  # started before timing: rounds, not the start, are measured
    async for _event in loop.run(provider, request, never_asked):
        pass
    await manager.aclose()
    finished, sent = provider.finished_times, provider.request_times
    return [sent[i + 1] - finished[i] for i in range(rounds)]


async def _bare_calls(count: int) -> list[float]:
    parameters = StdioServerParameters(command=sys.executable, args=[SERVER])
    times = []
    stderr = await asyncio.to_thread(open, STDERR_LOG, "a", encoding="utf-8")  # as ours: a log file
    with stderr:
        async with (
            stdio_client(parameters, errlog=stderr) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            await session.list_tools()
            for _ in range(count):
                start = time.perf_counter()
                await session.call_tool("echo", {"text": "ping"})
                times.append(time.perf_counter() - start)
    return times


async def measure(runs: int, rounds: int) -> dict[str, object]:
    """Return the JSON report."""
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        db = DatabaseThread(folder / "desktop-llm.sqlite3")
        config = McpConfigService(db, KeyStore(DictKeyring()))
        await config.save(McpServerConfig("bench", "stdio", command=sys.executable, args=(SERVER,)))
        ours, bare = [], []
        for run in range(runs):
            # Interleaved, and in alternating order: whichever starts first in a pair is slower
            # (the previous pair's server is still being reaped), so neither side always pays.
            if run % 2:
                bare.append(await _bare_start())
                ours.append(await _ours_start(config, folder))
            else:
                ours.append(await _ours_start(config, folder))
                bare.append(await _bare_start())
        round_times = await _rounds(config, folder, rounds)
        call_times = await _bare_calls(rounds)
        await db.aclose()
    round_ms, call_ms = _ms(round_times), _ms(call_times)
    overhead = round(round_ms - call_ms, 3)
    return {
        "benchmark": "mcp_start",
        "start_and_list": {
            "runs": runs,
            "ours_median_ms": _ms(ours),
            "bare_sdk_median_ms": _ms(bare),
            "ratio": round(statistics.median(ours) / statistics.median(bare), 3),
            "overhead_ms": round(_ms(ours) - _ms(bare), 3),
            # Steadier on a busy machine: the server's own start (Python and its imports) dominates.
            "paired_difference_median_ms": _ms([a - b for a, b in zip(ours, bare, strict=True)]),
        },
        "tool_round": {
            "rounds": rounds,
            "round_median_ms": round_ms,
            "bare_call_median_ms": call_ms,
            "ratio": round(round_ms / call_ms, 3) if call_ms else None,
            "overhead_ms": overhead,
            "target_overhead_ms": TARGET_ROUND_OVERHEAD_MS,
            "meets_target": overhead < TARGET_ROUND_OVERHEAD_MS,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few runs, for CI")
    parser.add_argument(
        "--runs", type=int, default=None, help="server starts per client (default 7, quick 2)"
    )
    parser.add_argument("--rounds", type=int, default=None, help="tool rounds (default 50, quick 10)")
    args = parser.parse_args()
    runs = args.runs or (2 if args.quick else 8)
    rounds = args.rounds or (10 if args.quick else 50)
    print(json.dumps(asyncio.run(measure(runs, rounds)), indent=2))


if __name__ == "__main__":
    main()
