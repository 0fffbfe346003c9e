"""Run ``desktop-llm batch``: template batches from scripts, locally or on a provider's batch engine.

``batch run TEMPLATE --input rows.csv|rows.jsonl --provider NAME --model M --output results.jsonl``
runs every row as the window's batch run does (``--concurrency``, ``--rpm``); with ``--remote``
it submits the rows to the provider's batch engine (about half price, results within 24 hours)
and prints the batch id at once, or follows it to the end with ``--wait`` (a progress line on a
terminal). ``batch list``, ``batch status ID``, ``batch fetch ID --output FILE [--wait]`` and
``batch cancel ID`` work on submitted batches, which live in the database: a batch outlives the
command that sent it. Results are one JSON object a line: ``{"row", "input", "output", "error",
"cached", "usage"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from desktop_llm.core.paths import AppPaths, resolve_paths

__all__ = ["add_batch_arguments", "run_batch"]


class BatchCommandError(Exception):
    """A problem with the batch command as given, or one the provider reported; shown as is."""


def add_batch_arguments(
    parser: argparse.ArgumentParser, add_global: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Add ``run``, ``list``, ``status``, ``fetch`` and ``cancel`` to the ``batch`` parser."""
    actions = parser.add_subparsers(dest="batch_action", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="run a template over every row of a file")
    run.add_argument("template", metavar="TEMPLATE", help="the template's name (or id)")
    run.add_argument("--input", required=True, metavar="FILE", help="rows.csv, rows.tsv or rows.jsonl")
    run.add_argument(
        "--provider",
        required=True,
        metavar="NAME",
        help="a provider entry's name, or a kind set in the environment",
    )
    run.add_argument("--model", required=True, metavar="M", help="the model to ask")
    run.add_argument(
        "--remote",
        action="store_true",
        help="send to the provider's batch service (about half price, within 24 h)",
    )
    run.add_argument(
        "--wait", action="store_true", help="with --remote: wait for the results instead of returning the id"
    )
    run.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="local: requests at once (default 4)"
    )
    run.add_argument("--rpm", type=int, metavar="N", help="local: at most N requests a minute")
    run.add_argument("--temperature", type=float, metavar="T", help="sent with every request")
    run.add_argument("--max-tokens", type=int, metavar="N", help="longest reply per row")
    run.add_argument("--output", metavar="FILE", help="where the results go (JSONL)")
    actions.add_parser("list", help="list submitted batches; one JSON object a line")
    status = actions.add_parser("status", help="ask the provider how a batch stands; one JSON object")
    status.add_argument("id", metavar="ID")
    fetch = actions.add_parser("fetch", help="write a finished batch's results")
    fetch.add_argument("id", metavar="ID")
    fetch.add_argument("--output", required=True, metavar="FILE", help="where the results go (JSONL)")
    fetch.add_argument("--wait", action="store_true", help="wait until the batch has finished")
    cancel = actions.add_parser("cancel", help="cancel a batch; rows already answered are kept")
    cancel.add_argument("id", metavar="ID")
    for action in (run, actions.choices["list"], status, fetch, cancel):
        add_global(action)
        # How often to ask the provider, in seconds (growing to 10 min); for tests and impatient people.
        action.add_argument("--poll", type=float, default=15.0, help=argparse.SUPPRESS)


@dataclass
class _Context:
    paths: AppPaths
    db: Any
    directory: Any
    service: Any


def run_batch(args: argparse.Namespace, out: TextIO) -> int:
    """Run one ``batch`` action; raise ``BatchCommandError`` for a problem to show."""
    return asyncio.run(_run(args, out))


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    from desktop_llm.providers import ProviderError
    from desktop_llm.secrets import SecretsError
    from desktop_llm.services.batch_io import BatchInputError
    from desktop_llm.services.provider_directory import UnknownProvider
    from desktop_llm.services.remote_batches import BatchStillSubmitting

    actions = {"run": _run_batch, "list": _list, "status": _status, "fetch": _fetch, "cancel": _cancel}
    try:
        async with _context(args) as context:
            return await actions[args.batch_action](args, context, out)
    except (
        ProviderError,
        SecretsError,
        BatchInputError,
        UnknownProvider,
        BatchStillSubmitting,
        ValueError,
    ) as error:
        raise BatchCommandError(str(error)) from error


