"""Run ``desktop-llm ask``: a message and its files to a model, the reply streamed to stdout, saved.

The same chat service as the window sends it (context fitting, what each model gets for its
attachments, saving the reply as it streams), so a conversation started here opens in the GUI
and ``--conversation ID`` continues one from there. The conversation id goes to stderr, so
stdout is the reply alone. Files are read and checked before anything is saved or sent: a
missing file, a type no model takes or an image for a model that cannot see is one line on
stderr and a non-zero exit. New conversations are titled with their first words (no second
request to the model for a title).
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from desktop_llm.core.paths import resolve_paths
from desktop_llm.core.tokens import TokenCounter
from desktop_llm.providers import Attachment
from desktop_llm.secrets import KeyStore
from desktop_llm.services.attachment_prep import AttachmentError, AttachmentRefused, read_attachments
from desktop_llm.services.chat import ChatService
from desktop_llm.services.chat_attachments import ChatAttachments
from desktop_llm.services.chat_events import ChatEvent, StreamDelta
from desktop_llm.services.context_planner import ContextPlanner
from desktop_llm.services.conversations import KEEP, ConversationService
from desktop_llm.services.provider_directory import ProviderDirectory, ProviderEntry
from desktop_llm.services.usage import open_catalog
from desktop_llm.storage.errors import NotFound
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.records import Conversation, StoredMessage


class AskError(Exception):
    """The question cannot be asked as given; the message says why (one line)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``ask``'s options to its parser."""
    parser.add_argument(
        "--provider", metavar="NAME", help="a provider entry's name, or openai, anthropic, gemini, ollama"
    )
    parser.add_argument(
        "--model", metavar="M", help="the model (default: the conversation's, else the provider's)"
    )
    parser.add_argument("--system", metavar="TEXT", help="the system prompt")
    parser.add_argument(
        "-a",
        "--attach",
        action="append",
        default=[],
        metavar="FILE",
        help="attach a file (repeat for several)",
    )
    parser.add_argument("--conversation", metavar="ID", help="continue this conversation")
    parser.add_argument("prompt", metavar="PROMPT", help="what to ask")


@dataclass(frozen=True)
class _Target:
    """Where the message goes: an existing conversation, or the settings of a new one."""

    conversation: Conversation | None
    provider_id: str
    model: str


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Ask, stream the reply to ``out`` and return the exit status (1 when the reply failed)."""
    return asyncio.run(_ask(args, out, err))


async def _ask(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    attachments = await _read_files(args.attach)
    paths = resolve_paths(args.data_dir)
    paths.ensure()
    db = DatabaseThread(paths.database)

    def listener(event: ChatEvent) -> None:
        if isinstance(event, StreamDelta) and event.text:
            out.write(event.text)
            out.flush()

    directory: ProviderDirectory | None = None
    try:
        keystore = await asyncio.to_thread(KeyStore)
        directory = ProviderDirectory(db, keystore, environ=os.environ)
        catalog, _problem = await asyncio.to_thread(open_catalog, paths.data / "models.json")
        chat = ChatService(
            db,
            directory,
            listener,
            planner=ContextPlanner(TokenCounter(), catalog),
            auto_titles=lambda: False,
            attachments=ChatAttachments(db, directory, catalog),
        )
        conversations = ConversationService(db)
        target = await _target(args, directory, conversations)
        conversation = await _conversation(args, target, conversations)
        err.write(f"{conversation.id}\n")
        err.flush()
        try:
            reply = await chat.send(conversation.id, args.prompt, attachments)
        except AttachmentRefused as refused:
            if target.conversation is None:  # nothing was said in it: leave no empty conversation behind
                await conversations.purge(conversation.id)
            raise AskError(str(refused)) from refused
        await chat.wait_for_titles()
        return _finish(reply, out)
    finally:
        if directory is not None:
            await directory.aclose()
        await db.aclose()


async def _read_files(names: Sequence[str]) -> list[Attachment]:
    try:
        return await read_attachments([Path(name) for name in names])
    except AttachmentError as error:
        raise AskError(str(error)) from error


def _finish(reply: StoredMessage, out: TextIO) -> int:
    if reply.content and not reply.content.endswith("\n"):
        out.write("\n")
        out.flush()
    if reply.status == "complete":
        return 0
    raise AskError(reply.error or f"the reply ended as {reply.status}")


async def _target(
    args: argparse.Namespace, directory: ProviderDirectory, conversations: ConversationService
) -> _Target:
    existing = None
    if args.conversation:
        try:
            existing = await conversations.get(args.conversation)
        except NotFound as error:
            raise AskError(f"there is no conversation {args.conversation}") from error
    entries = await directory.entries()
    if args.provider:
        entry = _entry_named(args.provider, entries)
    elif existing is not None and existing.provider_id:
        found = next((e for e in entries if e.id == existing.provider_id), None)
        if found is None:
            raise AskError("this conversation's provider was removed; choose one with --provider")
        entry = found
    elif entries:
        entry = entries[0]
    else:
        raise AskError(
            "no provider is set up: set OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_API_KEY or OLLAMA_HOST, "
            "or add one in the app's Settings"
        )
    model = args.model or (
        existing.model if existing is not None and entry.id == existing.provider_id else None
    )
    model = model or await directory.default_model(entry)
    if not model:
        raise AskError(f"{entry.name} has no models to choose from; give one with --model")
    return _Target(existing, entry.id, model)


def _entry_named(name: str, entries: Sequence[ProviderEntry]) -> ProviderEntry:
    wanted = name.strip().casefold()
    rules: tuple[Callable[[ProviderEntry], bool], ...] = (
        lambda e: e.name.casefold() == wanted,
        lambda e: e.id == name,
        lambda e: e.from_environment and e.kind == wanted,
        lambda e: e.kind == wanted,
    )
    for matches in rules:
        found = next((e for e in entries if matches(e)), None)
        if found is not None:
            return found
    known = ", ".join(sorted({e.name for e in entries} | {e.kind for e in entries if e.from_environment}))
    raise AskError(f"no provider named {name!r}" + (f"; known: {known}" if known else "; none is set up"))


async def _conversation(
    args: argparse.Namespace, target: _Target, conversations: ConversationService
) -> Conversation:
    existing = target.conversation
    if existing is None:
        return await conversations.create(
            provider_id=target.provider_id, model=target.model, system_prompt=args.system or ""
        )
    moved = (existing.provider_id, existing.model) != (target.provider_id, target.model)
    if not moved and args.system is None:
        return existing
    return await conversations.update_settings(
        existing.id,
        provider_id=target.provider_id if moved else KEEP,
        model=target.model if moved else KEEP,
        system_prompt=args.system if args.system is not None else KEEP,
    )
