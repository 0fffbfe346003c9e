"""Prove the fake server's batch APIs faithful: the official SDKs' batch calls read what it scripts.

openai (``files.create``, ``batches.create/retrieve/cancel``, ``files.content``), anthropic
(``messages.batches.create/retrieve/results/cancel``) and google-genai (``batches.create/get/
cancel``) each run a job to its end on the fake clock and read every row back by its id.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import anthropic
import openai
import pytest
from fakes.fake_clock import FakeClock
from fakes.provider_server import BatchScript, ProviderServer
from google import genai
from google.genai import types as genai_types


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[ProviderServer]:
    with ProviderServer(batch_clock=clock) as running:
        yield running


def test_openai_sdk_uploads_runs_and_reads_a_batch(server: ProviderServer, clock: FakeClock) -> None:
    server.batches.script = BatchScript(shuffle=True, row_errors={"b": (400, "bad row b")})
    lines = [
        {
            "custom_id": cid,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"hi {cid}"}]},
        }
        for cid in ("a", "b", "c")
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    with openai.OpenAI(base_url=server.url_for("openai"), api_key="k", max_retries=0) as client:
        uploaded = client.files.create(file=("in.jsonl", io.BytesIO(data)), purpose="batch")
        assert uploaded.bytes == len(data) and uploaded.purpose == "batch"
        batch = client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        assert batch.status == "validating" and batch.request_counts is not None
        clock.advance(30)
        done = client.batches.retrieve(batch.id)
        assert done.status == "completed" and done.request_counts.completed == 2  # type: ignore[union-attr]
        assert done.output_file_id and done.error_file_id
        output = [json.loads(x) for x in client.files.content(done.output_file_id).text.splitlines()]
        errors = [json.loads(x) for x in client.files.content(done.error_file_id).text.splitlines()]
        second = client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        assert client.batches.cancel(second.id).status == "cancelling"
        clock.advance(5)
        assert client.batches.retrieve(second.id).status == "cancelled"
    texts = {
        line["custom_id"]: line["response"]["body"]["choices"][0]["message"]["content"] for line in output
    }
    assert texts == {"a": "Echo: hi a", "c": "Echo: hi c"}
    assert errors[0]["custom_id"] == "b" and errors[0]["response"]["status_code"] == 400


def test_anthropic_sdk_creates_polls_and_streams_results(server: ProviderServer, clock: FakeClock) -> None:
    server.batches.script = BatchScript(shuffle=True, row_errors={"y": (400, "bad row y")})
    with anthropic.Anthropic(base_url=server.url_for("anthropic"), api_key="k", max_retries=0) as client:
        batch = client.messages.batches.create(
            requests=[
                {
                    "custom_id": cid,
                    "params": {
                        "model": "claude-x",
                        "max_tokens": 50,
                        "messages": [{"role": "user", "content": f"hi {cid}"}],
                    },
                }
                for cid in ("x", "y", "z")
            ]
        )
        assert batch.processing_status == "in_progress"
        clock.advance(30)
        ended = client.messages.batches.retrieve(batch.id)
        assert ended.processing_status == "ended" and ended.request_counts.succeeded == 2
        results = {item.custom_id: item.result for item in client.messages.batches.results(batch.id)}
        other = client.messages.batches.create(
            requests=[
                {
                    "custom_id": "q",
                    "params": {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "q"}]},
                }
            ]
        )
        assert client.messages.batches.cancel(other.id).processing_status == "canceling"
    assert results["x"].type == "succeeded" and results["x"].message.content[0].text == "Echo: hi x"  # type: ignore[union-attr]
    assert results["y"].type == "errored"
    assert results["z"].type == "succeeded"


def test_genai_sdk_runs_an_inline_batch(server: ProviderServer, clock: FakeClock) -> None:
    options = genai_types.HttpOptions(base_url=server.url_for("gemini"), api_version="v1beta")
    client = genai.Client(api_key="k", http_options=options)
    try:
        job = client.batches.create(
            model="gemini-2.5-flash",
            src=[
                {"contents": [{"role": "user", "parts": [{"text": f"hi {key}"}]}], "metadata": {"key": key}}
                for key in ("p", "q")
            ],
        )
        assert job.name and job.state is not None and job.state.name == "JOB_STATE_PENDING"
        clock.advance(30)
        done = client.batches.get(name=job.name)
        assert done.state is not None and done.state.name == "JOB_STATE_SUCCEEDED"
        assert done.dest is not None and done.dest.inlined_responses is not None
        texts = {
            (item.metadata or {}).get("key"): item.response.text  # type: ignore[union-attr]
            for item in done.dest.inlined_responses
        }
        other = client.batches.create(
            model="gemini-2.5-flash", src=[{"contents": [{"role": "user", "parts": [{"text": "x"}]}]}]
        )
        assert other.name is not None
        client.batches.cancel(name=other.name)
        clock.advance(5)
        cancelled = client.batches.get(name=other.name)
    finally:
        client.close()
    assert texts == {"p": "Echo: hi p", "q": "Echo: hi q"}
    assert cancelled.state is not None and cancelled.state.name == "JOB_STATE_CANCELLED"