@asynccontextmanager
async def _context(args: argparse.Namespace) -> AsyncIterator[_Context]:
    from desktop_llm.core.catalog import load_catalog
    from desktop_llm.providers.batches import batch_client
    from desktop_llm.secrets import KeyStore
    from desktop_llm.services.provider_directory import ProviderDirectory
    from desktop_llm.services.remote_batches import PollPolicy, RemoteBatchService
    from desktop_llm.storage.executor import DatabaseThread
    from desktop_llm.storage.response_cache import SqliteResponseCache

    paths = resolve_paths(args.data_dir).ensure()
    async with DatabaseThread(paths.database) as db:
        directory = ProviderDirectory(db, await asyncio.to_thread(KeyStore))

        async def client_for(entry_id: str) -> Any:
            return batch_client(await directory.provider(entry_id))

        service = RemoteBatchService(
            db,
            client_for,
            work_dir=paths.cache / "batches",
            cache=SqliteResponseCache(db),
            catalog=await asyncio.to_thread(load_catalog),
            poll=PollPolicy(first=args.poll, longest=max(args.poll, 600.0)),
        )
        try:
            yield _Context(paths, db, directory, service)
        finally:
            await directory.aclose()


# -- run -------------------------------------------------------------------------------------------


async def _run_batch(args: argparse.Namespace, context: _Context, out: TextIO) -> int:
    from desktop_llm.providers.batches import supports_batches
    from desktop_llm.services.batch_io import read_batch_file

    if args.concurrency < 1:
        raise BatchCommandError("--concurrency must be at least 1")
    if args.output is None and not (args.remote and not args.wait):
        raise BatchCommandError(
            "give --output FILE for the results (or --remote without --wait to get an id)"
        )
    entry = await _entry(context, args.provider)
    template, template_id, version = await _template(context, args.template)
    batch = await asyncio.to_thread(read_batch_file, Path(args.input), template)
    if not args.remote:
        return await _run_locally(args, context, entry, template, batch, out)
    if not supports_batches(entry.kind):
        raise BatchCommandError(
            f"{entry.name} has no batch service; run without --remote to run the rows here"
        )
    from desktop_llm.services.remote_batches import BatchSubmission

    submission = BatchSubmission(
        entry.id,
        entry.kind,
        args.model,
        template,
        batch.rows,
        batch.columns,
        template_id=template_id,
        template_version=version,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
    )
    record = await context.service.submit(submission)
    out.write(record.id + "\n")
    out.flush()
    if not args.wait:
        sys.stderr.write(
            f"Submitted {record.total} rows to {entry.name}. "
            f"Follow it with: desktop-llm batch status {record.id}\n"
        )
        return 0
    record = await context.service.wait(record.id, _progress_line)
    _end_progress()
    await _write_stored(context, record.id, Path(args.output))
    return 0


async def _run_locally(
    args: argparse.Namespace, context: _Context, entry: Any, template: Any, batch: Any, out: TextIO
) -> int:
    from desktop_llm.services.batch import BatchProgress, BatchRunner
    from desktop_llm.services.rate_limit import RateLimiter
    from desktop_llm.storage.response_cache import SqliteResponseCache

    if args.rpm is not None and args.rpm < 1:
        raise BatchCommandError("--rpm must be at least 1")
    provider = await context.directory.provider(entry.id)

    def progress(report: BatchProgress) -> None:
        _progress_line_text(f"{report.finished} of {report.total} rows ({report.failed} failed)")

    runner = BatchRunner(
        provider,
        template,
        batch.rows,
        model=args.model,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        concurrency=args.concurrency,
        rate_limiter=RateLimiter(args.rpm) if args.rpm else None,
        cache=SqliteResponseCache(context.db),
        cache_scope=entry.id,
        on_progress=progress,
    )
    results = await runner.run()
    _end_progress()
    lines = (_line(index, row, results.get(index)) for index, row in enumerate(batch.rows))
    await asyncio.to_thread(_write_lines, Path(args.output), lines)
    failed = sum(not result.ok for result in results.values())
    sys.stderr.write(f"{len(batch.rows)} rows: {len(batch.rows) - failed} done, {failed} failed.\n")
    return 0


