"""Choose which messages of the active path to send so the request fits the model's window.

Pure: counts come in with the messages (``TokenCounter.count_message`` gives one message's
tokens with its chat-format overhead), nothing is counted or stored here.

The budget is ``context_window - max_output - margin`` (times ``budget_scale``). Always kept:
every system message, the newest user message and pinned messages. If even those do not fit,
nothing is sent and ``reason`` tells the user what to do. Otherwise, with strategy

- ``"sliding"``: the oldest turns are left out (a turn is a user message and the replies
  after it; whole turns go, so the history never starts with an orphaned reply);
- ``"summarise"``: a stored ``Summary`` stands in for every message up to the one it covers.
  It is reused as the conversation grows until the messages after it no longer fit beside it;
  then ``needs_summary`` asks the service to write a new one covering the ``dropped_ids`` (the
  old summary's text can seed it). Without a usable summary this falls back to sliding and
  sets ``needs_summary`` too.

When the provider still answers "too long" (our counts are estimates for most models), retry
with ``request.shrunk()``, which asks for 80 % of the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

Strategy = Literal["sliding", "summarise"]
SHRINK_FACTOR = 0.8


@dataclass(frozen=True)
class ContextMessage:
    """One message of the active path with its token count (text plus chat-format overhead)."""

    id: str
    role: str
    text: str
    tokens: int
    pinned: bool = False


@dataclass(frozen=True)
class Summary:
    """A stored summary that stands in for every message up to and including ``covers_through_id``.

    ``message`` is what is sent in their place (the service picks its role and counts its tokens).
    """

    message: ContextMessage
    covers_through_id: str


@dataclass(frozen=True)
class ContextRequest:
    """Everything ``fit_context`` needs: the active path in order, the model's limits, the strategy."""

    messages: Sequence[ContextMessage]
    context_window: int
    max_output: int
    margin: int = 0
    strategy: Strategy = "sliding"
    summary: Summary | None = None
    model_label: str = "the model"
    budget_scale: float = 1.0

    @property
    def budget(self) -> int:
        """Return the tokens the prompt may take."""
        return max(0, int((self.context_window - self.max_output - self.margin) * self.budget_scale))

    def shrunk(self, factor: float = SHRINK_FACTOR) -> ContextRequest:
        """Return this request with a smaller budget, for a retry after the provider said "too long"."""
        return replace(self, budget_scale=self.budget_scale * factor)


@dataclass(frozen=True)
class FitResult:
    """What to send, and why.

    Attributes:
        messages_to_send: in path order; a used summary sits where the messages it covers were.
        dropped_ids: ids of path messages not sent.
        total_tokens: the sum over ``messages_to_send``; never above ``budget``.
        fits: False when even the messages that must be kept exceed the budget (nothing is sent).
        reason: one sentence for the user.
        required_tokens: what the kept minimum (system, newest user message, pinned) takes.
        summary_used: whether ``messages_to_send`` includes the summary.
        needs_summary: strategy "summarise" dropped messages that no summary covers.
    """

    messages_to_send: tuple[ContextMessage, ...]
    dropped_ids: tuple[str, ...]
    total_tokens: int
    budget: int
    fits: bool
    reason: str
    required_tokens: int = 0
    summary_used: bool = False
    needs_summary: bool = False


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _newest_user(messages: Sequence[ContextMessage]) -> int | None:
    return max((i for i, m in enumerate(messages) if m.role == "user"), default=None)


def _required(messages: Sequence[ContextMessage]) -> set[int]:
    required = {i for i, m in enumerate(messages) if m.role == "system" or m.pinned}
    newest_user = _newest_user(messages)
    if newest_user is not None:
        required.add(newest_user)
    return required


def _turns_newest_first(messages: Sequence[ContextMessage], candidates: Sequence[int]) -> list[list[int]]:
    """Group the candidate indices by the user message that opens their turn, newest turn first."""
    turn_start = -1
    opener: dict[int, int] = {}
    for i, message in enumerate(messages):
        if message.role == "user":
            turn_start = i
        opener[i] = turn_start
    turns: dict[int, list[int]] = {}
    for i in candidates:
        turns.setdefault(opener[i], []).append(i)
    return [turns[start] for start in sorted(turns, reverse=True)]


def _slide(messages: Sequence[ContextMessage], optional: Sequence[int], room: int) -> set[int]:
    """Return the optional indices of the newest whole turns whose tokens fit in ``room``."""
    kept: set[int] = set()
    for turn in _turns_newest_first(messages, optional):
        cost = sum(messages[i].tokens for i in turn)
        if cost > room:
            break  # older turns would leave a gap in the history
        room -= cost
        kept.update(turn)
    return kept


