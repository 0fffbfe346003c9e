"""The app's drawing workers: built once by the composition, used by every chat, stopped on exit."""

from __future__ import annotations

import pytest
from app_harness import fake_openai_environment, open_app, wait_until
from fakes.provider_server import ProviderServer, Reply
from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument, QTextFormat

from desktop_llm.core.highlight_pool import HighlightJob
from desktop_llm.core.math_svg import formula_name, parse_formula_name
from desktop_llm.ui.common.math_images import source_image

REPLY = "The area is $\\pi r^2$, in code:\n\n```python\narea = pi * r ** 2\n```\n"
IMAGE = QTextDocument.ResourceType.ImageResource.value


@pytest.fixture
def server():
    with ProviderServer() as running:
        running.models = ["model-a"]
        yield running


async def test_replies_are_drawn_by_the_app_workers_which_stop_on_exit(qtbot, tmp_path, server) -> None:
    server.push(Reply(text=REPLY))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model() == "model-a", what="the default model")
        await app.type_and_send("Area?")
        await wait_until(lambda: [m["status"] for m in app.messages()] == ["complete"] * 2, what="reply")
        view = app.view()
        document = view.browser.document()

        def coloured() -> bool:
            cursor = document.find("area = pi")
            return not cursor.isNull() and cursor.charFormat().hasProperty(
                QTextFormat.Property.ForegroundBrush
            )

        await wait_until(coloured, what="the code's colours, from the app's highlighter")
        math = app.composition.math
        [name] = [n for n in math_names(document) if "pi" in n]
        stand_in = source_image(*parse_formula_name(name), scale=view.devicePixelRatioF()).size()
        await wait_until(lambda: document.resource(IMAGE, QUrl(name)).size() != stand_in, what="the formula")
        math.image(name)
        assert not math.is_pending(name)  # drawn by (and cached in) the app's math worker
        composition = app.composition

    # Shut down with the app: no job is taken any more, and formulas stay as their source.
    assert not composition.highlighter.submit(HighlightJob("late = 1", "python", "xcode"))
    late = formula_name("e^{i\\pi}", False, "#000000", 16)
    assert composition.math.image(late) is not None and not composition.math.is_pending(late)


def math_names(document: QTextDocument) -> list[str]:
    names, block = [], document.begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fmt = iterator.fragment().charFormat()
            if fmt.isImageFormat() and fmt.toImageFormat().name().startswith("math:"):
                names.append(fmt.toImageFormat().name())
            iterator += 1
        block = block.next()
    assert all(document.resource(IMAGE, QUrl(n)) is not None for n in names)
    return names
