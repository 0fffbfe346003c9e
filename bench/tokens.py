"""Measure token counting: loading the tokenizer files, and recounting a long chat with the cache.

A conversation of 1,000 messages (``--quick``: 200) is synthesised at run time: English prose,
code, CJK and emoji, a few hundred characters each. Measured, best of the repeats:

- ``load``: building each encoding from its shipped file (read, sha256 check, parse, build);
- ``cold``: a fresh ``TokenCounter`` counting the whole conversation (encodings already loaded);
- ``increment``: the same counter after one new message is appended (the figure; target <= 5 ms);
- ``baseline``: ``count_chat_tokens`` on that same conversation, no cache, in the same run.

Prints one JSON object with the figures in milliseconds and ``ratio`` = baseline / increment.

    python bench/tokens.py [--quick] [--repeats N] [--model gpt-4o]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # measure the source tree

from desktop_llm.core.encodings import ENCODING_NAMES, build_encoding, preload_encodings
from desktop_llm.core.tokens import TokenCounter, count_chat_tokens

TARGET_INCREMENT_MS = 5.0
SNIPPETS = [
    "The quick brown fox jumps over the lazy dog, and the model explains why in detail. ",
    "def handler(event):\n    return {k: v for k, v in event.items() if v is not None}\n",
    "東京都の天気は晴れです。北京欢迎你！서울은 한국의 수도입니다。",
    "Launch 🚀 done ✅ — results: 42 passed, 0 failed; see https://example.com/runs/1234. ",
    "    indented   text\twith\ttabs and    runs of     spaces\n\n",
]


@dataclass(frozen=True)
class Msg:
    """A chat message: what ``count_chat_tokens`` reads."""

    role: str
    content: str


def synthesise(count: int, rng: random.Random) -> list[Msg]:
    """Return ``count`` alternating messages of mixed content, 100 to 1,500 characters each."""
    messages = [Msg("system", "You are a helpful assistant. Answer concisely.")]
    for i in range(count - 1):
        text = ""
        target = rng.randint(100, 1500)
        while len(text) < target:
            text += rng.choice(SNIPPETS)
        messages.append(Msg("user" if i % 2 == 0 else "assistant", f"[{i}] {text}"))
    return messages


def best_ms(run: Callable[[], object], repeats: int) -> float:
    """Return the fastest of ``repeats`` runs in milliseconds."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        timings.append((time.perf_counter() - start) * 1000)
    return min(timings)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a CI-sized run")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--model", default="gpt-4o")
    args = parser.parse_args(argv)
    size = 200 if args.quick else 1000
    repeats = args.repeats or (3 if args.quick else 7)
    rng = random.Random(6)

    load_ms = {name: best_ms(lambda name=name: build_encoding(name), repeats) for name in ENCODING_NAMES}
    preload_encodings()
    conversation = synthesise(size, rng)

    def cold() -> None:
        TokenCounter().count_chat(conversation, args.model)

    cold_ms = best_ms(cold, repeats)

    counter = TokenCounter()
    counter.count_chat(conversation, args.model)
    increments, baselines = [], []
    for i in range(repeats):
        # A new question each time, so each recount has exactly one text the cache has not seen.
        grown = [*conversation, Msg("user", f"Follow-up {i}: {rng.choice(SNIPPETS) * 3}")]
        increments.append(best_ms(lambda grown=grown: counter.count_chat(grown, args.model), 1))
        baselines.append(best_ms(lambda grown=grown: count_chat_tokens(grown, args.model), 1))
        assert counter.count_chat(grown, args.model) == count_chat_tokens(grown, args.model)
    increment_ms, baseline_ms = min(increments), min(baselines)

    report = {
        "benchmark": "tokens",
        "model": args.model,
        "messages": size + 1,
        "characters": sum(len(m.content) for m in conversation),
        "repeats": repeats,
        "load_ms": {name: round(ms, 2) for name, ms in load_ms.items()},
        "cold_count_ms": round(cold_ms, 3),
        "increment_ms": round(increment_ms, 3),
        "baseline_uncached_ms": round(baseline_ms, 3),
        "ratio": round(baseline_ms / increment_ms, 1),
        "ratio_means": "baseline / increment (how many times faster the cached recount is)",
        "target_increment_ms": TARGET_INCREMENT_MS,
        "meets_target": increment_ms <= TARGET_INCREMENT_MS,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
