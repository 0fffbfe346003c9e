"""Play a scripted turn over an HTTP response: events, pauses and faults at the scripted token counts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from .wire_base import Encoder, Kind, Reply, Turn, json_bytes
from .wire_http import HttpResponse


@dataclass(frozen=True)
class Piece:
    """The tokens of one stream event: all reasoning or all text."""

    kind: Kind
    text: str
    count: int


def plan_pieces(turn: Turn) -> list[Piece]:
    """Group the turn's tokens into stream events.

    Each event holds ``tokens_per_event`` tokens, never mixes reasoning and text, and ends where a
    fault is scripted, so the fault fires after exactly that many tokens.
    """
    reply = turn.reply
    tokens: list[tuple[Kind, str]] = [("reasoning", t) for t in turn.reasoning_tokens]
    tokens += [("text", t) for t in turn.text_tokens]
    cuts = {n for n in _fault_counts(reply) if n is not None}
    pieces: list[Piece] = []
    kind: Kind = "text"
    current: list[str] = []
    for index, (token_kind, token) in enumerate(tokens):
        if current and (token_kind != kind or len(current) == reply.tokens_per_event or index in cuts):
            pieces.append(Piece(kind, "".join(current), len(current)))
            current = []
        kind = token_kind
        current.append(token)
    if current:
        pieces.append(Piece(kind, "".join(current), len(current)))
    return pieces


def _fault_counts(reply: Reply) -> tuple[int | None, ...]:
    return (reply.drop_after, reply.malformed_after, reply.error_event_after, reply.silence_after)


class _Faults:
    """Fire the scripted faults once their token count is reached (or the tokens run out)."""

    def __init__(self, encoder: Encoder, response: HttpResponse) -> None:
        self._encoder = encoder
        self._reply = encoder.turn.reply
        self._response = response
        self._silenced = False

    async def fire(self, sent: int, *, at_end: bool = False) -> bool:
        """Run every fault that is due; return True when one of them ended the stream."""
        reply = self._reply

        def due(count: int | None) -> bool:
            return count is not None and (sent >= count or at_end)

        if due(reply.silence_after) and not self._silenced:
            self._silenced = True
            await asyncio.sleep(reply.silence_seconds)
        if due(reply.drop_after):
            self._response.abort()
            return True
        if due(reply.malformed_after):
            await self._response.send(self._encoder.malformed())
            await self._response.end()
            return True
        if due(reply.error_event_after):
            await self._response.send(self._encoder.error_event())
            await self._response.end()
            return True
        return False


async def play_stream(encoder: Encoder, response: HttpResponse) -> None:
    """Stream a turn: opening events, token events with their delays and faults, finish, terminator."""
    reply = encoder.turn.reply
    headers = {"content-type": encoder.content_type, **encoder.headers(), **reply.headers}
    await response.start(200, headers)
    if reply.silence_before:
        await asyncio.sleep(reply.silence_before)
    for event in encoder.opening():
        await response.send(event)
    if reply.ping_every is not None:
        while True:  # until the client leaves (the connection cancels this handler)
            await asyncio.sleep(reply.ping_every)
            await response.send(encoder.ping())
    faults = _Faults(encoder, response)
    sent = 0
    if await faults.fire(sent):
        return
    for piece in plan_pieces(encoder.turn):
        if reply.delay:
            await asyncio.sleep(reply.delay)
        for event in encoder.delta(piece.kind, piece.text):
            await response.send(event)
        sent += piece.count
        if await faults.fire(sent):
            return
    if await faults.fire(sent, at_end=True):
        return
    for count, event in enumerate(encoder.tool_calls()):
        if count == reply.drop_after_tool_events:
            response.abort()
            return
        await response.send(event)
    if reply.delay:
        await asyncio.sleep(reply.delay)
    for event in encoder.closing():
        await response.send(event)
    if not reply.omit_terminator:
        for event in encoder.terminator():
            await response.send(event)
    await response.send(reply.after_terminator)
    await _end(response, reply)


async def _end(response: HttpResponse, reply: Reply) -> None:
    if reply.hold_open:
        await asyncio.Event().wait()  # until the client leaves (the connection cancels this handler)
    await response.end()


async def play_raw(response: HttpResponse, reply: Reply) -> None:
    """Send ``reply.raw_body`` (``raw_repeat`` times) with the reply's status and content type."""
    assert reply.raw_body is not None
    headers = {"content-type": reply.content_type or "application/json", **reply.headers}
    await response.start(reply.status, headers)
    for _ in range(reply.raw_repeat):
        await response.send(reply.raw_body)
    await _end(response, reply)


async def play_complete(encoder: Encoder, response: HttpResponse) -> None:
    """Send a turn as one JSON body.

    ``drop_after`` cuts the connection half-way through it; ``malformed_after`` sends only its
    first half (invalid JSON).
    """
    reply = encoder.turn.reply
    if reply.silence_before:
        await asyncio.sleep(reply.silence_before)
    body = json_bytes(encoder.complete())
    headers = {"content-type": "application/json", **encoder.headers(), **reply.headers}
    if reply.malformed_after is not None:
        body = body[: len(body) // 2]
    if reply.drop_after is not None:
        await response.start(200, headers, content_length=len(body))
        await response.send(body[: len(body) // 2])
        response.abort()
        return
    await response.send_full(200, headers, body)


async def play_json(
    response: HttpResponse, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    """Send a JSON body (an error or a listing) with a status and extra headers."""
    await response.send_full(
        status, {"content-type": "application/json", **(headers or {})}, json_bytes(body)
    )
