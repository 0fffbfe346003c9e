"""Token counts: the shipped files are OpenAI's, counts match tiktoken's, nothing is downloaded."""

from __future__ import annotations

import hashlib
import inspect
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import tiktoken
import tiktoken.load
from hypothesis import given
from hypothesis import strategies as st
from tiktoken_ext import openai_public

from desktop_llm.core.encodings import (
    ENCODING_NAMES,
    TokenizerFileError,
    build_encoding,
    encoding_spec,
    get_encoding,
    preload_encodings,
)
from desktop_llm.core.model_names import parse_model_name
from desktop_llm.core.resources import resource_path
from desktop_llm.core.tokens import (
    MESSAGE_OVERHEAD,
    REPLY_PRIMING,
    TokenCount,
    TokenCounter,
    count_chat_tokens,
    count_tokens,
    counting_scheme,
)

CORPUS = {
    "empty": "",
    "english": "The quick brown fox jumps over the lazy dog. It's 3:45pm; they'll arrive at 10,000 ft.",
    "code": textwrap.dedent(
        """\
        def fib(n: int) -> int:
            \"\"\"Return the n-th Fibonacci number.\"\"\"
            a, b = 0, 1
            for _ in range(n):
                a, b = b, a + b  # tuple swap
            return a

        if __name__ == "__main__":\r\n    print({k: fib(k) for k in range(0x1F)})
        """
    ),
    "emoji": "Launch 🚀🚀 done ✅ — family: 👨‍👩‍👧‍👦, flags 🇫🇷🇯🇵, skin 👍🏽, keycap 1️⃣",
    "cjk": "東京都の天気は晴れです。北京欢迎你！서울은 한국의 수도입니다。日本語と中文と한국어。",
    "whitespace": "a" + " " * 500 + "b\n\n\n\t\t\t" + "\u3000" * 40 + "\r\n" * 30 + " \n " * 20,
    "mixed_scripts": "Ünïcödé naïve café; Ελληνικά; русский текст; العربية; עברית; हिन्दी; ไทย",
    "combining": "e\u0301 a\u0308 Z\u0351\u0352\u0357 " * 10,
    "numbers": "3.14159265358979 1234567890 000000 1e-10 -42 +7 1,000,000.00",
    "special_token_text": "Mentions <|endoftext|> and <|endofprompt|> and <|fim_prefix|> literally.",
    "long": "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 400,
    "surrogate": "broken \ud83d half",
}

OPENAI_FAMILIES = {
    "gpt-4o": "o200k_base",
    "gpt-4o-mini": "o200k_base",
    "chatgpt-4o-latest": "o200k_base",
    "gpt-4.1": "o200k_base",
    "gpt-4.1-nano": "o200k_base",
    "gpt-4.5-preview": "o200k_base",
    "gpt-5": "o200k_base",
    "gpt-5-mini": "o200k_base",
    "gpt-5.1": "o200k_base",
    "o1": "o200k_base",
    "o1-mini": "o200k_base",
    "o3": "o200k_base",
    "o3-mini": "o200k_base",
    "o4-mini": "o200k_base",
    "gpt-oss-120b": "o200k_base",
    "gpt-4": "cl100k_base",
    "gpt-4-turbo": "cl100k_base",
    "gpt-4-32k": "cl100k_base",
    "gpt-3.5-turbo": "cl100k_base",
    "gpt-35-turbo": "cl100k_base",
    "text-embedding-3-small": "cl100k_base",
    "text-embedding-3-large": "cl100k_base",
    "text-embedding-ada-002": "cl100k_base",
}


@dataclass(frozen=True)
class Msg:
    """A chat message as providers.Message has it, plus OpenAI's optional name."""

    role: str
    content: str
    name: str | None = None


def _pinned_hash(name: str) -> str:
    """Read the expected sha256 straight from the installed tiktoken_ext source."""
    source = inspect.getsource(openai_public.ENCODING_CONSTRUCTORS[name])
    (digest,) = re.findall(r'expected_hash="([0-9a-f]{64})"', source)
    return digest


