"""The chat header's Tools menu: which MCP servers a conversation offers, stored in its params."""

from __future__ import annotations

import json
from pathlib import Path

from app_harness import fake_openai_environment, open_app, wait_until
from fakes.provider_server import ProviderServer, Reply

from desktop_llm.storage.database import Database
from desktop_llm.storage.mcp_servers import McpServerRecord, McpServerRepository
from desktop_llm.ui.chat.tool_servers_button import ToolServersButton


def _servers(database: Path) -> None:
    with Database.open(database) as db:
        repository = McpServerRepository(db)
        repository.save(McpServerRecord(id="", name="files", transport="stdio", command="x"))
        repository.save(McpServerRecord(id="", name="web", transport="http", url="https://example.com/mcp"))
        repository.save(McpServerRecord(id="", name="off", transport="stdio", command="y", enabled=False))


def test_the_button_offers_all_by_default_and_reports_a_choice(qtbot) -> None:
    button = ToolServersButton()
    qtbot.addWidget(button)
    assert button.isHidden()  # no server set up: nothing to choose
    button.set_servers(["files", "web"])
    assert not button.isHidden() and button.text() == "Tools" and button.offered() == ["files", "web"]
    chosen: list[object] = []
    button.choice_changed.connect(chosen.append)
    button.actions_by_name()["web"].setChecked(False)
    assert chosen == [["files"]] and button.text() == "Tools (1/2)" and button.offered() == ["files"]
    button.actions_by_name()["web"].setChecked(True)
    assert chosen[-1] is None and button.text() == "Tools"
    button.show_choice([])
    assert button.offered() == [] and len(chosen) == 2  # showing a stored choice is not an edit


async def test_a_conversation_keeps_its_choice_of_servers(qtbot, tmp_path: Path) -> None:
    with ProviderServer() as server:
        server.push(Reply(text="Hello."))
        environ = fake_openai_environment(server)
        async with open_app(qtbot, tmp_path / "data", environ=environ, prepare=_servers) as app:
            button = app.workspace.header.tool_servers
            await wait_until(
                lambda: list(button.actions_by_name()) == ["files", "web"], what="enabled servers"
            )
            await wait_until(lambda: app.workspace.picker.model() == "model-a", what="the default model")
            await app.type_and_send("Hi!")
            await wait_until(lambda: [m["status"] for m in app.messages()] == ["complete", "complete"])

            button.actions_by_name()["web"].setChecked(False)

            def stored() -> object:
                (row,) = app.rows("SELECT params FROM conversations")
                return json.loads(row["params"]).get("mcp_servers")

            await wait_until(lambda: stored() == ["files"], what="the choice saved")
            app.workspace.new_chat()
            await wait_until(lambda: button.text() == "Tools", what="a new chat offers every server")
