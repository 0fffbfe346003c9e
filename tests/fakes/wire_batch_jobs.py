"""The fake's batch jobs on a scripted clock: the script, one job's timeline and outcomes, wire helpers.

``BatchScript`` says how jobs behave; ``FakeJob`` answers "where is this job at time t" (state,
rows finished) and each row's outcome; the helpers encode the answers the three batch APIs share
(JSON and JSONL bodies, timestamps, multipart forms, reply bodies).
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

Answer = tuple[int, dict[str, str], bytes]

JSON_HEADERS = {"content-type": "application/json"}
GEMINI_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main."


@dataclass
class BatchScript:
    """How the next batch jobs behave (set ``BatchEngine.script`` before they are created).

    Args:
        validate_seconds: time spent validating (OpenAI) / pending (Gemini) before rows run.
        run_seconds: time for all rows to finish once running.
        shuffle: return results in a random order (seeded by ``seed``).
        row_errors: custom id (or Gemini key) -> (HTTP status, message) for rows that fail.
        expire_after: when set, the job expires at the end of its run with only this many rows done.
        fail_job: when set, the whole job fails validation with this message.
        cancel_seconds: how long "cancelling" lasts before "cancelled".
    """

    validate_seconds: float = 1.0
    run_seconds: float = 10.0
    shuffle: bool = False
    seed: int = 7
    row_errors: dict[str, tuple[int, str]] = field(default_factory=dict)
    expire_after: int | None = None
    fail_job: str | None = None
    cancel_seconds: float = 1.0


@dataclass
class FakeJob:
    """One batch job: its rows (id, request body), script and timeline."""

    kind: str
    id: str
    rows: list[tuple[str, dict[str, Any]]]
    model: str
    created: float
    script: BatchScript
    input_file_id: str = ""
    display_name: str = ""
    from_file: bool = False
    cancelled_at: float | None = None

    def progress(self, now: float) -> tuple[str, int]:
        """Return (state in OpenAI's words, rows finished) at ``now``."""
        script, total = self.script, len(self.rows)
        if script.fail_job is not None:
            return "failed", 0
        if self.cancelled_at is not None:
            done = self._done_at(self.cancelled_at)
            ended = now >= self.cancelled_at + script.cancel_seconds
            return ("cancelled" if ended else "cancelling"), done
        elapsed = now - self.created
        if elapsed < script.validate_seconds:
            return "validating", 0
        if elapsed >= script.validate_seconds + script.run_seconds:
            if script.expire_after is not None:
                return "expired", min(script.expire_after, total)
            return "completed", total
        return "in_progress", self._done_at(now)

    def _done_at(self, moment: float) -> int:
        running = moment - self.created - self.script.validate_seconds
        if running <= 0:
            return 0
        done = int(len(self.rows) * running / max(self.script.run_seconds, 1e-9))
        if self.script.expire_after is not None:
            done = min(done, self.script.expire_after)
        return min(done, len(self.rows))

    def outcomes(self, now: float) -> list[tuple[str, str, Any]]:
        """Return (id, "ok" | "error" | "unfinished", reply text or (status, message)) per row."""
        _state, done = self.progress(now)
        lines: list[tuple[str, str, Any]] = []
        for index, (custom_id, body) in enumerate(self.rows):
            if index >= done:
                lines.append((custom_id, "unfinished", None))
            elif custom_id in self.script.row_errors:
                lines.append((custom_id, "error", self.script.row_errors[custom_id]))
            else:
                lines.append((custom_id, "ok", "Echo: " + last_user_text(body)))
        if self.script.shuffle:
            random.Random(self.script.seed).shuffle(lines)
        return lines

    def counts(self, now: float) -> tuple[int, int, int]:
        """Return (succeeded, failed, not finished)."""
        _state, done = self.progress(now)
        errors = sum(1 for custom_id, _ in self.rows[:done] if custom_id in self.script.row_errors)
        return done - errors, errors, len(self.rows) - done


def last_user_text(body: dict[str, Any]) -> str:
    """Return the last user turn's text in an OpenAI, Anthropic or Gemini request body."""
    for message in reversed(body.get("messages") or body.get("contents") or []):
        if message.get("role") != "user":
            continue
        content = message.get("content", message.get("parts"))
        if isinstance(content, str):
            return content
        return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))
    return ""


def usage_counts(body: dict[str, Any], text: str) -> tuple[int, int]:
    return len(last_user_text(body).split()), len(text.split())


def iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def json_answer(status: int, data: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, {**JSON_HEADERS, **(headers or {})}, json.dumps(data).encode()


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Return the form fields of a multipart body: name -> (file name, bytes)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise ValueError("multipart body without a boundary")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for chunk in body.split(b"--" + match.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        disposition = head.decode("latin-1")
        name = re.search(r'name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name is not None:
            fields[name.group(1)] = (filename.group(1) if filename else None, data.removesuffix(b"\r\n"))
    return fields


def completion_body(model: str, text: str, prompt: int, completion: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex[:12],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def gemini_response(model: str, text: str, prompt: int, completion: int) -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {
            "promptTokenCount": prompt,
            "candidatesTokenCount": completion,
            "totalTokenCount": prompt + completion,
        },
        "modelVersion": model.removeprefix("models/"),
    }


def anthropic_error(message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


def gemini_error(code: int, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "status": "INVALID_ARGUMENT" if code == 400 else "NOT_FOUND",
        }
    }
