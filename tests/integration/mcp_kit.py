"""Shared set-up for the MCP tests: the fake server's command, a real database and keystore, a manager."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from fakes.keyrings import DictKeyring

from desktop_llm.core.mcp_config import McpServerConfig
from desktop_llm.secrets import KeyStore
from desktop_llm.services.mcp_config import McpConfigService
from desktop_llm.services.mcp_manager import McpManager
from desktop_llm.storage.executor import DatabaseThread

FAKE_SERVER = str(Path(__file__).resolve().parent.parent / "fakes" / "mcp_server.py")


def stdio_config(name: str = "fake", *args: str, env: dict[str, str] | None = None) -> McpServerConfig:
    """Return a stdio server entry that runs the fake server with ``args``."""
    return McpServerConfig(name, "stdio", command=sys.executable, args=(FAKE_SERVER, *args), env=env or {})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HttpServer:
    """The fake server over streamable HTTP, in a subprocess on 127.0.0.1."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.process = subprocess.Popen(
            [sys.executable, FAKE_SERVER, "--http", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError("the fake MCP HTTP server did not start")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Rig:
    """A real database, a dict keyring, the config service and a manager over them."""

    def __init__(self, tmp_path: Path, *, start_timeout: float = 20.0, call_timeout: float = 20.0) -> None:
        self.data = tmp_path / "data"
        self.db_path = self.data / "desktop-llm.sqlite3"
        self.db = DatabaseThread(self.db_path)
        self.keyring = DictKeyring()
        self.keystore = KeyStore(self.keyring)
        self.config = McpConfigService(self.db, self.keystore)
        self.manager = McpManager(
            self.config, log_dir=self.data / "logs", start_timeout=start_timeout, call_timeout=call_timeout
        )

    async def add(self, *configs: McpServerConfig) -> None:
        for config in configs:
            await self.config.save(config)
        await self.manager.reload()

    async def aclose(self) -> None:
        await self.manager.aclose()
        await self.db.aclose()
