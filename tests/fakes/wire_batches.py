"""Speak the three batch APIs: OpenAI's Files + Batches, Anthropic's Message Batches, Gemini's batch mode.

Jobs move through their states on a clock the test controls (``BatchEngine.clock``): validating
for ``BatchScript.validate_seconds``, running for ``run_seconds`` (rows finish evenly over that
time, so counts grow), then ended. Every answered row says ``Echo: <the row's last user text>``,
so a test can tell whether a result landed on the right row. A script can shuffle the results,
fail single rows (``row_errors``), expire the job with only some rows done (``expire_after``),
or refuse the whole job (``fail_job``). Cancelling keeps the rows finished by then; the others
come back cancelled.

The engine answers ``(status, headers, body)`` and knows nothing of sockets; ``ProviderServer``
routes requests here before its chat dialects.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from .wire_batch_jobs import (
    GEMINI_TYPE,
    Answer,
    BatchScript,
    FakeJob,
    anthropic_error,
    completion_body,
    gemini_error,
    gemini_response,
    iso,
    json_answer,
    jsonl,
    parse_multipart,
    usage_counts,
)
from .wire_http import RecordedRequest

__all__ = ["BatchEngine", "BatchScript", "FakeJob"]

_OPENAI = re.compile(r"^/v1/(files|batches)(?:/([^/]+))?(?:/(content|cancel))?$")
_ANTHROPIC = re.compile(r"^/v1/messages/batches(?:/([^/]+))?(?:/(cancel|results))?$")
_GEMINI_CREATE = re.compile(r"^/v1beta/models/([^/:]+):batchGenerateContent$")
_GEMINI_JOB = re.compile(r"^/v1beta/(batches/[^/:]+)(:cancel)?$")
_GEMINI_DOWNLOAD = re.compile(r"^(?:/download)?/v1beta/(files/[^/:]+):download$")


class BatchEngine:
    """The fake's batch jobs and files for all three providers.

    Args:
        clock: seconds; jobs move on as it does (a ``FakeClock`` in tests).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.script = BatchScript()
        self.files: dict[str, bytes] = {}
        self.file_names: dict[str, str] = {}
        self.jobs: dict[str, FakeJob] = {}
        self._uploads: dict[str, str] = {}

    def reset(self) -> None:
        """Forget every job and file; restore the default script."""
        self.script = BatchScript()
        self.files.clear()
        self.file_names.clear()
        self.jobs.clear()
        self._uploads.clear()

    def kind_of(self, request: RecordedRequest) -> str | None:
        """Return which provider's batch API the request speaks, or None when it is not one."""
        path = request.path
        if _ANTHROPIC.match(path):
            return "anthropic"
        if _OPENAI.match(path):
            return "openai"
        if path.startswith("/upload/v1beta/files") or _GEMINI_DOWNLOAD.match(path):
            return "gemini"
        if _GEMINI_CREATE.match(path) or _GEMINI_JOB.match(path):
            return "gemini"
        return None

    def answer(self, kind: str, request: RecordedRequest) -> Answer:
        """Answer one batch request of ``kind``."""
        handler = {"openai": self._openai, "anthropic": self._anthropic, "gemini": self._gemini}[kind]
        return handler(request)

    def _new_job(
        self, kind: str, rows: list[tuple[str, dict[str, Any]]], model: str, **extra: Any
    ) -> FakeJob:
        prefix = {"openai": "batch_", "anthropic": "msgbatch_", "gemini": "batches/"}[kind]
        job = FakeJob(kind, prefix + uuid.uuid4().hex[:20], rows, model, self.clock(), self.script, **extra)
        self.jobs[job.id] = job
        return job

    def _store_file(self, data: bytes, name: str, prefix: str) -> str:
        file_id = prefix + uuid.uuid4().hex[:20]
        self.files[file_id] = data
        self.file_names[file_id] = name
        return file_id

    # -- OpenAI --------------------------------------------------------------------------------

    def _openai(self, request: RecordedRequest) -> Answer:
        match = _OPENAI.match(request.path)
        assert match is not None
        collection, item, action = match.groups()
        if collection == "files":
            return self._openai_files(request, item, action)
        if request.method == "POST" and item is None:
            return self._openai_create(request)
        if item is None:
            data = [self._openai_batch(job) for job in self.jobs.values() if job.kind == "openai"]
            return json_answer(200, {"object": "list", "data": data, "has_more": False})
        job = self.jobs.get(item)
        if job is None:
            return json_answer(404, _openai_error(f"No batch found with id '{item}'."))
        if action == "cancel" and job.cancelled_at is None:
            job.cancelled_at = self.clock()
        return json_answer(200, self._openai_batch(job))

    def _openai_files(self, request: RecordedRequest, item: str | None, action: str | None) -> Answer:
        if request.method == "POST":
            fields = parse_multipart(request.headers.get("content-type", ""), request.body)
            name, data = fields["file"]
            purpose = fields.get("purpose", (None, b""))[1].decode()
            if purpose != "batch":
                return json_answer(400, _openai_error("purpose must be batch"))
            file_id = self._store_file(data, name or "upload.jsonl", "file-")
            return json_answer(200, self._openai_file(file_id))
        if item not in self.files:
            return json_answer(404, _openai_error(f"No such File object: {item}"))
        if action == "content":
            return 200, {"content-type": "application/octet-stream"}, self.files[item]
        return json_answer(200, self._openai_file(item))

    def _openai_file(self, file_id: str) -> dict[str, Any]:
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(self.files[file_id]),
            "created_at": int(time.time()),
            "filename": self.file_names[file_id],
            "purpose": "batch",
            "status": "processed",
        }

    def _openai_create(self, request: RecordedRequest) -> Answer:
        body = request.json or {}
        if body.get("endpoint") != "/v1/chat/completions" or body.get("completion_window") != "24h":
            return json_answer(400, _openai_error("unsupported endpoint or window"))
        data = self.files.get(body.get("input_file_id", ""))
        if data is None:
            return json_answer(400, _openai_error("input file not found"))
        rows = []
        for line in data.splitlines():
            if line.strip():
                item = json.loads(line)
                rows.append((item["custom_id"], item["body"]))
        model = rows[0][1].get("model", "") if rows else ""
        job = self._new_job("openai", rows, model, input_file_id=body["input_file_id"])
        return json_answer(200, self._openai_batch(job))

    def _openai_batch(self, job: FakeJob) -> dict[str, Any]:
        now = self.clock()
        state, _done = job.progress(now)
        succeeded, failed, _left = job.counts(now)
        output_file_id = error_file_id = None
        if state in ("completed", "expired", "cancelled"):
            output_file_id, error_file_id = self._openai_outputs(job, now)
        errors = None
        if state == "failed":
            errors = {
                "object": "list",
                "data": [{"code": "invalid_request", "message": job.script.fail_job, "line": 1}],
            }
        if state == "expired" or state == "cancelled":
            failed = len(job.rows) - succeeded
        return {
            "id": job.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "errors": errors,
            "input_file_id": job.input_file_id,
            "completion_window": "24h",
            "status": state,
            "output_file_id": output_file_id,
            "error_file_id": error_file_id,
            "created_at": int(time.time()),
            "request_counts": {"total": len(job.rows), "completed": succeeded, "failed": failed},
            "metadata": None,
        }

    def _openai_outputs(self, job: FakeJob, now: float) -> tuple[str | None, str | None]:
        key = f"{job.id}:{job.progress(now)[0]}"
        if key in self._uploads:
            return tuple(self._uploads[key].split("|"))  # type: ignore[return-value]
        good: list[dict[str, Any]] = []
        bad: list[dict[str, Any]] = []
        bodies = dict(job.rows)
        word = "expired" if job.progress(now)[0] == "expired" else "cancelled"
        for custom_id, kind, value in job.outcomes(now):
            line: dict[str, Any] = {
                "id": "batch_req_" + uuid.uuid4().hex[:12],
                "custom_id": custom_id,
                "error": None,
            }
            if kind == "ok":
                prompt, completion = usage_counts(bodies[custom_id], value)
                line["response"] = {
                    "status_code": 200,
                    "request_id": uuid.uuid4().hex,
                    "body": completion_body(job.model, value, prompt, completion),
                }
                good.append(line)
            elif kind == "error":
                status, message = value
                line["response"] = {
                    "status_code": status,
                    "request_id": uuid.uuid4().hex,
                    "body": {
                        "error": {
                            "message": message,
                            "type": "invalid_request_error",
                            "param": None,
                            "code": None,
                        }
                    },
                }
                bad.append(line)
            else:
                line["response"] = None
                line["error"] = {
                    "code": f"batch_{word}",
                    "message": f"This request was {word} before it ran.",
                }
                bad.append(line)
        output = self._store_file(jsonl(good), "batch_output.jsonl", "file-") if good else None
        errors = self._store_file(jsonl(bad), "batch_errors.jsonl", "file-") if bad else None
        self._uploads[key] = f"{output or ''}|{errors or ''}"
        return output, errors

    # -- Anthropic -----------------------------------------------------------------------------

    def _anthropic(self, request: RecordedRequest) -> Answer:
        match = _ANTHROPIC.match(request.path)
        assert match is not None
        item, action = match.groups()
        if item is None and request.method == "POST":
            requests = (request.json or {}).get("requests")
            if not isinstance(requests, list) or not requests:
                return json_answer(400, anthropic_error("requests: a non-empty list is required"))
            ids = [r.get("custom_id") for r in requests]
            if len(set(ids)) != len(ids):
                return json_answer(400, anthropic_error("custom_id values must be unique"))
            rows = [(r["custom_id"], r["params"]) for r in requests]
            job = self._new_job("anthropic", rows, rows[0][1].get("model", ""))
            return json_answer(200, self._anthropic_batch(job, request))
        if item is None:
            data = [self._anthropic_batch(j, request) for j in self.jobs.values() if j.kind == "anthropic"]
            return json_answer(200, {"data": data, "has_more": False, "first_id": None, "last_id": None})
        job = self.jobs.get(item)
        if job is None:
            return json_answer(
                404, {"type": "error", "error": {"type": "not_found_error", "message": "batch not found"}}
            )
        if action == "cancel" and job.cancelled_at is None:
            job.cancelled_at = self.clock()
        if action == "results":
            return self._anthropic_results(job)
        return json_answer(200, self._anthropic_batch(job, request))

    def _anthropic_batch(self, job: FakeJob, request: RecordedRequest) -> dict[str, Any]:
        now = self.clock()
        state, _done = job.progress(now)
        succeeded, errored, left = job.counts(now)
        ended = state in ("completed", "expired", "cancelled")
        status = "ended" if ended else ("canceling" if state == "cancelling" else "in_progress")
        counts = {
            "processing": 0 if ended else left,
            "succeeded": succeeded,
            "errored": errored,
            "canceled": 0,
            "expired": 0,
        }
        if ended and state != "completed":
            counts["canceled" if state == "cancelled" else "expired"] = left
        host = request.headers.get("host", "127.0.0.1")
        return {
            "id": job.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "ended_at": iso(time.time()) if ended else None,
            "created_at": iso(time.time()),
            "expires_at": iso(time.time() + 86400),
            "archived_at": None,
            "cancel_initiated_at": iso(time.time()) if job.cancelled_at is not None else None,
            "results_url": f"http://{host}/v1/messages/batches/{job.id}/results" if ended else None,
        }

    def _anthropic_results(self, job: FakeJob) -> Answer:
        now = self.clock()
        state, _done = job.progress(now)
        if state not in ("completed", "expired", "cancelled"):
            return json_answer(
                404, {"type": "error", "error": {"type": "not_found_error", "message": "results not ready"}}
            )
        bodies = dict(job.rows)
        lines = []
        for custom_id, kind, value in job.outcomes(now):
            if kind == "ok":
                prompt, completion = usage_counts(bodies[custom_id], value)
                message = {
                    "id": "msg_" + uuid.uuid4().hex[:12],
                    "type": "message",
                    "role": "assistant",
                    "model": job.model,
                    "content": [{"type": "text", "text": value}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": prompt, "output_tokens": completion},
                }
                result: dict[str, Any] = {"type": "succeeded", "message": message}
            elif kind == "error":
                result = {"type": "errored", "error": anthropic_error(value[1])}
            else:
                result = {"type": "canceled" if state == "cancelled" else "expired"}
            lines.append({"custom_id": custom_id, "result": result})
        return 200, {"content-type": "application/binary"}, jsonl(lines)

    # -- Gemini --------------------------------------------------------------------------------

    def _gemini(self, request: RecordedRequest) -> Answer:
        path = request.path
        if path.startswith("/upload/v1beta/files"):
            return self._gemini_upload(request)
        download = _GEMINI_DOWNLOAD.match(path)
        if download is not None:
            data = self.files.get(download.group(1))
            if data is None:
                return json_answer(404, gemini_error(404, "file not found"))
            return 200, {"content-type": "application/octet-stream"}, data
        create = _GEMINI_CREATE.match(path)
        if create is not None:
            return self._gemini_create(request, create.group(1))
        match = _GEMINI_JOB.match(path)
        assert match is not None
        job = self.jobs.get(match.group(1))
        if job is None:
            return json_answer(404, gemini_error(404, "batch not found"))
        if match.group(2):
            if job.cancelled_at is None:
                job.cancelled_at = self.clock()
            return json_answer(200, {})
        return json_answer(200, self._gemini_operation(job))

    def _gemini_upload(self, request: RecordedRequest) -> Answer:
        command = request.headers.get("x-goog-upload-command", "")
        if command == "start":
            upload_id = uuid.uuid4().hex
            name = ((request.json or {}).get("file") or {}).get("displayName") or "upload.jsonl"
            self._uploads["gemini:" + upload_id] = name
            host = request.headers.get("host", "127.0.0.1")
            url = f"http://{host}/upload/v1beta/files?upload_id={upload_id}"
            return json_answer(200, {}, {"x-goog-upload-url": url, "x-goog-upload-status": "active"})
        name = self._uploads.pop("gemini:" + request.query.get("upload_id", ""), None)
        if name is None or "finalize" not in command:
            return json_answer(400, gemini_error(400, "unknown upload"))
        file_id = self._store_file(request.body, name, "files/")
        file = {
            "name": file_id,
            "displayName": name,
            "mimeType": "application/jsonl",
            "sizeBytes": str(len(request.body)),
            "state": "ACTIVE",
        }
        return json_answer(200, {"file": file}, {"x-goog-upload-status": "final"})

    def _gemini_create(self, request: RecordedRequest, model: str) -> Answer:
        batch = (request.json or {}).get("batch") or {}
        config = batch.get("inputConfig") or batch.get("input_config") or {}
        if "fileName" in config:
            data = self.files.get(config["fileName"])
            if data is None:
                return json_answer(400, gemini_error(400, "input file not found"))
            rows = [(line["key"], line["request"]) for line in map(json.loads, data.splitlines()) if line]
            from_file = True
        else:
            inline = (config.get("requests") or {}).get("requests") or []
            rows = [
                ((r.get("metadata") or {}).get("key") or str(i), r["request"]) for i, r in enumerate(inline)
            ]
            from_file = False
        if not rows:
            return json_answer(400, gemini_error(400, "the batch has no requests"))
        job = self._new_job(
            "gemini", rows, f"models/{model}", display_name=batch.get("displayName", ""), from_file=from_file
        )
        return json_answer(200, self._gemini_operation(job))

    def _gemini_operation(self, job: FakeJob) -> dict[str, Any]:
        now = self.clock()
        state, _done = job.progress(now)
        word = {
            "validating": "PENDING",
            "in_progress": "RUNNING",
            "completed": "SUCCEEDED",
            "cancelling": "RUNNING",
        }.get(state, state.upper())
        succeeded, failed, left = job.counts(now)
        metadata: dict[str, Any] = {
            "@type": GEMINI_TYPE + "GenerateContentBatch",
            "model": job.model,
            "displayName": job.display_name,
            "name": job.id,
            "state": f"BATCH_STATE_{word}",
            "createTime": iso(time.time()),
            "updateTime": iso(time.time()),
            "batchStats": {
                "requestCount": str(len(job.rows)),
                "successfulRequestCount": str(succeeded),
                "failedRequestCount": str(failed),
                "pendingRequestCount": str(left),
            },
        }
        operation: dict[str, Any] = {"name": job.id, "metadata": metadata, "done": False}
        if state == "failed":
            operation |= {"done": True, "error": {"code": 400, "message": job.script.fail_job}}
        elif state in ("completed", "expired", "cancelled"):
            metadata["output"] = self._gemini_output(job, now)
            operation |= {
                "done": True,
                "response": {
                    "@type": GEMINI_TYPE + "GenerateContentBatchOutput",
                    **metadata["output"],
                },
            }
        return operation

    def _gemini_output(self, job: FakeJob, now: float) -> dict[str, Any]:
        bodies = dict(job.rows)
        items = []
        for key, kind, value in job.outcomes(now):
            if kind == "unfinished":
                continue
            if kind == "ok":
                prompt, completion = usage_counts(bodies[key], value)
                item: dict[str, Any] = {"response": gemini_response(job.model, value, prompt, completion)}
            else:
                item = {"error": {"code": value[0], "message": value[1], "status": "INVALID_ARGUMENT"}}
            items.append((key, item))
        if not job.from_file:
            return {
                "inlinedResponses": {
                    "inlinedResponses": [item | {"metadata": {"key": key}} for key, item in items]
                }
            }
        cache = f"gemini-out:{job.id}:{job.progress(now)[0]}"
        if cache not in self._uploads:
            self._uploads[cache] = self._store_file(
                jsonl([{"key": key, **item} for key, item in items]), "responses.jsonl", "files/"
            )
        return {"responsesFile": self._uploads[cache]}


def _openai_error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error"}}
