"""Describe a provider batch job: the requests going in, its status, and each row's outcome.

The three batch engines (OpenAI's Batch API, Anthropic's Message Batches, Gemini's batch mode)
differ on the wire but share one life: a file or list of requests, each with the caller's id,
is submitted; the job runs for up to a day; its results come back in any order, each carrying
the id it was given. These types are that shared life in plain data; ``batch_base`` holds the
shared machinery and ``batch_openai``, ``batch_anthropic`` and ``batch_gemini`` the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from desktop_llm.providers.types import ChatRequest, ChatResult

__all__ = [
    "ACTIVE_STATES",
    "BatchItem",
    "BatchLimits",
    "BatchOutcome",
    "JobState",
    "RemoteJob",
]

# The job's life in one vocabulary: "running" covers validating, queued and finalizing;
# "ended" means every row has a result (succeeded or not).
JobState = Literal["running", "cancelling", "ended", "cancelled", "expired", "failed"]
ACTIVE_STATES: Final = frozenset({"running", "cancelling"})


@dataclass(frozen=True)
class BatchItem:
    """One request of a batch and the id its result comes back with.

    Args:
        custom_id: unique in the batch; letters, digits, ``_`` and ``-`` (every provider takes these).
        request: the chat request (one reply, no streaming).
    """

    custom_id: str
    request: ChatRequest


@dataclass(frozen=True)
class BatchLimits:
    """How much one provider batch may hold; larger inputs are split into several jobs.

    Args:
        max_requests: requests in one job.
        max_bytes: bytes of the request file (or body) of one job.
    """

    max_requests: int
    max_bytes: int

    def __post_init__(self) -> None:
        if self.max_requests < 1 or self.max_bytes < 1:
            raise ValueError("Batch limits must be at least 1.")


@dataclass(frozen=True)
class RemoteJob:
    """A provider batch job as last seen.

    Args:
        id: the provider's id for it.
        state: where it stands (``JobState``).
        total: requests in it.
        succeeded: requests answered.
        failed: requests that failed (errored, expired or cancelled).
        error: why the whole job failed, when ``state`` is "failed".
        output: where its results are, in the provider's terms (file ids, a URL); opaque to callers.
    """

    id: str
    state: JobState
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    error: str | None = None
    output: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Return whether the job may still change."""
        return self.state in ACTIVE_STATES


@dataclass(frozen=True)
class BatchOutcome:
    """One row's result from a job: a reply, or the reason it has none.

    Args:
        custom_id: the id the row was submitted with.
        result: the reply, when the row succeeded.
        error: why the row has no reply (the provider's own words where it gave them).
    """

    custom_id: str
    result: ChatResult | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Return whether the row got a reply."""
        return self.result is not None