# -- submitted batches ---------------------------------------------------------------------------


async def _list(args: argparse.Namespace, context: _Context, out: TextIO) -> int:
    for record in await context.service.list():
        out.write(json.dumps(_summary(record), ensure_ascii=False) + "\n")
    return 0


async def _status(args: argparse.Namespace, context: _Context, out: TextIO) -> int:
    record = await context.service.refresh(args.id)
    cost = await context.service.cost(record.id)
    summary = _summary(record) | {"cost_usd": None if cost is None else float(round(cost, 6))}
    out.write(json.dumps(summary, ensure_ascii=False) + "\n")
    return 0


async def _fetch(args: argparse.Namespace, context: _Context, out: TextIO) -> int:
    record = await context.service.refresh(args.id)
    if not record.finished and args.wait:
        record = await context.service.wait(args.id, _progress_line)
        _end_progress()
    if not record.finished:
        raise BatchCommandError(
            f"batch {record.id} is still {record.state}: {record.done + record.failed} of {record.total}"
            " rows have finished. Try again later, or add --wait"
        )
    await _write_stored(context, record.id, Path(args.output))
    return 0


async def _cancel(args: argparse.Namespace, context: _Context, out: TextIO) -> int:
    record = await context.service.cancel(args.id)
    out.write(json.dumps(_summary(record), ensure_ascii=False) + "\n")
    return 0


# -- shared --------------------------------------------------------------------------------------


async def _entry(context: _Context, name: str) -> Any:
    entries = await context.directory.entries()
    wanted = name.casefold()
    for entry in entries:
        if entry.id == name or entry.name.casefold() == wanted:
            return entry
    for entry in entries:
        if entry.from_environment and entry.kind == wanted:
            return entry
    known = (
        ", ".join(sorted({entry.name for entry in entries}))
        or "none (add one in Settings, or set OPENAI_API_KEY)"
    )
    raise BatchCommandError(f"there is no provider {name!r}; providers: {known}")


async def _template(context: _Context, name: str) -> tuple[Any, str, int]:
    from desktop_llm.services.templates import TemplateService

    templates = TemplateService(context.db)
    await templates.seed_builtins()
    wanted = name.casefold()
    for summary in await templates.list():
        if summary.id == name or summary.name.casefold() == wanted:
            loaded = await templates.load(summary.id)
            return loaded.template(), loaded.id, loaded.record.default_version
    raise BatchCommandError(f"there is no template {name!r}; see the Templates panel for their names")


async def _write_stored(context: _Context, batch_id: str, target: Path) -> None:
    from desktop_llm.services.remote_batches import row_result

    rows = await context.service.rows(batch_id)
    lines = (_line(row.row, row.input, row_result(row)) for row in rows)
    await asyncio.to_thread(_write_lines, target, lines)
    failed = sum(row.status == "failed" for row in rows)
    sys.stderr.write(f"Wrote {len(rows)} rows to {target} ({failed} failed).\n")


def _line(index: int, values: Mapping[str, str], result: Any) -> dict[str, Any]:
    usage = None if result is None else result.usage
    return {
        "row": index + 1,
        "input": dict(values),
        "output": None if result is None or not (result.ok or result.text) else result.text,
        "error": None if result is None else result.error,
        "cached": False if result is None else result.cached,
        "usage": None
        if usage is None
        else {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cached_input_tokens": usage.cached_input_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
        },
    }


def _write_lines(target: Path, lines: Iterable[dict[str, Any]]) -> None:
    from desktop_llm.storage.atomic_write import atomic_text_file

    with atomic_text_file(target) as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _summary(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "state": record.state,
        "provider": record.provider_id,
        "model": record.model,
        "template": record.template_name,
        "total": record.total,
        "done": record.done,
        "failed": record.failed,
        "pending": record.pending,
        "submitted_at": record.submitted_at,
        "finished_at": record.finished_at,
        "error": record.error,
    }


def _progress_line(record: Any) -> None:
    _progress_line_text(
        f"{record.state}: {record.done + record.failed} of {record.total} rows ({record.failed} failed)"
    )


def _progress_line_text(text: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r{text}\x1b[K")
        sys.stderr.flush()


def _end_progress() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\n")
