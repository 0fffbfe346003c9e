"""Order a conversation's messages so every parent comes before its children."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol, TypeVar


class TreeNode(Protocol):
    """A message as far as its place in the tree goes."""

    @property
    def id(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def created_at(self) -> str: ...


NodeT = TypeVar("NodeT", bound=TreeNode)


def parents_first(messages: Sequence[NodeT]) -> tuple[list[NodeT], list[NodeT]]:
    """Return (messages reachable from a root, parents first and siblings by time; the rest).

    With every parent present, "the rest" are exactly the messages on or below a cycle.
    """
    children: defaultdict[str | None, list[NodeT]] = defaultdict(list)
    for message in messages:
        children[message.parent_id].append(message)
    ordered: list[NodeT] = []
    pending = sorted(children[None], key=lambda m: m.created_at, reverse=True)
    while pending:
        message = pending.pop()
        ordered.append(message)
        pending.extend(sorted(children[message.id], key=lambda m: m.created_at, reverse=True))
    reached = {id(message) for message in ordered}
    return ordered, [message for message in messages if id(message) not in reached]
