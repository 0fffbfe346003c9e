"""Count tokens offline: exactly for OpenAI models, as a documented estimate for everything else.

OpenAI models are counted with their real tokenizer (``o200k_base`` or ``cl100k_base``, loaded
from the shipped files by ``desktop_llm.core.encodings``), so ``exact`` is True. Other models
(Claude, Gemini, Llama, Qwen, Mistral, DeepSeek, anything unknown) get an estimate with
``exact=False``: the ``o200k_base`` count times a factor, rounded up. We scale a real BPE count
rather than divide characters by 3.5 because characters per token swing from ~4 for English to
~1 for Chinese and to ~2 for code, while modern tokenizers' counts stay within a few tens of
percent of ``o200k_base``'s on all of them. The factors lean high on purpose, because the counts
drive context fitting, where counting too many costs an old message and counting too few costs
a rejected request:

- Claude 1.25: Anthropic's tokenizer is not public; it produces roughly 15-30 % more tokens
  than ``o200k_base`` on prose and more on code.
- Everything else 1.1: Gemini/Gemma (256k SentencePiece vocabulary), Llama 3 (128k, derived from
  ``cl100k_base``), Qwen, Mistral's Tekken and DeepSeek land within about 10 % of ``o200k_base``.

Names are matched after ``desktop_llm.core.model_names`` strips provider prefixes, ``ft:``
wrappers, tags and date stamps. Nothing here touches the network or raises for an unknown
model. The first count with an encoding loads its tokenizer file (a fraction of a second, and
tiktoken itself): the app counts off the Qt thread, when a model that needs it is first metered.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from desktop_llm.core.encodings import get_encoding, preload_encodings
from desktop_llm.core.model_names import normalize_model_name

__all__ = [
    "ChatMessageLike",
    "CountingScheme",
    "TokenCount",
    "TokenCounter",
    "count_chat_tokens",
    "count_tokens",
    "counting_scheme",
    "preload_encodings",
]

O200K = "o200k_base"
CL100K = "cl100k_base"

# Name prefixes, most specific first ("gpt-4.1" before "gpt-4"); a prefix matches the whole
# name or a name that continues with "-", "." or "_" ("gpt-5" matches "gpt-5.1" and "gpt-5-mini").
_OPENAI_ENCODINGS: tuple[tuple[str, str], ...] = (
    ("gpt-4o", O200K),
    ("chatgpt-4o", O200K),
    ("gpt-4.1", O200K),
    ("gpt-4.5", O200K),
    ("gpt-5", O200K),
    ("o1", O200K),
    ("o3", O200K),
    ("o4", O200K),
    ("codex-mini", O200K),
    ("computer-use-preview", O200K),
    ("omni-moderation", O200K),
    # o200k_harmony = o200k_base's ranks and regex plus chat-format special tokens, so plain
    # text counts the same.
    ("gpt-oss", O200K),
    ("gpt-4", CL100K),
    ("gpt-3.5", CL100K),
    ("gpt-35", CL100K),  # Azure deployment names
    ("text-embedding-3", CL100K),
    ("text-embedding-ada-002", CL100K),
    ("davinci-002", CL100K),
    ("babbage-002", CL100K),
)
_ESTIMATE_FACTORS: tuple[tuple[str, float], ...] = (("claude", 1.25),)
DEFAULT_ESTIMATE_FACTOR = 1.1

# OpenAI's chat format (the OpenAI cookbook's num_tokens_from_messages): every message is
# wrapped in 3 tokens, a name costs 1 more, and the reply is primed with 3.
MESSAGE_OVERHEAD = 3
NAME_OVERHEAD = 1
REPLY_PRIMING = 3


@dataclass(frozen=True)
class TokenCount:
    """A number of tokens, and whether it came from the model's real tokenizer."""

    count: int
    exact: bool

    def __add__(self, other: TokenCount) -> TokenCount:
        return TokenCount(self.count + other.count, self.exact and other.exact)


@dataclass(frozen=True)
class CountingScheme:
    """How one model's tokens are counted: an encoding's count times ``factor``, rounded up."""

    encoding: str
    factor: float = 1.0
    exact: bool = True

    def scale(self, raw: int) -> int:
        """Return the scheme's count for ``raw`` tokens of its encoding."""
        return raw if self.exact else math.ceil(raw * self.factor)


def _prefix_matches(name: str, prefix: str) -> bool:
    return name == prefix or (name.startswith(prefix) and name[len(prefix)] in "-._")


