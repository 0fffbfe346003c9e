"""Run batches on Gemini's batch mode: ``models/{m}:batchGenerateContent``, inline or from a file.

A part small enough (``inline_max_bytes``, 20 MB by the API's rule) goes inline:
``{"batch": {"displayName", "inputConfig": {"requests": {"requests": [{"request", "metadata":
{"key"}}]}}}}``. A larger part is uploaded first (the resumable Files upload) as JSONL lines
``{"key", "request"}`` and named by ``inputConfig.fileName``. ``GET /v1beta/batches/{id}``
returns the long-running operation; its ``metadata.state`` runs ``BATCH_STATE_PENDING``,
``RUNNING``, then ``SUCCEEDED``, ``FAILED``, ``CANCELLED`` or ``EXPIRED``; ``metadata.output``
holds ``inlinedResponses`` (each with the request's ``metadata.key``) or a ``responsesFile``
of ``{"key", "response" | "error"}`` lines.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from desktop_llm.providers.batch_base import BatchClient, FileBody, Part, read_json_lines
from desktop_llm.providers.batch_types import BatchItem, BatchLimits, BatchOutcome, JobState, RemoteJob
from desktop_llm.providers.gemini import usage_from_gemini
from desktop_llm.providers.http_errors import malformed_data
from desktop_llm.providers.types import ChatResult

INLINE_MAX_BYTES = 20 * 1000 * 1000

_FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}
_FILTERED = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"})
_STATES: dict[str, JobState] = {
    "PENDING": "running",
    "RUNNING": "running",
    "SUCCEEDED": "ended",
    "FAILED": "failed",
    "CANCELLED": "cancelled",
    "EXPIRED": "expired",
}


def generate_content_result(data: dict[str, Any], requested_model: str = "") -> ChatResult:
    """Return the reply in a ``GenerateContentResponse``."""
    candidate = (data.get("candidates") or [{}])[0]
    text: list[str] = []
    thoughts: list[str] = []
    for part in (candidate.get("content") or {}).get("parts") or ():
        if part.get("text"):
            (thoughts if part.get("thought") else text).append(part["text"])
    reason = candidate.get("finishReason") or "STOP"
    finish = "content_filter" if reason in _FILTERED else _FINISH.get(reason, reason.lower())
    metadata = data.get("usageMetadata")
    return ChatResult(
        text="".join(text),
        usage=usage_from_gemini(metadata) if isinstance(metadata, dict) else None,
        finish_reason=finish,
        model=data.get("modelVersion") or requested_model,
        reasoning="".join(thoughts),
    )


class GeminiBatchClient(BatchClient):
    """Gemini's batch mode (inline up to 20 MB, else an uploaded file of up to 2 GB).

    Args:
        inline_max_bytes: a part up to this size goes inline; larger ones are uploaded.
    """

    default_limits = BatchLimits(max_requests=100_000, max_bytes=2 * 1000 * 1000 * 1000)

    def __init__(self, *args: Any, inline_max_bytes: int = INLINE_MAX_BYTES, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inline_max_bytes = inline_max_bytes

    def encode(self, item: BatchItem) -> dict[str, Any]:
        """Return ``{"key", "request"}`` with the generateContent body."""
        _url, body = self.provider.chat_request(item.request)
        return {"key": item.custom_id, "request": body}

    async def submit_part(self, part: Part) -> RemoteJob:
        """Create the batch job: inline when the part is small, else from an uploaded file."""
        model = part.model.removeprefix("models/")
        if part.size <= self.inline_max_bytes:
            requests = await asyncio.to_thread(_inline_requests, part.path)
            config: dict[str, Any] = {"requests": {"requests": requests}}
        else:
            config = {"fileName": await self.upload(part.path)}
        body = {"batch": {"displayName": part.path.stem, "inputConfig": config}}
        url = f"{self.base_url}/v1beta/models/{model}:batchGenerateContent"
        return self._job(await self._json("POST", url, json=body))

    async def upload(self, path: Path) -> str:
        """Upload ``path`` with the resumable Files protocol, streamed from disk; return its name."""
        size = (await asyncio.to_thread(path.stat)).st_size
        _answer, headers = await self.provider.request_json(
            "POST",
            f"{self.base_url}/upload/v1beta/files",
            json={"file": {"displayName": path.name}},
            headers={
                "x-goog-upload-protocol": "resumable",
                "x-goog-upload-command": "start",
                "x-goog-upload-header-content-length": str(size),
                "x-goog-upload-header-content-type": "application/jsonl",
            },
        )
        upload_url = headers.get("x-goog-upload-url")
        if not upload_url:
            raise malformed_data(self.provider.origin, "the file upload was not given an address")

        def body() -> dict[str, Any]:
            arguments = dict(FileBody(path).body("application/jsonl"))
            arguments["headers"] |= {"x-goog-upload-command": "upload, finalize", "x-goog-upload-offset": "0"}
            return arguments

        answer = await self._json("POST", upload_url, body=body)
        name = (answer.get("file") or {}).get("name")
        if not name:
            raise malformed_data(self.provider.origin, "the uploaded file has no name")
        return str(name)

    async def status(self, job_id: str) -> RemoteJob:
        """GET /v1beta/{batches/id}."""
        return self._job(await self._json("GET", f"{self.base_url}/v1beta/{job_id}"))

    async def cancel(self, job_id: str) -> RemoteJob:
        """POST /v1beta/{batches/id}:cancel, then read the job back."""
        await self._json("POST", f"{self.base_url}/v1beta/{job_id}:cancel")
        return await self.status(job_id)

    async def results(self, job: RemoteJob, folder: Path) -> AsyncIterator[BatchOutcome]:
        """Yield the inline responses, or those of the responses file downloaded to ``folder``."""
        data = await self._json("GET", f"{self.base_url}/v1beta/{job.id}")
        output = (data.get("metadata") or {}).get("output") or data.get("response") or {}
        responses_file = output.get("responsesFile")
        if responses_file:
            target = folder / f"{job.id.replace('/', '-')}-responses.jsonl"
            url = f"{self.base_url}/download/v1beta/{responses_file}:download"
            await self.provider.download(url, target, params={"alt": "media"})
            async for line in read_json_lines(target):
                yield self._outcome(line, line.get("key") if isinstance(line, dict) else None)
            return
        for item in (output.get("inlinedResponses") or {}).get("inlinedResponses") or ():
            yield self._outcome(item, (item.get("metadata") or {}).get("key"))

    def _outcome(self, item: Any, key: Any) -> BatchOutcome:
        if not isinstance(item, dict) or not isinstance(key, str):
            raise malformed_data(self.provider.origin, "a batch response has no key")
        if isinstance(item.get("response"), dict):
            return BatchOutcome(key, result=generate_content_result(item["response"]))
        error = item.get("error") or {}
        code = error.get("code")
        status = code if isinstance(code, int) else 400
        return BatchOutcome(key, error=self.row_error(status, {"error": error}))

    def _job(self, data: dict[str, Any]) -> RemoteJob:
        metadata = data.get("metadata") or {}
        raw = str(metadata.get("state") or "")
        state = _STATES.get(raw.rsplit("_", 1)[-1], "running")
        stats = metadata.get("batchStats") or {}
        error = data.get("error")
        return RemoteJob(
            id=str(data.get("name") or metadata.get("name") or ""),
            state="failed" if error else state,
            total=int(stats.get("requestCount") or 0),
            succeeded=int(stats.get("successfulRequestCount") or 0),
            failed=int(stats.get("failedRequestCount") or 0),
            error=self.row_message(f"{self.name} refused the batch", str(error.get("message", "")))
            if isinstance(error, dict)
            else None,
        )


def _inline_requests(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as source:
        lines = [json.loads(line) for line in source if line.strip()]
    return [{"request": line["request"], "metadata": {"key": line["key"]}} for line in lines]
