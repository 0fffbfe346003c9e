"""Await Qt signals and conditions from async UI tests (on qasync's loop, without nested loops)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class SignalWaiter:
    """Record a signal's emissions from now on; ``await waiter.wait()`` for the next one's arguments.

    Connect it before doing what makes the signal fire.
    """

    def __init__(self, signal: Any) -> None:
        self._signal = signal
        self._seen: list[tuple[Any, ...]] = []
        self._event = asyncio.Event()
        signal.connect(self._on_signal)

    def _on_signal(self, *args: Any) -> None:
        self._seen.append(args)
        self._event.set()

    async def wait(self, within: float = 10.0) -> tuple[Any, ...]:
        """Return the arguments of the first emission not yet waited for."""
        while not self._seen:
            self._event.clear()
            await asyncio.wait_for(self._event.wait(), within)
        return self._seen.pop(0)

    def close(self) -> None:
        self._signal.disconnect(self._on_signal)


async def until(condition: Callable[[], object], within: float = 10.0, interval: float = 0.02) -> Any:
    """Sleep in small steps until ``condition()`` is truthy and return its value.

    Raises TimeoutError after ``within`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not (value := condition()):
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {within} s")
        await asyncio.sleep(interval)
    return value


async def answer_message_box(parent: Any, button_text: str, within: float = 10.0) -> str:
    """Wait for a message box under ``parent`` to open, click its ``button_text`` button; return its text."""
    from PySide6.QtWidgets import QMessageBox

    def open_box() -> QMessageBox | None:
        return next((box for box in parent.findChildren(QMessageBox) if box.isVisible()), None)

    box = await until(open_box, within)
    for button in box.buttons():
        if button.text().replace("&", "") == button_text:
            text = box.text()
            button.click()
            return text
    labels = [button.text() for button in box.buttons()]
    raise AssertionError(f"the message box has no {button_text!r} button, only {labels}")