def counting_scheme(model: str) -> CountingScheme:
    """Return how ``model``'s tokens are counted (never raises; unknown models get an estimate)."""
    name = normalize_model_name(model)
    for prefix, encoding in _OPENAI_ENCODINGS:
        if _prefix_matches(name, prefix):
            return CountingScheme(encoding)
    factor = next((f for key, f in _ESTIMATE_FACTORS if key in name), DEFAULT_ESTIMATE_FACTOR)
    return CountingScheme(O200K, factor=factor, exact=False)


def _encode_count(text: str, encoding: str) -> int:
    # encode_ordinary: "<|endoftext|>" typed by a user is text, as the APIs treat it.
    return len(get_encoding(encoding).encode_ordinary(text)) if text else 0


def count_tokens(text: str, model: str) -> TokenCount:
    """Return the number of tokens ``text`` takes for ``model``, without chat-format overhead."""
    scheme = counting_scheme(model)
    return TokenCount(scheme.scale(_encode_count(text, scheme.encoding)), scheme.exact)


class ChatMessageLike(Protocol):
    """Anything with a role and a content string, such as ``desktop_llm.providers.Message``."""

    @property
    def role(self) -> str: ...

    @property
    def content(self) -> str: ...


def _message_tokens(role: str, content: str, name: str | None, scheme: CountingScheme) -> int:
    parts = [role, content] + ([name] if name else [])
    tokens = sum(scheme.scale(_encode_count(part, scheme.encoding)) for part in parts)
    return MESSAGE_OVERHEAD + tokens + (NAME_OVERHEAD if name else 0)


def count_chat_tokens(messages: Iterable[ChatMessageLike], model: str) -> TokenCount:
    """Return the prompt tokens of a chat request: every message with its overhead, plus the priming.

    For OpenAI models this is the count the API reports as ``prompt_tokens`` for plain text
    messages; for others it is an estimate using the same format.
    """
    scheme = counting_scheme(model)
    total = REPLY_PRIMING + sum(
        _message_tokens(m.role, m.content, getattr(m, "name", None), scheme) for m in messages
    )
    return TokenCount(total, scheme.exact)


# What the counter remembers one count by: the scheme, the message's role and name (None for
# plain text) and a digest of the text, so the text itself is not kept alive by the cache.
_Key = tuple[str, float, str | None, str | None, bytes]
_Item = tuple[str | None, str | None, str]  # role, name, text


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class TokenCounter:
    """Count tokens with an LRU cache keyed by content hash and counting scheme.

    Recounting a conversation after one new message costs only the new message: every other
    one is a hash and a dictionary hit. Safe to use from several threads.

    Args:
        max_entries: how many distinct texts to remember (least recently used go first).
    """

    def __init__(self, max_entries: int = 20_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1.")
        self._max_entries = max_entries
        self._cache: OrderedDict[_Key, int] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._cache)

    def _counts(self, scheme: CountingScheme, items: Sequence[_Item]) -> list[int]:
        keys = [(scheme.encoding, scheme.factor, role, name, _digest(text)) for role, name, text in items]
        with self._lock:  # once per batch, not per message: a 1,000-message recount takes ~1 ms
            found = [self._cache.get(key) for key in keys]
            for key, value in zip(keys, found, strict=True):
                if value is not None:
                    self._cache.move_to_end(key)
        counts, new = [], {}
        for key, value, (role, name, text) in zip(keys, found, items, strict=True):
            if value is None:  # counted outside the lock: encoding a long text takes time
                value = new[key] = (
                    scheme.scale(_encode_count(text, scheme.encoding))
                    if role is None
                    else _message_tokens(role, text, name, scheme)
                )
            counts.append(value)
        with self._lock:
            self.hits += len(keys) - len(new)
            self.misses += len(new)
            self._cache.update(new)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        return counts

    def count(self, text: str, model: str) -> TokenCount:
        """Return ``count_tokens(text, model)``, from the cache when this text was seen before."""
        scheme = counting_scheme(model)
        return TokenCount(self._counts(scheme, [(None, None, text)])[0], scheme.exact)

    def count_message(self, role: str, content: str, model: str, name: str | None = None) -> TokenCount:
        """Return one message's tokens as sent in a chat request: its text plus the format's overhead."""
        scheme = counting_scheme(model)
        return TokenCount(self._counts(scheme, [(role, name, content)])[0], scheme.exact)

    def count_chat(self, messages: Iterable[ChatMessageLike], model: str) -> TokenCount:
        """Return ``count_chat_tokens(messages, model)`` using the cache."""
        scheme = counting_scheme(model)
        items = [(m.role, getattr(m, "name", None), m.content) for m in messages]
        return TokenCount(REPLY_PRIMING + sum(self._counts(scheme, items)), scheme.exact)