def _not_fitting(request: ContextRequest, required: set[int], required_tokens: int) -> FitResult:
    messages, budget = request.messages, request.budget
    if budget == 0:
        reason = (
            f"{request.model_label}'s window of {request.context_window:,} tokens leaves no room once "
            f"{request.max_output + request.margin:,} are reserved for the reply; "
            "lower the reply's maximum length or pick a model with a larger window."
        )
    else:
        newest_user = _newest_user(messages)
        has_user = newest_user is not None
        pinned = sum(
            1 for i in required if messages[i].pinned and i != newest_user and messages[i].role != "system"
        )
        parts = ["your message"] if has_user else []
        if any(messages[i].role == "system" for i in required):
            parts.append("the system prompt")
        if pinned:
            parts.append(_plural(pinned, "pinned message"))
        subject = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        verb = "needs" if len(parts) == 1 and pinned <= 1 else "need"
        remedies = (["shorten the message"] if has_user else []) + (["unpin messages"] if pinned else [])
        remedies.append("pick a model with a larger window")
        remedy = remedies[0] if len(remedies) == 1 else ", ".join(remedies[:-1]) + " or " + remedies[-1]
        reason = (
            f"{subject[0].upper()}{subject[1:]} {verb} {required_tokens:,} tokens but "
            f"{request.model_label}'s window leaves {budget:,}; {remedy}."
        )
    return FitResult((), tuple(m.id for m in messages), 0, budget, False, reason, required_tokens)


def _result(
    request: ContextRequest,
    sent: set[int],
    required_tokens: int,
    *,
    summary: Summary | None = None,
    summary_at: int = 0,
    covered: int = 0,
    needs_summary: bool = False,
) -> FitResult:
    messages = request.messages
    chosen: list[ContextMessage] = []
    for i, message in enumerate(messages):
        if summary is not None and i == summary_at:
            chosen.append(summary.message)
        if i in sent:
            chosen.append(message)
    dropped = tuple(m.id for i, m in enumerate(messages) if i not in sent)
    total = sum(m.tokens for m in chosen)
    where = f"{request.model_label}'s window ({total:,} of {request.budget:,} tokens)"
    if not dropped:
        reason = f"All {_plural(len(messages), 'message')} fit in {where}."
    elif summary is not None:
        left_out = len(dropped) - covered
        verb = "is" if left_out == 1 else "are"
        also = f" and the {_plural(left_out, 'oldest message')} after it {verb} left out" if left_out else ""
        reason = f"A summary stands in for {_plural(covered, 'earlier message')}{also} to fit {where}."
    else:
        reason = f"Left out the {_plural(len(dropped), 'oldest message')} to fit {where}."
    return FitResult(
        messages_to_send=tuple(chosen),
        dropped_ids=dropped,
        total_tokens=total,
        budget=request.budget,
        fits=True,
        reason=reason,
        required_tokens=required_tokens,
        summary_used=summary is not None,
        needs_summary=needs_summary,
    )


def _fit_with_summary(request: ContextRequest, required: set[int], required_tokens: int) -> FitResult | None:
    """Return the fit that sends the summary in place of what it covers, or None if it cannot."""
    summary, messages = request.summary, request.messages
    if summary is None:
        return None
    covered_end = next((i for i, m in enumerate(messages) if m.id == summary.covers_through_id), None)
    if covered_end is None:
        return None  # the summary belongs to another branch or its message was deleted
    covered = [i for i in range(covered_end + 1) if i not in required]
    room = request.budget - required_tokens - summary.message.tokens
    if not covered or room < 0:
        return None
    later = [i for i in range(covered_end + 1, len(messages)) if i not in required]
    kept = _slide(messages, later, room)
    return _result(
        request,
        required | kept,
        required_tokens,
        summary=summary,
        summary_at=covered[0],
        covered=len(covered),
        needs_summary=len(kept) < len(later),
    )


def fit_context(request: ContextRequest) -> FitResult:
    """Return the messages to send for ``request``, never more tokens than its budget."""
    messages = request.messages
    required = _required(messages)
    required_tokens = sum(messages[i].tokens for i in required)
    if required_tokens > request.budget or request.budget == 0:
        return _not_fitting(request, required, required_tokens)
    everything = set(range(len(messages)))
    if sum(m.tokens for m in messages) <= request.budget:
        return _result(request, everything, required_tokens)
    if request.strategy == "summarise":
        with_summary = _fit_with_summary(request, required, required_tokens)
        if with_summary is not None:
            return with_summary
    optional = sorted(everything - required)
    kept = _slide(messages, optional, request.budget - required_tokens)
    return _result(
        request,
        required | kept,
        required_tokens,
        needs_summary=request.strategy == "summarise" and len(kept) < len(optional),
    )
