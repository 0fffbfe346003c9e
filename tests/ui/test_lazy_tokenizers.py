"""Tokenizer files are read when a model that needs one is first metered, never at start-up."""

from __future__ import annotations

import asyncio

import pytest
from app_harness import open_app, wait_until
from fakes.provider_server import ProviderServer

from desktop_llm.core import encodings

pytestmark = pytest.mark.ui


@pytest.fixture
def built(monkeypatch) -> list[str]:
    """Record every tokenizer file read, starting from none loaded."""
    reads: list[str] = []
    real = encodings.build_encoding
    monkeypatch.setattr(encodings, "_loaded", {})

    def recording(name: str):
        reads.append(name)
        return real(name)

    monkeypatch.setattr(encodings, "build_encoding", recording)
    return reads


async def test_no_tokenizer_is_read_at_start_up_without_an_openai_model(qtbot, tmp_path, built) -> None:
    with ProviderServer() as server:
        environ = {"OLLAMA_HOST": server.url_for("ollama")}
        async with open_app(qtbot, tmp_path / "data", environ=environ) as app:
            await wait_until(lambda: app.workspace.picker.model(), what="a model")
            await asyncio.sleep(0.5)  # idle, as after start-up
            assert built == []
            assert not any(encodings.is_loaded(name) for name in encodings.ENCODING_NAMES)

            # Metering a draft loads one tokenizer (the estimate's), never both.
            app.workspace.composer.set_text("How many tokens is this?")
            meter = app.workspace.composer.meter
            await wait_until(lambda: meter.isVisible() and meter.text(), what="a meter reading")
            assert len(built) <= 1 and len(set(built)) == len(built)
