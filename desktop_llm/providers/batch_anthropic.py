"""Run batches on Anthropic's Message Batches: ``POST /v1/messages/batches`` with ``requests``.

The body is ``{"requests": [{"custom_id", "params"}, ...]}`` where ``params`` is a Messages
request; it is streamed from the part file on disk. ``GET /v1/messages/batches/{id}`` reports
``processing_status`` ("in_progress", "canceling", "ended") and ``request_counts``; once ended,
``results_url`` serves JSONL lines ``{"custom_id", "result": {"type": "succeeded" | "errored" |
"canceled" | "expired", ...}}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from desktop_llm.providers.anthropic import DEFAULT_MAX_TOKENS
from desktop_llm.providers.batch_base import BatchClient, FileBody, Part, PartFormat, read_json_lines
from desktop_llm.providers.batch_types import BatchItem, BatchLimits, BatchOutcome, JobState, RemoteJob
from desktop_llm.providers.http_errors import malformed_data
from desktop_llm.providers.types import ChatResult, Usage

_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "refusal": "content_filter",
    "tool_use": "tool_calls",
}
_UNFINISHED = {
    "canceled": "Cancelled before it ran.",
    "expired": "Expired: the provider did not reach this row within 24 hours.",
}


def message_result(message: dict[str, Any]) -> ChatResult:
    """Return the reply in a Messages ``message`` object."""
    text, thinking = [], []
    for block in message.get("content") or ():
        if block.get("type") == "text":
            text.append(block.get("text") or "")
        elif block.get("type") == "thinking":
            thinking.append(block.get("thinking") or "")
    usage = message.get("usage") or {}

    def count(name: str) -> int:
        value = usage.get(name)
        return value if isinstance(value, int) else 0

    cache_read = count("cache_read_input_tokens")
    return ChatResult(
        text="".join(text),
        usage=Usage(
            input_tokens=count("input_tokens") + cache_read + count("cache_creation_input_tokens"),
            output_tokens=count("output_tokens"),
            cached_input_tokens=cache_read,
        )
        if usage
        else None,
        finish_reason=_STOP.get(
            message.get("stop_reason") or "end_turn", message.get("stop_reason") or "stop"
        ),
        model=message.get("model") or "",
        reasoning="".join(thinking),
    )


class AnthropicBatchClient(BatchClient):
    """Anthropic's Message Batches (100,000 requests or 256 MB per batch)."""

    default_limits = BatchLimits(max_requests=100_000, max_bytes=256 * 1000 * 1000)
    part_format = PartFormat(head=b'{"requests":[\n', sep=b",", tail=b"]}\n")

    def encode(self, item: BatchItem) -> dict[str, Any]:
        """Return ``{"custom_id", "params"}`` with the Messages body, not streamed."""
        _url, body = self.provider.chat_request(item.request)
        body.pop("stream", None)
        body.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        return {"custom_id": item.custom_id, "params": body}

    async def submit_part(self, part: Part) -> RemoteJob:
        """POST the part file (already the JSON body) to /v1/messages/batches."""
        job = await self._json(
            "POST",
            f"{self.base_url}/v1/messages/batches",
            body=lambda: FileBody(part.path).body("application/json"),
        )
        return self._job(job)

    async def status(self, job_id: str) -> RemoteJob:
        """GET /v1/messages/batches/{id}."""
        return self._job(await self._json("GET", f"{self.base_url}/v1/messages/batches/{job_id}"))

    async def cancel(self, job_id: str) -> RemoteJob:
        """POST /v1/messages/batches/{id}/cancel."""
        return self._job(await self._json("POST", f"{self.base_url}/v1/messages/batches/{job_id}/cancel"))

    async def results(self, job: RemoteJob, folder: Path) -> AsyncIterator[BatchOutcome]:
        """Stream ``results_url`` to ``folder`` and yield every line's outcome."""
        url = job.output.get("results_url")
        if not url:
            return
        target = folder / f"{job.id}-results.jsonl"
        await self.provider.download(url, target)
        async for line in read_json_lines(target):
            yield self._outcome(line)

    def _outcome(self, line: Any) -> BatchOutcome:
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            raise malformed_data(self.provider.origin, "a batch result line has no custom_id")
        custom_id, result = line["custom_id"], line.get("result") or {}
        kind = result.get("type")
        if kind == "succeeded" and isinstance(result.get("message"), dict):
            return BatchOutcome(custom_id, result=message_result(result["message"]))
        if kind in _UNFINISHED:
            return BatchOutcome(custom_id, error=_UNFINISHED[kind])
        error = result.get("error") or {}
        inner = error.get("error", error) if isinstance(error, dict) else {}
        status = 500 if inner.get("type") in ("api_error", "overloaded_error") else 400
        return BatchOutcome(custom_id, error=self.row_error(status, {"error": inner}))

    def _job(self, data: dict[str, Any]) -> RemoteJob:
        counts = data.get("request_counts") or {}
        status = data.get("processing_status")
        states: dict[str, JobState] = {"in_progress": "running", "canceling": "cancelling"}
        state: JobState = states.get(str(status), "ended")
        if state == "ended" and data.get("cancel_initiated_at"):
            state = "cancelled"
        elif state == "ended" and counts.get("expired"):
            state = "expired"  # as OpenAI and Gemini say of a job whose window ran out
        failed = sum(int(counts.get(name) or 0) for name in ("errored", "canceled", "expired"))
        succeeded = int(counts.get("succeeded") or 0)
        return RemoteJob(
            id=str(data.get("id") or ""),
            state=state,
            total=succeeded + failed + int(counts.get("processing") or 0),
            succeeded=succeeded,
            failed=failed,
            output={"results_url": data["results_url"]} if data.get("results_url") else {},
        )
