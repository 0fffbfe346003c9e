"""Measure the SQLite store on a realistic library: inserts, the active branch, search, the list.

Populates 2,000 conversations with 200,000 messages (about 60 MB of text; ``--quick``: 200 with
20,000) in a temporary folder through the repositories, one of them a single 5,000-message
branch. Each figure sits beside a baseline measured in the same run:

- insert rate: ``MessageRepository.append`` vs a bare ``executemany`` of the same rows into the
  same table (search triggers included in both), on the same sample of conversations;
- active path of the 5,000-message branch: one recursive query vs a per-row parent walk
  (target <= 50 ms);
- search, median and p95 over ~50 varied queries (words, prefixes, CJK, phrases, several
  words): FTS5 vs a ``LIKE '%q%'`` scan (target p95 <= 30 ms);
- first page of the conversation list: with its index vs the same query ``NOT INDEXED``
  (target <= 10 ms).

The export helper's "export and re-import everything" figure joins the JSON when
``bench/exchange.py`` provides ``measure_round_trip(database: Path, *, quick: bool) -> dict``;
:func:`populate` is the hook it (or anything else) can use to build a library.

Usage: python bench/storage.py [--quick] [--keep DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure the source tree

from desktop_llm.storage.conversations import COLUMNS, ConversationRepository, conversation_from_row  # noqa: E402
from desktop_llm.storage.database import Database  # noqa: E402
from desktop_llm.storage.messages import MessageRepository  # noqa: E402
from desktop_llm.storage.search import search  # noqa: E402
from desktop_llm.storage.timeutil import now_timestamp  # noqa: E402

TARGETS_MS = {"active_path": 50.0, "search_p95": 30.0, "first_page": 10.0}
LONG_BRANCH = 5_000
DATABASE_NAME = "desktop-llm.sqlite3"

# fmt: off
_REAL_WORDS = [
    "python", "database", "error", "stream", "token", "model", "reply", "search", "branch", "message",
    "window", "folder", "template", "export", "import", "keyring", "provider", "request", "latency",
    "context", "summary", "translate", "function", "variable", "network", "timeout", "server", "client",
    "thread", "memory", "cache", "index", "query", "garden", "recipe", "holiday", "budget", "meeting",
    "invoice", "project", "deadline", "review", "release",
]
_CJK_WORDS = [
    "東京", "大阪", "京都", "天気", "研究", "学生", "電車", "会議", "会議室", "図書館",
    "料理", "音楽", "旅行", "北京", "上海", "数据", "模型", "서울", "날씨",
]
_CJK_JOINERS = ["は", "に", "を", "の", "で", "と", "が", "から", "まで、", "。"]
# fmt: on


@dataclass(frozen=True)
class MessageSpec:
    """One message to write: its parent's position in the conversation (or -1), role and text."""

    parent: int
    role: str
    content: str


@dataclass(frozen=True)
class ConversationSpec:
    """One conversation to write."""

    title: str
    messages: list[MessageSpec]


@dataclass(frozen=True)
class Population:
    """What :func:`populate` wrote."""

    database: Path
    conversations: int
    messages: int
    text_bytes: int
    long_conversation_id: str
    seconds: float


