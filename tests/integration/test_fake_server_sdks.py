"""Prove the fake provider server is faithful: the official SDKs read exactly what was scripted.

Each SDK (openai, anthropic, google-genai, ollama) streams and completes against the server and
must see the scripted text, reasoning, usage and finish reason, list models across pages, and
raise its own error class for a scripted error status. Our own providers are compared with the
same scripts elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import anthropic
import ollama
import openai
import pytest
from fakes.provider_server import ProviderServer, Reply
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

TEXT = "Hello there, this is a scripted reply — with ünïcode ✓."
REASONING = "Let me think about it first."
USAGE = {"input_tokens": 40, "output_tokens": 25, "cached_input_tokens": 12, "reasoning_tokens": 7}
PROMPT = [{"role": "user", "content": "Say hello to the tests"}]


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as running:
        yield running


# -- OpenAI ----------------------------------------------------------------------------------


@pytest.fixture
def oai(server: ProviderServer) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=server.url_for("openai"), api_key="k", max_retries=0)
    yield client
    client.close()


def test_openai_stream_text_reasoning_usage_and_finish(server: ProviderServer, oai: openai.OpenAI) -> None:
    server.push(Reply(text=TEXT, reasoning=REASONING, usage=USAGE, tokens_per_event=2, write_size=5))
    stream = oai.chat.completions.create(
        model="gpt-4o-mini", messages=PROMPT, stream=True, stream_options={"include_usage": True}
    )
    text, reasoning, finishes, usages = "", "", [], []
    for chunk in stream:
        assert chunk.model == "gpt-4o-mini"
        if chunk.usage is not None:
            usages.append(chunk.usage)
            assert chunk.choices == []
        for choice in chunk.choices:
            text += choice.delta.content or ""
            reasoning += getattr(choice.delta, "reasoning_content", None) or ""
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
    assert (text, reasoning, finishes) == (TEXT, REASONING, ["stop"])
    [usage] = usages
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (40, 25, 65)
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 12
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 7
    assert server.chat_requests[0].json["stream_options"] == {"include_usage": True}


def test_openai_stream_without_include_usage_sends_no_usage(
    server: ProviderServer, oai: openai.OpenAI
) -> None:
    server.push(Reply(text="a b c"))
    chunks = list(oai.chat.completions.create(model="m", messages=PROMPT, stream=True))
    assert all(chunk.usage is None for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "a b c"


def test_openai_complete_with_length_finish_and_default_usage(
    server: ProviderServer, oai: openai.OpenAI
) -> None:
    server.push(Reply(text="one two three", reasoning="hmm well", finish="length", model="gpt-4o-2024-08-06"))
    completion = oai.chat.completions.create(model="gpt-4o", messages=PROMPT)
    choice = completion.choices[0]
    assert choice.message.content == "one two three"
    assert getattr(choice.message, "reasoning_content", None) == "hmm well"
    assert choice.finish_reason == "length"
    assert completion.model == "gpt-4o-2024-08-06"
    assert completion.usage is not None
    # DEFAULT usage: input = words of the prompt, output = tokens sent (reasoning included).
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 5)
    assert completion.usage.completion_tokens_details.reasoning_tokens == 2


def test_openai_usage_none_sends_no_usage(server: ProviderServer, oai: openai.OpenAI) -> None:
    server.push(Reply(usage=None))
    assert oai.chat.completions.create(model="m", messages=PROMPT).usage is None


def test_openai_lists_models(server: ProviderServer, oai: openai.OpenAI) -> None:
    server.models = ["gpt-4o", "gpt-4o-mini", "o3"]
    server.page_size = 1  # /v1/models is not paginated: every model comes at once
    assert [model.id for model in oai.models.list()] == ["gpt-4o", "gpt-4o-mini", "o3"]
    assert server.chat_requests == []


def test_openai_rate_limit_is_the_sdks_own_error(server: ProviderServer, oai: openai.OpenAI) -> None:
    server.push(Reply(status=429, error_message="slow down", headers={"retry-after": "2"}))
    with pytest.raises(openai.RateLimitError) as caught:
        oai.chat.completions.create(model="m", messages=PROMPT)
    assert caught.value.status_code == 429
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "2"
    assert "slow down" in str(caught.value)


def test_openai_context_length_error_carries_its_code(server: ProviderServer, oai: openai.OpenAI) -> None:
    server.push(Reply(status=400, error_type="context_length_exceeded", error_message="too long"))
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model="m", messages=PROMPT, stream=True)
    assert (caught.value.code, caught.value.type) == ("context_length_exceeded", "invalid_request_error")


def test_openai_wrong_key_is_an_authentication_error(server: ProviderServer, oai: openai.OpenAI) -> None:
    server.api_key = "the-right-key"
    with pytest.raises(openai.AuthenticationError):
        oai.models.list()


def test_openai_error_event_mid_stream_raises(server: ProviderServer, oai: openai.OpenAI) -> None:
    server.push(Reply(text="a b c d", error_event_after=2, error_message="the model fell over"))
    received = ""
    with pytest.raises(openai.APIError, match="the model fell over"):
        for chunk in oai.chat.completions.create(model="m", messages=PROMPT, stream=True):
            received += chunk.choices[0].delta.content or ""
    assert received == "a b"


async def test_openai_async_client_streams(server: ProviderServer) -> None:
    server.push(Reply(text=TEXT, delay=0.001))
    async with openai.AsyncOpenAI(base_url=server.url_for("openai"), api_key="k", max_retries=0) as client:
        stream = await client.chat.completions.create(model="m", messages=PROMPT, stream=True)
        text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
    assert text == TEXT


# -- Anthropic -------------------------------------------------------------------------------


@pytest.fixture
def claude(server: ProviderServer) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(base_url=server.url_for("anthropic"), api_key="k", max_retries=0)
    yield client
    client.close()


def test_anthropic_stream_thinking_text_usage_and_stop(
    server: ProviderServer, claude: anthropic.Anthropic
) -> None:
    usage = {**USAGE, "cache_creation_input_tokens": 5}
    server.push(Reply(text=TEXT, reasoning=REASONING, usage=usage, write_size=7))
    thinking, types = "", []
    with claude.messages.stream(model="claude-test-model", max_tokens=256, messages=PROMPT) as stream:
        for event in stream:
            types.append(event.type)
            if event.type == "thinking":
                thinking += event.thinking
        message = stream.get_final_message()
    assert thinking == REASONING
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[1].text == TEXT
    assert message.content[0].signature
    assert message.stop_reason == "end_turn"
    # input_tokens excludes the cached and cache-creating tokens (40 = 23 + 12 + 5).
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (23, 12)
    assert message.usage.cache_creation_input_tokens == 5
    assert message.usage.output_tokens == 25
    headers = server.chat_requests[0].headers
    # anthropic 2.x sends the key as a bearer token; older versions as x-api-key.
    assert headers.get("x-api-key") == "k" or headers.get("authorization") == "Bearer k"
    assert "anthropic-version" in headers


def test_anthropic_text_stream_collects_the_text(server: ProviderServer, claude: anthropic.Anthropic) -> None:
    server.push(Reply(text=TEXT, tokens_per_event=3))
    with claude.messages.stream(model="claude", max_tokens=64, messages=PROMPT) as stream:
        assert "".join(stream.text_stream) == TEXT


@pytest.mark.parametrize(
    ("finish", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("content_filter", "refusal"),
        ("tool_calls", "tool_use"),
    ],
)
def test_anthropic_complete_maps_finish_reasons(
    server: ProviderServer, claude: anthropic.Anthropic, finish: str, stop_reason: str
) -> None:
    server.push(Reply(text="done", reasoning="mm", finish=finish, usage=USAGE))
    message = claude.messages.create(model="claude", max_tokens=64, messages=PROMPT)
    assert message.stop_reason == stop_reason
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert (message.content[0].thinking, message.content[1].text) == ("mm", "done")
    assert (message.usage.input_tokens, message.usage.output_tokens) == (28, 25)
    assert message.usage.cache_read_input_tokens == 12


def test_anthropic_lists_models_across_pages(server: ProviderServer, claude: anthropic.Anthropic) -> None:
    server.models = ["claude-a", "claude-b", "claude-c"]
    server.page_size = 1
    assert [model.id for model in claude.models.list()] == ["claude-a", "claude-b", "claude-c"]
    listings = [r for r in server.requests if r.path == "/v1/models"]
    assert [r.query.get("after_id") for r in listings] == [None, "claude-a", "claude-b"]


def test_anthropic_overloaded_is_the_sdks_own_error(
    server: ProviderServer, claude: anthropic.Anthropic
) -> None:
    server.push(Reply(status=529, error_message="busy"))
    with pytest.raises(anthropic.OverloadedError) as caught:
        claude.messages.create(model="claude", max_tokens=64, messages=PROMPT)
    assert caught.value.body == {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}


def test_anthropic_rate_limit_is_the_sdks_own_error(
    server: ProviderServer, claude: anthropic.Anthropic
) -> None:
    server.push(Reply(status=429, headers={"retry-after": "3"}))
    with pytest.raises(anthropic.RateLimitError) as caught:
        claude.messages.create(model="claude", max_tokens=64, messages=PROMPT, stream=True)
    assert caught.value.response.headers["retry-after"] == "3"


def test_anthropic_error_event_mid_stream_raises(server: ProviderServer, claude: anthropic.Anthropic) -> None:
    server.push(Reply(text="a b c", error_event_after=1))
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        claude.messages.stream(model="claude", max_tokens=64, messages=PROMPT) as stream,
    ):
        for _ in stream:
            pass
    assert caught.value.body["error"]["type"] == "overloaded_error"


# -- Gemini ----------------------------------------------------------------------------------


@pytest.fixture
def gemini(server: ProviderServer) -> Iterator[Callable[..., genai.Client]]:
    """Make google-genai clients for the server (default API version unless given); close them after."""
    clients: list[genai.Client] = []

    def make(api_version: str | None = None) -> genai.Client:
        options = genai_types.HttpOptions(base_url=server.url_for("gemini"), api_version=api_version)
        clients.append(genai.Client(api_key="k", http_options=options))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


@pytest.mark.parametrize("api_version", [None, "v1beta"])
def test_gemini_stream_thoughts_text_usage_and_finish(
    server: ProviderServer, gemini: Callable[..., genai.Client], api_version: str | None
) -> None:
    server.push(Reply(text=TEXT, reasoning=REASONING, usage=USAGE, tokens_per_event=2))
    client = gemini(api_version)
    text, thoughts, finishes, usage = "", "", [], None
    for chunk in client.models.generate_content_stream(model="gemini-2.5-flash", contents="Say hello"):
        for part in chunk.candidates[0].content.parts:
            if part.thought:
                thoughts += part.text
            else:
                text += part.text
        if chunk.candidates[0].finish_reason is not None:
            finishes.append(chunk.candidates[0].finish_reason)
        usage = chunk.usage_metadata
        assert chunk.model_version == "gemini-2.5-flash"
    assert (text, thoughts, finishes) == (TEXT, REASONING, [genai_types.FinishReason.STOP])
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.thoughts_token_count) == (40, 18, 7)
    assert (usage.cached_content_token_count, usage.total_token_count) == (12, 65)
    request = server.chat_requests[0]
    assert request.query["alt"] == "sse"
    assert request.headers["x-goog-api-key"] == "k"
    assert request.path.endswith("/models/gemini-2.5-flash:streamGenerateContent")


@pytest.mark.parametrize(
    ("finish", "reason"),
    [
        ("stop", genai_types.FinishReason.STOP),
        ("length", genai_types.FinishReason.MAX_TOKENS),
        ("content_filter", genai_types.FinishReason.SAFETY),
    ],
)
def test_gemini_complete_maps_finish_reasons(
    server: ProviderServer, gemini: Callable[..., genai.Client], finish: str, reason: genai_types.FinishReason
) -> None:
    server.push(Reply(text="done here", reasoning="mm", finish=finish, usage=USAGE))
    response = gemini("v1beta").models.generate_content(model="gemini-x", contents="hi")
    assert response.text == "done here"
    assert response.candidates[0].finish_reason == reason
    assert [part.thought for part in response.candidates[0].content.parts] == [True, None]
    assert response.usage_metadata.candidates_token_count == 18


def test_gemini_lists_models_across_pages(
    server: ProviderServer, gemini: Callable[..., genai.Client]
) -> None:
    server.models = ["gemini-a", "gemini-b", "gemini-c"]
    server.page_size = 1
    names = [model.name for model in gemini().models.list(config={"page_size": 1})]
    assert names == ["models/gemini-a", "models/gemini-b", "models/gemini-c"]
    assert len([r for r in server.requests if r.path.endswith("/models")]) == 3


def test_gemini_rate_limit_is_the_sdks_own_error(
    server: ProviderServer, gemini: Callable[..., genai.Client]
) -> None:
    server.push(Reply(status=429, error_message="quota"))
    with pytest.raises(genai_errors.ClientError) as caught:
        gemini().models.generate_content(model="gemini-x", contents="hi")
    assert (caught.value.code, caught.value.status, caught.value.message) == (
        429,
        "RESOURCE_EXHAUSTED",
        "quota",
    )


def test_gemini_error_event_mid_stream_raises(
    server: ProviderServer, gemini: Callable[..., genai.Client]
) -> None:
    server.push(Reply(text="a b c", error_event_after=2, error_message="boom"))
    received = ""
    with pytest.raises(genai_errors.ServerError, match="boom"):
        for chunk in gemini().models.generate_content_stream(model="gemini-x", contents="hi"):
            received += chunk.text or ""
    assert received == "a b"


# -- Ollama ----------------------------------------------------------------------------------


@pytest.fixture
def llama(server: ProviderServer) -> Iterator[ollama.Client]:
    with ollama.Client(host=server.url_for("ollama")) as client:
        yield client


def test_ollama_stream_thinking_text_counts_and_done_reason(
    server: ProviderServer, llama: ollama.Client
) -> None:
    server.push(Reply(text=TEXT, reasoning=REASONING, usage=USAGE, write_size=3))
    text, thinking, last = "", "", None
    for part in llama.chat(model="llama3.2", messages=PROMPT, stream=True, think=True):
        text += part.message.content or ""
        thinking += part.message.thinking or ""
        last = part
    assert (text, thinking) == (TEXT, REASONING)
    assert last is not None and last.done and last.done_reason == "stop"
    assert (last.prompt_eval_count, last.eval_count) == (40, 25)
    assert server.chat_requests[0].json["think"] is True


def test_ollama_complete_with_length(server: ProviderServer, llama: ollama.Client) -> None:
    server.push(Reply(text="short", finish="length", model="llama3.2:1b"))
    response = llama.chat(model="llama3.2", messages=PROMPT, stream=False)
    assert (response.message.content, response.done, response.done_reason) == ("short", True, "length")
    assert response.model == "llama3.2:1b"
    assert (response.prompt_eval_count, response.eval_count) == (5, 1)


def test_ollama_lists_models(server: ProviderServer, llama: ollama.Client) -> None:
    server.models = ["llama3.2:latest", "qwen3:8b"]
    listed = llama.list()
    assert [model.model for model in listed.models] == ["llama3.2:latest", "qwen3:8b"]


def test_ollama_error_status_is_the_sdks_own_error(server: ProviderServer, llama: ollama.Client) -> None:
    server.push(Reply(status=404, error_message='model "nope" not found, try pulling it first'))
    with pytest.raises(ollama.ResponseError) as caught:
        llama.chat(model="nope", messages=PROMPT, stream=False)
    assert caught.value.status_code == 404
    assert caught.value.error == 'model "nope" not found, try pulling it first'


def test_ollama_error_line_mid_stream_raises(server: ProviderServer, llama: ollama.Client) -> None:
    server.push(Reply(text="a b c", error_event_after=1, error_message="out of memory"))
    received = ""
    with pytest.raises(ollama.ResponseError, match="out of memory"):
        for part in llama.chat(model="m", messages=PROMPT, stream=True):
            received += part.message.content or ""
    assert received == "a"
