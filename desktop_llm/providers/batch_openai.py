"""Run batches on OpenAI's Batch API: a JSONL file uploaded through the Files API, then a batch job.

Each line is ``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}``. The file
goes up as multipart (``purpose=batch``) streamed from disk; ``POST /batches`` starts the job
with the 24-hour window; ``GET /batches/{id}`` polls it; its ``output_file_id`` holds the
answers and ``error_file_id`` the rows that failed, one line each, matched by ``custom_id``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

from desktop_llm.providers.batch_base import BatchClient, FileBody, Part, read_json_lines
from desktop_llm.providers.batch_types import BatchItem, BatchLimits, BatchOutcome, JobState, RemoteJob
from desktop_llm.providers.http_errors import malformed_data
from desktop_llm.providers.openai import usage_from_openai
from desktop_llm.providers.types import ChatResult

ENDPOINT: Final = "/v1/chat/completions"
WINDOW: Final = "24h"

_STATES: dict[str, JobState] = {
    "validating": "running",
    "in_progress": "running",
    "finalizing": "running",
    "cancelling": "cancelling",
    "completed": "ended",
    "cancelled": "cancelled",
    "expired": "expired",
    "failed": "failed",
}


def chat_completion_result(body: dict[str, Any], requested_model: str = "") -> ChatResult:
    """Return the reply in a ``chat.completion`` object."""
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    usage = body.get("usage")
    return ChatResult(
        text=message.get("content") or "",
        usage=usage_from_openai(usage) if isinstance(usage, dict) else None,
        finish_reason=choice.get("finish_reason") or "stop",
        model=body.get("model") or requested_model,
        reasoning=message.get("reasoning_content") or message.get("reasoning") or "",
    )


class OpenAIBatchClient(BatchClient):
    """OpenAI's Batch API (50,000 requests or 200 MB per file)."""

    default_limits = BatchLimits(max_requests=50_000, max_bytes=200 * 1024 * 1024)

    def encode(self, item: BatchItem) -> dict[str, Any]:
        """Return ``{"custom_id", "method", "url", "body"}`` with the chat body, not streamed."""
        _url, body = self.provider.chat_request(item.request)
        body.pop("stream", None)
        body.pop("stream_options", None)
        return {"custom_id": item.custom_id, "method": "POST", "url": ENDPOINT, "body": body}

    async def submit_part(self, part: Part) -> RemoteJob:
        """Upload the part file, then create the batch over it."""
        file_id = await self.upload(part.path)
        job = await self._json(
            "POST",
            f"{self.base_url}/batches",
            json={"input_file_id": file_id, "endpoint": ENDPOINT, "completion_window": WINDOW},
        )
        return self._job(job)

    async def upload(self, path: Path) -> str:
        """Send ``path`` to the Files API as multipart, streamed from disk; return the file id."""
        boundary = uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: application/jsonl\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        answer = await self._json(
            "POST",
            f"{self.base_url}/files",
            body=lambda: FileBody(head, path, tail).body(f"multipart/form-data; boundary={boundary}"),
        )
        file_id = answer.get("id")
        if not isinstance(file_id, str) or not file_id:
            raise malformed_data(self.provider.origin, "the uploaded file has no id")
        return file_id

    async def status(self, job_id: str) -> RemoteJob:
        """GET /batches/{id}."""
        return self._job(await self._json("GET", f"{self.base_url}/batches/{job_id}"))

    async def cancel(self, job_id: str) -> RemoteJob:
        """POST /batches/{id}/cancel."""
        return self._job(await self._json("POST", f"{self.base_url}/batches/{job_id}/cancel"))

    async def results(self, job: RemoteJob, folder: Path) -> AsyncIterator[BatchOutcome]:
        """Download the output and error files to ``folder`` and yield every line's outcome."""
        for key in ("output_file_id", "error_file_id"):
            file_id = job.output.get(key)
            if not file_id:
                continue
            target = folder / f"{job.id}-{key.removesuffix('_file_id')}.jsonl"
            await self.provider.download(f"{self.base_url}/files/{file_id}/content", target)
            async for line in read_json_lines(target):
                yield self._outcome(line)

    def _outcome(self, line: Any) -> BatchOutcome:
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            raise malformed_data(self.provider.origin, "a batch result line has no custom_id")
        custom_id = line["custom_id"]
        response = line.get("response")
        if isinstance(response, dict):
            status, body = response.get("status_code", 0), response.get("body") or {}
            if status == 200 and isinstance(body, dict):
                return BatchOutcome(custom_id, result=chat_completion_result(body))
            return BatchOutcome(custom_id, error=self.row_error(int(status or 500), body))
        error = line.get("error") or {}
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message", "") if isinstance(error, dict) else str(error)
        what = f"{self.name} did not run this row" + (f" ({code})" if code else "")
        return BatchOutcome(custom_id, error=self.row_message(what, message))

    def _job(self, data: dict[str, Any]) -> RemoteJob:
        counts = data.get("request_counts") or {}
        errors = (data.get("errors") or {}).get("data") or []
        message = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict)) or None
        output = {key: data[key] for key in ("output_file_id", "error_file_id") if data.get(key)}
        return RemoteJob(
            id=str(data.get("id") or ""),
            state=_STATES.get(str(data.get("status")), "running"),
            total=int(counts.get("total") or 0),
            succeeded=int(counts.get("completed") or 0),
            failed=int(counts.get("failed") or 0),
            error=None if message is None else self.row_message(f"{self.name} refused the batch", message),
            output=output,
        )