@pytest.fixture(scope="session")
def tiktoken_reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tiktoken.Encoding]:
    """Build each encoding exactly as ``tiktoken.get_encoding`` does, from the shipped files.

    tiktoken's cache (``TIKTOKEN_CACHE_DIR``, file name = sha1 of the download URL) is seeded
    with our files, so tiktoken's unmodified constructor reads them instead of downloading.
    The encodings are not put in tiktoken's registry, so no other test can lean on them.
    """
    cache = tmp_path_factory.mktemp("tiktoken-cache")
    reference = {}
    for name in ENCODING_NAMES:
        url = encoding_spec(name).url
        shutil.copy(
            resource_path("tokenizers", f"{name}.tiktoken"), cache / hashlib.sha1(url.encode()).hexdigest()
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
            reference[name] = tiktoken.Encoding(**openai_public.ENCODING_CONSTRUCTORS[name]())
    return reference


@pytest.mark.parametrize("name", ENCODING_NAMES)
def test_shipped_files_are_byte_identical_to_openais(name: str) -> None:
    data = resource_path("tokenizers", f"{name}.tiktoken").read_bytes()
    assert hashlib.sha256(data).hexdigest() == _pinned_hash(name)
    assert encoding_spec(name).expected_hash == _pinned_hash(name)


@pytest.mark.parametrize("name", ENCODING_NAMES)
def test_encoding_matches_tiktokens_definition(name: str, tiktoken_reference) -> None:
    ours, theirs = get_encoding(name), tiktoken_reference[name]
    assert ours.name == theirs.name
    assert ours._pat_str == theirs._pat_str
    assert ours._special_tokens == theirs._special_tokens
    assert ours.n_vocab == theirs.n_vocab


@pytest.mark.parametrize("text_name", sorted(CORPUS))
@pytest.mark.parametrize("model", sorted(OPENAI_FAMILIES))
def test_openai_counts_are_exact(model: str, text_name: str, tiktoken_reference) -> None:
    text = CORPUS[text_name]
    expected = len(tiktoken_reference[OPENAI_FAMILIES[model]].encode_ordinary(text))
    assert count_tokens(text, model=model) == TokenCount(expected, exact=True)


@pytest.mark.parametrize("name", ENCODING_NAMES)
@given(text=st.text(max_size=300))
def test_random_text_encodes_like_tiktoken(name: str, text: str, tiktoken_reference) -> None:
    assert get_encoding(name).encode_ordinary(text) == tiktoken_reference[name].encode_ordinary(text)


@pytest.mark.parametrize(
    ("raw", "base", "tag", "fine_tuned"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o", None, False),
        ("openai/gpt-4o", "gpt-4o", None, False),
        ("GPT-4o-Mini", "gpt-4o-mini", None, False),
        ("gpt-4-0613", "gpt-4", None, False),
        ("gpt-3.5-turbo-0125", "gpt-3.5-turbo", None, False),
        ("o1-2024-12-17", "o1", None, False),
        ("ft:gpt-4o-mini:org::id", "gpt-4o-mini", None, True),
        ("ft:gpt-4o-mini-2024-07-18:acme:support-bot:9abcDEF", "gpt-4o-mini", None, True),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5", None, False),
        ("claude-3-7-sonnet-latest", "claude-3-7-sonnet", None, False),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4.5", None, False),
        ("models/gemini-2.5-pro", "gemini-2.5-pro", None, False),
        ("gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash-preview", None, False),
        ("gemini-2.5-pro-preview-05-06", "gemini-2.5-pro-preview", None, False),
        ("mistral-large-2411", "mistral-large", None, False),
        ("llama3.1:8b", "llama3.1", "8b", False),
        ("meta-llama/Llama-3.3-70B-Instruct", "llama-3.3-70b-instruct", None, False),
        ("  gpt-5  ", "gpt-5", None, False),
        ("text-embedding-ada-002", "text-embedding-ada-002", None, False),
    ],
)
def test_model_names_are_normalised(raw: str, base: str, tag: str | None, fine_tuned: bool) -> None:
    name = parse_model_name(raw)
    assert (name.base, name.tag, name.fine_tuned) == (base, tag, fine_tuned)


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-2024-08-06", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("azure/gpt-4.1-mini-2025-04-14", "o200k_base"),
        ("ft:gpt-4o-mini:org::id", "o200k_base"),
        ("ft:gpt-3.5-turbo-0613:org::id", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("gpt-4-1106-preview", "cl100k_base"),
        ("openai/gpt-oss-20b", "o200k_base"),
        ("gpt-oss:20b", "o200k_base"),
        ("gpt-5.1-codex", "o200k_base"),
    ],
)
def test_openai_names_with_prefixes_and_dates_count_exactly(
    model: str, encoding: str, tiktoken_reference
) -> None:
    assert counting_scheme(model).encoding == encoding
    text = CORPUS["code"]
    assert count_tokens(text, model) == TokenCount(
        len(tiktoken_reference[encoding].encode_ordinary(text)), True
    )


@pytest.mark.parametrize(
    "model",
    [
        "claude-sonnet-4-5",
        "gemini-2.5-pro",
        "llama3.1:8b",
        "gpt-40",
        "o10",
        "gpt-6",
        "",
        "  ",
        "/",
        "ft:",
        ":::",
    ],
)
def test_other_models_get_an_estimate_and_never_raise(model: str) -> None:
    text = CORPUS["english"] + CORPUS["cjk"]
    estimate = count_tokens(text, model)
    assert estimate.exact is False
    # The estimate leans high: never fewer tokens than o200k_base gives.
    assert estimate.count >= len(get_encoding("o200k_base").encode_ordinary(text))
    assert count_tokens("", model) == TokenCount(0, False)


