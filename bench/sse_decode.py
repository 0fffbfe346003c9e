"""Measure SSE decoding throughput: our SSEDecoder against the openai SDK's, on the same bytes.

Two streams are synthesised at run time (about 50 MB each, ``--quick``: about 5 MB):

- "openai": ``data: {chat.completion.chunk}`` lines, one token each, then ``data: [DONE]``;
- "anthropic": ``event: content_block_delta`` + ``data: {...}`` pairs with a ping now and then.

Both decoders get the same 16 KiB chunks, as network reads would deliver them. The SDK is
driven exactly as its own ``Stream._iter_events`` drives it: ``SSEDecoder().iter_bytes(chunks)``
(the async path, ``aiter_bytes``, runs the same line splitter and ``decode`` per line). Ours is
driven the way our providers do: ``feed(chunk)`` per chunk, then ``close()``. Both results are
kept in a list, as a consumer would hold them, and are compared event by event afterwards.

Prints one JSON object: MB/s (10^6 bytes per second, best of the repeats) for each decoder and
stream kind, the ratio ours/SDK, and the event counts. Target: ratio >= 1.5 (reported, not a gate).

    python bench/sse_decode.py [--quick] [--repeats N] [--chunk-bytes N]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # measure the source tree

from openai._streaming import ServerSentEvent
from openai._streaming import SSEDecoder as SDKDecoder

from desktop_llm.providers.sse import SSEDecoder, SSEEvent

TARGET_RATIO = 1.5
WORDS = ["the", " model", " streams", " tokens", ",", " café", " naïve", " 中文", " 😀", "\n", " of", " text"]


def openai_stream(size: int, rng: random.Random) -> bytes:
    """Return an OpenAI chat completion stream of about ``size`` bytes."""
    parts: list[bytes] = []
    total = 0
    while total < size:
        chunk = {
            "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
            "object": "chat.completion.chunk",
            "created": 1741569952,
            "model": "gpt-4o-mini-2024-07-18",
            "service_tier": "default",
            "system_fingerprint": "fp_06737a9306",
            "choices": [
                {"index": 0, "delta": {"content": rng.choice(WORDS)}, "logprobs": None, "finish_reason": None}
            ],
        }
        line = b"data: " + json.dumps(chunk, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"
        parts.append(line)
        total += len(line)
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def anthropic_stream(size: int, rng: random.Random) -> bytes:
    """Return an Anthropic Messages stream of about ``size`` bytes."""
    parts: list[bytes] = []
    total = 0
    while total < size:
        if rng.random() < 0.01:
            block = b'event: ping\ndata: {"type": "ping"}\n\n'
        else:
            delta = {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": rng.choice(WORDS)},
            }
            payload = json.dumps(delta, separators=(",", ":"), ensure_ascii=False).encode()
            block = b"event: content_block_delta\ndata: " + payload + b"\n\n"
        parts.append(block)
        total += len(block)
    parts.append(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    return b"".join(parts)


def decode_ours(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.close()
    return events


def decode_sdk(chunks: list[bytes]) -> list[ServerSentEvent]:
    return list(SDKDecoder().iter_bytes(iter(chunks)))


def timed(decode: Callable[[list[bytes]], list[Any]], chunks: list[bytes]) -> tuple[float, list[Any]]:
    """Return (seconds, events) for one decode, with the garbage collector held off for both."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        events = decode(chunks)
        return time.perf_counter() - start, events
    finally:
        gc.enable()


def split(stream: bytes, size: int) -> Iterator[bytes]:
    return (stream[offset : offset + size] for offset in range(0, len(stream), size))


def measure(stream: bytes, chunk_bytes: int, repeats: int) -> dict[str, object]:
    """Decode ``stream`` with both decoders, alternating which goes first; keep the best time."""
    chunks = list(split(stream, chunk_bytes))
    best = {"ours": float("inf"), "sdk": float("inf")}
    decoders = {"ours": decode_ours, "sdk": decode_sdk}
    results: dict[str, list[Any]] = {}
    for round_number in range(repeats):
        order = ["ours", "sdk"] if round_number % 2 == 0 else ["sdk", "ours"]
        for name in order:
            seconds, results[name] = timed(decoders[name], chunks)
            best[name] = min(best[name], seconds)
    ours = [(event.event, event.data) for event in results["ours"]]
    # The SDK reports an unnamed event as None where the spec (and we) say "message".
    sdk = [(event.event or "message", event.data) for event in results["sdk"]]
    megabytes = len(stream) / 1e6
    return {
        "megabytes": round(megabytes, 2),
        "ours_mb_per_s": round(megabytes / best["ours"], 1),
        "sdk_mb_per_s": round(megabytes / best["sdk"], 1),
        "ratio_ours_over_sdk": round(best["sdk"] / best["ours"], 2),
        "events_ours": len(ours),
        "events_sdk": len(sdk),
        "events_identical": ours == sdk,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 5 MB per stream instead of 50 MB")
    parser.add_argument("--repeats", type=int, default=3, help="runs per decoder; the best counts")
    parser.add_argument("--chunk-bytes", type=int, default=16 * 1024, help="bytes per simulated read")
    args = parser.parse_args()
    size = 5_000_000 if args.quick else 50_000_000
    rng = random.Random(20250314)
    streams = {"openai": openai_stream(size, rng), "anthropic": anthropic_stream(size, rng)}
    report: dict[str, object] = {
        "benchmark": "sse_decode",
        "quick": args.quick,
        "chunk_bytes": args.chunk_bytes,
        "repeats": args.repeats,
        "baseline": f"openai {version('openai')} openai._streaming.SSEDecoder.iter_bytes",
        "python": sys.version.split()[0],
        "target_ratio": TARGET_RATIO,
    }
    results = {kind: measure(stream, args.chunk_bytes, args.repeats) for kind, stream in streams.items()}
    report["streams"] = results
    report["meets_target"] = all(result["ratio_ours_over_sdk"] >= TARGET_RATIO for result in results.values())
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