class Library:
    """A deterministic generator of conversations with a Zipf-distributed vocabulary and some CJK."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        syllables = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"] + ["qu", "th", "sh", "ch"]
        invented = {
            "".join(self.random.choice(syllables) for _ in range(self.random.randint(1, 4)))
            for _ in range(30_000)
        }
        self.words = _REAL_WORDS + sorted(invented - set(_REAL_WORDS))
        self.random.shuffle(self.words)
        weights = [1 / (rank + 1) ** 1.07 for rank in range(len(self.words))]
        self._cumulative = list(_accumulate(weights))

    def sentence(self, words: int) -> str:
        """Return ``words`` words of Latin-script text."""
        picked = self.random.choices(self.words, cum_weights=self._cumulative, k=words)
        return " ".join(picked).capitalize() + "."

    def cjk(self, words: int) -> str:
        """Return a run of CJK text without spaces."""
        parts = []
        for _ in range(words):
            parts.append(self.random.choice(_CJK_WORDS))
            parts.append(self.random.choice(_CJK_JOINERS))
        return "".join(parts)

    def text(self, mean_words: int) -> str:
        """Return a message body of about ``mean_words`` words, CJK now and then."""
        count = max(2, int(self.random.expovariate(1 / mean_words)))
        if self.random.random() < 0.05:
            return self.cjk(max(2, count // 3))
        chunks, left = [], count
        while left > 0:
            size = min(left, self.random.randint(6, 18))
            chunks.append(self.sentence(size))
            left -= size
        return " ".join(chunks)

    def conversation(self, size: int) -> ConversationSpec:
        """Return a conversation of ``size`` messages: user/assistant turns, a retried reply now and then."""
        specs: list[MessageSpec] = []
        tip = -1
        while len(specs) < size:
            role = "user" if len(specs) % 2 == 0 else "assistant"
            mean = 14 if role == "user" else 70
            specs.append(MessageSpec(tip, role, self.text(mean)))
            if role == "assistant" and len(specs) < size and self.random.random() < 0.08:
                specs.append(MessageSpec(tip, "assistant", self.text(mean)))  # a sibling: a retry
            tip = len(specs) - 1
        return ConversationSpec(self.sentence(self.random.randint(2, 6)).rstrip("."), specs[:size])

    def chain(self, size: int) -> ConversationSpec:
        """Return one unbranched conversation of ``size`` messages."""
        return ConversationSpec(
            "The long one",
            [
                MessageSpec(index - 1, ("user", "assistant")[index % 2], self.text(20))
                for index in range(size)
            ],
        )


def _accumulate(values: list[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


def plan(conversations: int, messages: int, seed: int) -> list[ConversationSpec]:
    """Return the library's conversations: one long branch first, the rest sharing the remaining messages."""
    library = Library(seed)
    long_size = min(LONG_BRANCH, messages // 4)
    specs = [library.chain(long_size)]
    others = conversations - 1
    remaining = messages - long_size
    for index in range(others):
        size = remaining // others + (1 if index < remaining % others else 0)
        specs.append(library.conversation(size))
    return specs


def write_with_repository(db: Database, specs: list[ConversationSpec]) -> list[str]:
    """Write ``specs`` through the repositories, one transaction per conversation; return their ids."""
    conversations, messages = ConversationRepository(db), MessageRepository(db)
    ids = []
    for spec in specs:
        with db.transaction():
            conversation = conversations.create(spec.title)
            written: list[str] = []
            for message in spec.messages:
                parent = written[message.parent] if message.parent >= 0 else None
                written.append(
                    messages.append(
                        conversation.id, parent_id=parent, role=message.role, content=message.content
                    ).id
                )
        ids.append(conversation.id)
    return ids


def write_with_executemany(db: Database, specs: list[ConversationSpec]) -> float:
    """Write ``specs`` with bare SQL, one executemany per conversation; return the seconds the writes took.

    The rows (ids, timestamps) are prepared before the clock starts.
    """
    now = now_timestamp()
    batches = []
    for spec in specs:
        conversation_id = str(uuid.uuid4())
        message_ids = [str(uuid.uuid4()) for _ in spec.messages]
        rows = [
            (
                message_ids[index],
                conversation_id,
                message_ids[message.parent] if message.parent >= 0 else None,
                message.role,
                message.content,
                now,
            )
            for index, message in enumerate(spec.messages)
        ]
        batches.append((conversation_id, spec.title, message_ids[-1] if message_ids else None, rows))
    started = time.perf_counter()
    for conversation_id, title, leaf, rows in batches:
        with db.transaction() as conn:
            conn.execute(
                "INSERT INTO conversations (id, title, created_at, updated_at, current_leaf_id) "
                "VALUES (?, ?, ?, ?, ?)",
                (conversation_id, title, now, now, leaf),
            )
            conn.executemany(
                "INSERT INTO messages (id, conversation_id, parent_id, role, content, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
    return time.perf_counter() - started


def populate(path: Path, *, conversations: int = 2_000, messages: int = 200_000, seed: int = 7) -> Population:
    """Create the database at ``path`` and fill it with a generated library through the repositories.

    The first conversation is a single branch of 5,000 messages (or a quarter of ``messages``).
    """
    specs = plan(conversations, messages, seed)
    started = time.perf_counter()
    with Database.open(path) as db:
        ids = write_with_repository(db, specs)
    return Population(
        database=path,
        conversations=len(specs),
        messages=sum(len(spec.messages) for spec in specs),
        text_bytes=sum(len(m.content.encode()) for spec in specs for m in spec.messages),
        long_conversation_id=ids[0],
        seconds=time.perf_counter() - started,
    )


def _timed(fn: Callable[[], object], repeats: int, cpu: list[float] | None = None) -> list[float]:
    """Return the wall-clock run times of ``fn`` in milliseconds (CPU times go to ``cpu`` if given)."""
    times = []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - started) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - started_cpu) * 1000)
    return times


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _figure(name: str, ours: float, baseline: float, unit: str, **extra: Any) -> dict[str, Any]:
    figure = {name: round(ours, 3), "baseline": round(baseline, 3), "unit": unit}
    figure["ratio"] = round(ours / baseline, 4) if baseline else None
    target = TARGETS_MS.get(name)
    if target is not None:
        figure["target"] = target
        figure["meets_target"] = ours <= target
    figure.update(extra)
    return figure


