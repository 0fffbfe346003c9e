"""The MCP manager against a real MCP server (the official SDK's MCPServer) over stdio and streamable HTTP."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from mcp_kit import HttpServer, Rig, stdio_config

from desktop_llm.core.mcp_config import McpServerConfig
from desktop_llm.services.mcp_connection import McpCallTimeout, McpServerFailed


@pytest.fixture
def http_server():
    server = HttpServer()
    yield server
    server.close()


async def test_stdio_server_lists_and_calls_tools(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    try:
        await rig.add(stdio_config("calc"))
        catalog = await rig.manager.catalog()
        assert not catalog.failures
        names = [spec.name for spec in catalog.specs]
        assert {"add_numbers", "echo", "fail", "slow", "picture"} <= set(names)
        add = catalog.resolve("add_numbers")
        assert add is not None and add.server == "calc"
        spec = next(spec for spec in catalog.specs if spec.name == "add_numbers")
        assert spec.description == "Add two numbers"
        assert spec.parameters["properties"]["a"]["type"] == "number"
        outcome = await rig.manager.call(add, {"a": 40, "b": 2})
        assert (outcome.text, outcome.is_error) == ("42", False)
        statuses = await rig.manager.statuses()
        assert [(s.name, s.state) for s in statuses] == [("calc", "running")]
    finally:
        await rig.aclose()
    assert [s.state for s in await rig.manager.statuses()] == ["stopped"]


async def test_a_failing_tool_gives_an_error_result(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    try:
        await rig.add(stdio_config("calc"))
        catalog = await rig.manager.catalog()
        outcome = await rig.manager.call(catalog.resolve("fail"), {"message": "disk on fire"})
        assert outcome.is_error and "disk on fire" in outcome.text
        unknown = await rig.manager.call(
            catalog.resolve("echo").__class__("calc", "no_such_tool", "", {}), {}
        )
        assert unknown.is_error and "no_such_tool" in unknown.text
    finally:
        await rig.aclose()


async def test_images_are_summarised_and_long_results_truncated(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.manager.max_result_chars = 100
    try:
        await rig.add(stdio_config("calc"))
        catalog = await rig.manager.catalog()
        picture = await rig.manager.call(catalog.resolve("picture"), {})
        assert picture.text.startswith("a red dot\n[image: image/png, ")
        long = await rig.manager.call(catalog.resolve("long_text"), {"size": 5000})
        assert long.truncated and long.full_length == 5000
        assert long.text.startswith("x" * 100 + "\n[truncated: the result was 5,000 characters")
    finally:
        await rig.aclose()


async def test_a_server_that_exits_at_start_is_named_with_its_stderr(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    try:
        await rig.add(stdio_config("broken", "--mode", "exit"), stdio_config("calc"))
        catalog = await rig.manager.catalog()
        assert [spec.name for spec in catalog.specs if spec.name == "echo"] == ["echo"]
        (failure,) = catalog.failures
        assert isinstance(failure, McpServerFailed)
        assert "'broken' exited while starting" in str(failure)
        assert "missing configuration, giving up" in failure.log_tail
        log_text = (rig.data / "logs" / "mcp" / "broken.log").read_text(encoding="utf-8")
        assert "missing configuration" in log_text
        status = {s.name: s for s in await rig.manager.statuses()}
        assert status["broken"].state == "failed" and "exited" in status["broken"].error
        assert status["calc"].state == "running"
    finally:
        await rig.aclose()


async def test_a_big_stderr_log_is_rotated_at_the_next_start(tmp_path: Path) -> None:
    from desktop_llm.services.mcp_connection import LOG_LIMIT_BYTES

    rig = Rig(tmp_path)
    log = rig.data / "logs" / "mcp" / "broken.log"
    log.parent.mkdir(parents=True)
    log.write_text("old line\n" * (LOG_LIMIT_BYTES // 9 + 1), encoding="utf-8")
    try:
        await rig.add(stdio_config("broken", "--mode", "exit"))
        with pytest.raises(McpServerFailed, match="exited while starting"):
            await rig.manager.tools("broken")
        assert "missing configuration" in log.read_text(encoding="utf-8")
        assert log.stat().st_size < 10_000
        assert log.with_name("broken.log.1").stat().st_size > LOG_LIMIT_BYTES
    finally:
        await rig.aclose()


async def test_a_missing_command_is_named(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    try:
        await rig.add(McpServerConfig("ghost", "stdio", command="/nonexistent/mcp-server-ghost"))
        with pytest.raises(McpServerFailed, match="'ghost' could not be started: the command"):
            await rig.manager.tools("ghost")
    finally:
        await rig.aclose()


async def test_a_server_that_hangs_at_start_times_out_and_is_retried(tmp_path: Path) -> None:
    rig = Rig(tmp_path, start_timeout=2.0)
    try:
        await rig.add(stdio_config("stuck", "--mode", "hang"))
        with pytest.raises(
            McpServerFailed, match=r"'stuck' did not answer within 2 s while starting"
        ) as raised:
            await rig.manager.tools("stuck")
        assert "hanging before it reads anything" in raised.value.log_tail
        # Next use starts it again (and it hangs again: a new attempt, a new failure).
        with pytest.raises(McpServerFailed, match="did not answer"):
            await rig.manager.tools("stuck")
        log_text = (rig.data / "logs" / "mcp" / "stuck.log").read_text(encoding="utf-8")
        assert log_text.count("hanging before it reads anything") == 2
    finally:
        await rig.aclose()


async def test_a_server_that_dies_is_reported_then_restarted(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    try:
        await rig.add(stdio_config("calc"))
        catalog = await rig.manager.catalog()
        with pytest.raises(McpServerFailed, match="'calc' stopped") as raised:
            await rig.manager.call(catalog.resolve("die"), {})
        assert "dying on request" in raised.value.log_tail
        outcome = await rig.manager.call(catalog.resolve("echo"), {"text": "back again"})
        assert outcome.text == "back again"
    finally:
        await rig.aclose()


async def test_a_slow_call_times_out_and_is_cancelled_on_the_server(tmp_path: Path) -> None:
    marker = tmp_path / "cancelled.txt"
    rig = Rig(tmp_path)
    try:
        await rig.add(stdio_config("calc", env={"MCP_FAKE_CANCEL_FILE": str(marker)}))
        catalog = await rig.manager.catalog()
        with pytest.raises(McpCallTimeout, match=r"'calc' did not finish the tool 'slow' within 0\.5 s"):
            await rig.manager.call(catalog.resolve("slow"), {"seconds": 60}, time_limit=0.5)
        await _until(marker.exists)
        # The server still answers (the next call pings it first).
        assert (await rig.manager.call(catalog.resolve("echo"), {"text": "ok"})).text == "ok"
    finally:
        await rig.aclose()


async def test_a_server_that_hangs_while_running_is_restarted_on_next_use(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.manager.ping_timeout = 1.0
    try:
        await rig.add(stdio_config("calc"))
        catalog = await rig.manager.catalog()
        with pytest.raises(McpCallTimeout, match="'calc' did not finish the tool 'freeze'"):
            await rig.manager.call(catalog.resolve("freeze"), {"seconds": 600}, time_limit=0.5)
        # The next call pings first; the frozen server does not answer, so a fresh one is started.
        assert (await rig.manager.call(catalog.resolve("echo"), {"text": "fresh"})).text == "fresh"
    finally:
        await rig.aclose()


async def test_cancelling_a_call_cancels_it_on_the_server(tmp_path: Path) -> None:
    marker = tmp_path / "cancelled.txt"
    rig = Rig(tmp_path)
    try:
        await rig.add(stdio_config("calc", env={"MCP_FAKE_CANCEL_FILE": str(marker)}))
        catalog = await rig.manager.catalog()
        call = asyncio.ensure_future(rig.manager.call(catalog.resolve("slow"), {"seconds": 60}))
        await asyncio.sleep(0.3)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await _until(marker.exists)
        assert marker.read_text(encoding="utf-8") == "cancelled"
    finally:
        await rig.aclose()


async def test_list_changed_refreshes_the_tools(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    changes = []
    rig.manager.add_listener(lambda: changes.append(1))
    try:
        await rig.add(stdio_config("calc"))
        catalog = await rig.manager.catalog()
        assert catalog.resolve("extra_tool") is None
        await rig.manager.call(catalog.resolve("grow"), {})

        async def has_extra() -> bool:
            return (await rig.manager.catalog()).resolve("extra_tool") is not None

        for _ in range(200):
            if await has_extra():
                break
            await asyncio.sleep(0.02)
        refreshed = await rig.manager.catalog()
        extra = refreshed.resolve("extra_tool")
        assert extra is not None
        assert (await rig.manager.call(extra, {})).text == "extra"
        assert changes
    finally:
        await rig.aclose()


async def test_same_tool_names_on_two_servers_are_told_apart(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    try:
        await rig.add(stdio_config("alpha one"), stdio_config("beta"))
        catalog = await rig.manager.catalog()
        echo_a = catalog.resolve("alpha_one_echo")
        echo_b = catalog.resolve("beta_echo")
        assert (echo_a.server, echo_a.name) == ("alpha one", "echo")
        assert (echo_b.server, echo_b.name) == ("beta", "echo")
        assert len({spec.name for spec in catalog.specs}) == len(catalog.specs)
        only_beta = await rig.manager.catalog(servers={"beta"})
        assert only_beta.resolve("echo").server == "beta"
    finally:
        await rig.aclose()


async def test_stdio_secrets_reach_the_server_environment(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    try:
        await rig.add(stdio_config("calc", env={"SERVICE_API_KEY": "sk-mcp-3141", "MODE": "plain"}))
        catalog = await rig.manager.catalog()
        read_env = catalog.resolve("read_env")
        assert (await rig.manager.call(read_env, {"name": "SERVICE_API_KEY"})).text == "sk-mcp-3141"
        assert (await rig.manager.call(read_env, {"name": "MODE"})).text == "plain"
    finally:
        await rig.aclose()


async def test_streamable_http_server_with_a_secret_header(tmp_path: Path, http_server: HttpServer) -> None:
    rig = Rig(tmp_path)
    try:
        await rig.add(
            McpServerConfig("web", "http", url=http_server.url, headers={"X-Api-Key": "hdr-secret-2718"})
        )
        catalog = await rig.manager.catalog()
        assert not catalog.failures
        outcome = await rig.manager.call(catalog.resolve("add_numbers"), {"a": 1.5, "b": 2})
        assert outcome.text == "3.5"
        header = await rig.manager.call(catalog.resolve("read_header"), {"name": "x-api-key"})
        assert header.text == "hdr-secret-2718"
        failed = await rig.manager.call(catalog.resolve("fail"), {})
        assert failed.is_error
    finally:
        await rig.aclose()


async def test_a_local_http_server_is_reached_directly_with_a_proxy_set(
    tmp_path: Path, http_server: HttpServer
) -> None:
    from mcp_kit import free_port

    rig = Rig(tmp_path)
    rig.manager.set_proxy(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    try:
        await rig.add(McpServerConfig("web", "http", url=http_server.url))
        assert len(await rig.manager.tools("web")) > 0
    finally:
        await rig.aclose()


async def test_an_http_server_that_is_not_there_is_named(tmp_path: Path) -> None:
    from mcp_kit import free_port

    rig = Rig(tmp_path, start_timeout=5.0)
    try:
        await rig.add(McpServerConfig("nowhere", "http", url=f"http://127.0.0.1:{free_port()}/mcp"))
        with pytest.raises(McpServerFailed, match="'nowhere'"):
            await rig.manager.tools("nowhere")
    finally:
        await rig.aclose()


async def _until(condition, limit: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def test_fake_server_file_exists() -> None:
    from mcp_kit import FAKE_SERVER

    assert os.path.exists(FAKE_SERVER)
