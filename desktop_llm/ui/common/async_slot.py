"""Give qasync's ``asyncSlot`` a type, so slots written as coroutines stay type-checked."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, Protocol

import qasync

P = ParamSpec("P")


class SlotDecorator(Protocol):
    """Turns a coroutine function into a Qt slot that starts it as a task."""

    def __call__(self, fn: Callable[P, Coroutine[Any, Any, None]], /) -> Callable[P, asyncio.Task[None]]: ...


def async_slot(*types: type) -> SlotDecorator:
    """Return ``qasync.asyncSlot(*types)``: calling the slot starts the coroutine as a task.

    Exceptions of the task go to ``sys.excepthook`` (the crash dialog), as qasync does.
    """
    decorator: SlotDecorator = qasync.asyncSlot(*types)
    return decorator