def measure_inserts(folder: Path, specs: list[ConversationSpec]) -> dict[str, Any]:
    """Compare repository appends with a bare executemany of the same rows, each into a fresh database."""
    count = sum(len(spec.messages) for spec in specs)
    with Database.open(folder / "repository.sqlite3") as db:
        started = time.perf_counter()
        write_with_repository(db, specs)
        repository_seconds = time.perf_counter() - started
    with Database.open(folder / "executemany.sqlite3") as db:
        bare_seconds = write_with_executemany(db, specs)
    figure = _figure(
        "insert_rate", count / repository_seconds, count / bare_seconds, "messages/s", sample=count
    )
    figure["note"] = "ratio < 1: the repository's share of the bare rate"
    return figure


def measure_active_path(db: Database, conversation_id: str) -> dict[str, Any]:
    """Time the active path of the long branch against a per-row parent walk."""
    messages = MessageRepository(db)
    length = len(messages.active_path(conversation_id))
    leaf = ConversationRepository(db).get(conversation_id).current_leaf_id

    def walk() -> list[Any]:
        path, current = [], leaf
        while current is not None:
            row = db.conn.execute("SELECT * FROM messages WHERE id = ?", (current,)).fetchone()
            path.append(row)
            current = row["parent_id"]
        path.reverse()
        return path

    assert len(walk()) == length
    cpu: list[float] = []
    ours = statistics.median(_timed(lambda: messages.active_path(conversation_id), 15, cpu))
    naive_cpu: list[float] = []
    naive = statistics.median(_timed(walk, 5, naive_cpu))
    # On a shared machine the wall clock includes waiting for a core; CPU time does not.
    return _figure(
        "active_path",
        ours,
        naive,
        "ms",
        messages=length,
        cpu_ms=round(statistics.median(cpu), 3),
        baseline_cpu_ms=round(statistics.median(naive_cpu), 3),
    )


def queries(db: Database, seed: int) -> list[str]:
    """Return ~50 varied queries drawn from the stored text: words, prefixes, CJK, phrases, pairs."""
    rng = random.Random(seed)
    sample = [row[0] for row in db.conn.execute("SELECT content FROM messages WHERE seq % 97 = 0 LIMIT 600")]
    latin = [text for text in sample if text.isascii()]
    counts: dict[str, int] = {}
    for text in latin:
        for word in text.lower().replace(".", "").split():
            counts[word] = counts.get(word, 0) + 1
    by_frequency = sorted(counts, key=counts.__getitem__, reverse=True)
    common, middle, rare = by_frequency[:40], by_frequency[40:400], by_frequency[-200:]
    chosen = rng.sample(common, 8) + rng.sample(middle, 10) + rng.sample(rare, 5)
    chosen += [word[:3] for word in rng.sample([w for w in middle if len(w) > 4], 5)]
    chosen += [word[:2] for word in rng.sample(common, 3)]
    chosen += ["東京", "天気", "研究", "会議室", "電車で", "学", "서울"]
    for text in rng.sample(latin, 5):
        words = text.lower().replace(".", "").split()
        start = rng.randrange(max(1, len(words) - 1))
        chosen.append('"' + " ".join(words[start : start + 2]) + '"')
    chosen += [f"{a} {b}" for a, b in zip(rng.sample(middle, 5), rng.sample(common, 5), strict=True)]
    chosen += ["python error", "holiday recipe"]
    return chosen


