"""Tool round overhead: from the model's call to the next request, less the tool's own run time.

One reply of many rounds through the real chat service (``ChatService`` with ``ChatTools``, a
real SQLite file, the fake MCP server over stdio, the call always allowed): the model (an
in-process scripted provider, so no HTTP time is counted) calls ``echo`` each round. A round's
time is from the end of the model's stream to the next request; the baseline, measured in the
same run, is the same call made straight through ``McpManager.call``. The figure is the median
round time minus the median bare call: what the loop, the approval check and saving the round,
the call and the result cost (target under 15 ms).

Usage: python bench/tool_round.py [--quick] [--rounds N]
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

from desktop_llm.core.mcp_config import McpServerConfig  # noqa: E402
from desktop_llm.providers import ChatRequest, StreamEvent, ToolCall  # noqa: E402
from desktop_llm.secrets import KeyStore  # noqa: E402
from desktop_llm.services.chat import ChatService  # noqa: E402
from desktop_llm.services.chat_tools import ChatTools  # noqa: E402
from desktop_llm.services.conversations import ConversationService  # noqa: E402
from desktop_llm.services.mcp_config import McpConfigService  # noqa: E402
from desktop_llm.services.mcp_manager import McpManager  # noqa: E402
from desktop_llm.services.tool_loop import McpApprovals  # noqa: E402
from desktop_llm.storage.executor import DatabaseThread  # noqa: E402

FAKE_MCP = str(ROOT / "tests" / "fakes" / "mcp_server.py")
TARGET_MS = 15.0


class _Directory:
    """The one provider the bench's conversation uses."""

    def __init__(self, provider: ScriptedProvider) -> None:
        self._provider = provider

    async def provider(self, _provider_id: str) -> ScriptedProvider:
        return self._provider


async def measure(rounds: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        db = DatabaseThread(Path(folder) / "bench.sqlite3")
        config = McpConfigService(db, KeyStore(DictKeyring()))
        await config.save(McpServerConfig("bench", "stdio", command=sys.executable, args=(FAKE_MCP,)))
        manager = McpManager(config, log_dir=Path(folder) / "logs")
        approvals = McpApprovals(config)
        await approvals.allow_always("bench", "echo")
        try:
            catalog = await manager.catalog()
            tool = catalog.resolve("echo")
            assert tool is not None
            bare = []
            for _ in range(rounds):
                started = time.perf_counter()
                await manager.call(tool, {"text": "hi"})
                bare.append(time.perf_counter() - started)

            def reply(request: ChatRequest) -> list[StreamEvent]:
                done = sum(1 for m in request.messages if m.role == "tool")
                if done >= rounds:
                    return text_reply("done")
                return calls_reply(ToolCall(f"c{done}", "echo", '{"text": "hi"}'))

            provider = ScriptedProvider(reply)
            tools = ChatTools(manager, approvals, max_rounds=lambda: rounds + 1)
            chat = ChatService(
                db, _Directory(provider), lambda _e: None, tools=tools, auto_titles=lambda: False
            )  # type: ignore[arg-type]
            conversation = await ConversationService(db).create(provider_id="bench", model="m")
            answer = await chat.send(conversation.id, "go")
            assert answer.content == "done", answer
            gaps = [
                provider.request_times[i + 1] - provider.finished_times[i]
                for i in range(len(provider.finished_times) - 1)
            ]
        finally:
            await manager.aclose()
            await db.aclose()
    round_ms = statistics.median(gaps) * 1000
    bare_ms = statistics.median(bare) * 1000
    overhead = round_ms - bare_ms
    return {
        "benchmark": "tool_round",
        "rounds": len(gaps),
        "figure": "median tool round (model's call to next request) minus the bare call, ms",
        "overhead_ms": round(overhead, 2),
        "round_ms": round(round_ms, 2),
        "baseline_bare_call_ms": round(bare_ms, 2),
        "ratio_round_to_bare": round(round_ms / bare_ms, 2) if bare_ms else None,
        "target_ms": TARGET_MS,
        "meets_target": overhead < TARGET_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 rounds instead of 50")
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(10 if args.quick else args.rounds)), indent=2))


if __name__ == "__main__":
    main()