def test_claude_estimates_lean_higher_than_other_estimates() -> None:
    text = CORPUS["long"]
    assert count_tokens(text, "claude-opus-4-5").count > count_tokens(text, "gemini-2.5-pro").count


def test_chat_overhead_follows_openais_format(tiktoken_reference) -> None:
    messages = [
        Msg("system", "You are terse."),
        Msg("user", "Hi there", name="alice"),
        Msg("assistant", "Hello."),
        Msg("user", CORPUS["cjk"]),
    ]
    enc = tiktoken_reference["o200k_base"]
    expected = REPLY_PRIMING
    for message in messages:
        expected += MESSAGE_OVERHEAD + len(enc.encode(message.role)) + len(enc.encode(message.content))
        if message.name:
            expected += len(enc.encode(message.name)) + 1
    assert count_chat_tokens(messages, "gpt-4o") == TokenCount(expected, True)
    assert count_chat_tokens([], "gpt-4o") == TokenCount(REPLY_PRIMING, True)
    assert count_chat_tokens(messages, "claude-haiku-4-5").exact is False


def test_counter_recounts_only_the_new_message() -> None:
    history = [Msg("user" if i % 2 else "assistant", f"message {i} " * (i % 7 + 1)) for i in range(200)]
    counter = TokenCounter()
    first = counter.count_chat(history, "gpt-4o")
    assert first == count_chat_tokens(history, "gpt-4o")
    misses = counter.misses
    history.append(Msg("user", "one brand new question?"))
    second = counter.count_chat(history, "gpt-4o")
    assert second == count_chat_tokens(history, "gpt-4o")
    assert counter.misses == misses + 1  # the new text; roles and old texts are cache hits
    assert second.count > first.count


def test_counter_cache_is_per_encoding_and_bounded() -> None:
    counter = TokenCounter(max_entries=2)
    text = CORPUS["code"]
    assert counter.count(text, "gpt-4o") == count_tokens(text, "gpt-4o")
    assert counter.count(text, "gpt-4") == count_tokens(text, "gpt-4")  # another encoding: a miss
    assert counter.count(text, "gpt-4o-mini") == count_tokens(text, "gpt-4o-mini")  # same encoding: a hit
    assert (counter.hits, counter.misses) == (1, 2)
    assert counter.count(text, "claude-sonnet-4") == count_tokens(text, "claude-sonnet-4")  # scaled: a miss
    one_message = count_chat_tokens([Msg("user", text)], "gpt-4o").count - REPLY_PRIMING
    assert counter.count_message("user", text, "gpt-4o") == TokenCount(one_message, True)
    counter.count(CORPUS["surrogate"], "gpt-4o")  # a lone surrogate still hashes
    assert len(counter) == 2
    with pytest.raises(ValueError, match="max_entries"):
        TokenCounter(max_entries=0)


def test_token_counts_add_up() -> None:
    assert TokenCount(3, True) + TokenCount(4, True) == TokenCount(7, True)
    assert TokenCount(3, True) + TokenCount(4, False) == TokenCount(7, False)


def test_a_damaged_file_is_refused(tmp_path: Path) -> None:
    damaged = tmp_path / "o200k_base.tiktoken"
    data = bytearray(resource_path("tokenizers", "o200k_base.tiktoken").read_bytes())
    data[100] ^= 0x01
    damaged.write_bytes(bytes(data))
    with pytest.raises(TokenizerFileError, match="damaged"):
        build_encoding("o200k_base", damaged)


def test_only_shipped_encodings_can_be_described() -> None:
    with pytest.raises(KeyError, match="o200k_base"):
        encoding_spec("r50k_base")


def test_downloading_is_impossible_in_tests() -> None:
    # conftest's guard raises an AssertionError on connect; without DNS it fails even earlier.
    with pytest.raises((AssertionError, OSError)):
        tiktoken.load.read_file(encoding_spec("o200k_base").url)


def test_loading_sets_no_process_wide_cache_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)
    before = dict(os.environ)
    preload_encodings()
    count_tokens("hello", "gpt-4o")
    build_encoding("cl100k_base")
    assert "TIKTOKEN_CACHE_DIR" not in os.environ
    assert "DATA_GYM_CACHE_DIR" not in os.environ
    assert dict(os.environ) == before


def test_a_fresh_offline_process_counts_exactly(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import socket

        def refuse(*args, **kwargs):
            raise OSError("network is off in this test")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        from desktop_llm.core.tokens import count_tokens
        for model in ("gpt-4o-2024-08-06", "gpt-4", "o3-mini"):
            result = count_tokens("hello offline world", model=model)
            assert result.exact and result.count > 0, (model, result)
        print("ok")
        """
    )
    # PYTHONPATH is inherited: the source tree in a checkout, the installed wheel in CI.
    env = {k: v for k, v in os.environ.items() if k not in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR")}
    env["TMPDIR"] = str(tmp_path)  # an empty tiktoken temp cache: the shipped file must be read
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
