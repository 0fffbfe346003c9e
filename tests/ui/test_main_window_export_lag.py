"""Exporting everything runs off the Qt thread: the window keeps repainting meanwhile."""

from __future__ import annotations

import asyncio
import json

import pytest
from app_harness import fake_openai_environment, open_app
from fakes.loop_lag import LoopLagProbe
from fakes.provider_server import ProviderServer
from test_main_window_search import populate

from desktop_llm.core.encodings import preload_encodings

pytestmark = pytest.mark.ui


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


async def test_the_event_loop_stays_responsive_while_exporting_everything(qtbot, tmp_path, server) -> None:
    async with open_app(
        qtbot,
        tmp_path / "data",
        environ=fake_openai_environment(server),
        prepare=lambda db: populate(db, 1500, messages_each=6),
    ) as app:
        # Building tiktoken's encoders holds the GIL for a moment when a model is first metered
        # (see ui/composition.py); measure the export, not that.
        await asyncio.to_thread(preload_encodings)
        await app.composition.services.preload_image_libraries()  # their import holds the GIL too
        out = tmp_path / "everything.json"
        with LoopLagProbe() as probe:
            result = await app.composition.services.exchange.export_all(out)

        assert result.conversations == 1500
        assert len(json.loads(out.read_text(encoding="utf-8"))["conversations"]) == 1500
        assert len(probe.gaps) > 10, "the timer kept firing during the export"
        worst = probe.worst_ms
        print(f"\nevent-loop lag exporting 9,000 messages: max gap {worst:.1f} ms, {len(probe.gaps)} ticks")
        assert worst < 500  # generous: timings are reported, not judged