def _like_scan(db: Database, query: str) -> list[Any]:
    words = query.replace('"', "").split()
    where = " AND ".join("m.content LIKE ?" for _ in words)
    sql = (
        "SELECT m.id FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id "
        f"WHERE {where} AND m.status != 'streaming' AND c.deleted_at IS NULL ORDER BY m.seq DESC LIMIT 50"
    )
    return db.conn.execute(sql, [f"%{word}%" for word in words]).fetchall()


def measure_search(db: Database, seed: int, quick: bool) -> dict[str, Any]:
    """Time search() over the query set against a LIKE scan, median and p95."""
    chosen = queries(db, seed)
    for query in chosen:  # warm the page cache for both sides alike
        search(db, query)
        _like_scan(db, query)
    ours = [min(_timed(lambda q=query: search(db, q), 3)) for query in chosen]
    like = [min(_timed(lambda q=query: _like_scan(db, q), 1 if not quick else 2)) for query in chosen]
    hits = [len(search(db, query)) for query in chosen]
    figure = _figure("search_p95", _p95(ours), _p95(like), "ms", queries=len(chosen))
    figure["median"] = round(statistics.median(ours), 3)
    figure["baseline_median"] = round(statistics.median(like), 3)
    figure["queries_with_hits"] = sum(1 for count in hits if count)
    figure["slowest"] = sorted(zip(ours, chosen, strict=True), reverse=True)[:3]
    return figure


def measure_first_page(db: Database) -> dict[str, Any]:
    """Time the first page of the conversation list against the same query without its index."""
    repo = ConversationRepository(db)
    ours = statistics.median(_timed(lambda: repo.list(limit=50), 30))
    sql = (
        f"SELECT {COLUMNS} FROM conversations NOT INDEXED WHERE deleted_at IS NULL AND archived = 0 "
        "ORDER BY pinned DESC, updated_at DESC, seq DESC LIMIT 50"
    )

    def unindexed() -> list[Any]:
        return [conversation_from_row(row) for row in db.conn.execute(sql)]

    assert unindexed() == repo.list(limit=50)
    baseline = statistics.median(_timed(unindexed, 30))
    return _figure("first_page", ours, baseline, "ms", conversations=repo.count())


def _exchange_figures(database: Path, quick: bool) -> dict[str, Any] | None:
    module_path = Path(__file__).with_name("exchange.py")
    if not module_path.exists():
        return None
    spec = importlib.util.spec_from_file_location("bench_exchange", module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    measure = getattr(module, "measure_round_trip", None)
    return None if measure is None else measure(database, quick=quick)


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 conversations, 20,000 messages")
    parser.add_argument("--keep", type=Path, help="build the library in DIR and keep it")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    conversations, messages = (200, 20_000) if args.quick else (2_000, 200_000)

    # Timings on a busy machine include waiting for a core: say how busy it was.
    load = [round(value, 2) for value in os.getloadavg()] if hasattr(os, "getloadavg") else None
    folder = args.keep or Path(tempfile.mkdtemp(prefix="desktop-llm-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    if any((folder / name).exists() for name in (DATABASE_NAME, "repository.sqlite3", "executemany.sqlite3")):
        parser.error(f"{folder} already holds a benchmark library; choose an empty folder")
    try:
        library = populate(
            folder / DATABASE_NAME, conversations=conversations, messages=messages, seed=args.seed
        )
        sample = plan(max(20, conversations // 10), max(2_000, messages // 10), args.seed + 1)
        results: dict[str, Any] = {
            "benchmark": "storage",
            "quick": args.quick,
            "sqlite": sqlite3.sqlite_version,
            "load_average_at_start": load,
            "cpus": os.cpu_count(),
            "library": {
                "conversations": library.conversations,
                "messages": library.messages,
                "text_mb": round(library.text_bytes / 1e6, 1),
                "populate_seconds": round(library.seconds, 1),
                "populate_rate": round(library.messages / library.seconds),
            },
            "insert": measure_inserts(folder, sample),
        }
        with Database.open(library.database) as db:
            results["library"]["database_mb"] = round(library.database.stat().st_size / 1e6, 1)
            results["active_path"] = measure_active_path(db, library.long_conversation_id)
            results["search"] = measure_search(db, args.seed, args.quick)
            results["first_page"] = measure_first_page(db)
        exchange = _exchange_figures(library.database, args.quick)
        if exchange is not None:
            results["export_import"] = exchange
        print(json.dumps(results, indent=2, ensure_ascii=False))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
