"""Make timestamps and identifiers in the stored formats (ISO-8601 UTC with milliseconds; UUID4)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def format_timestamp(moment: datetime) -> str:
    """Return ``moment`` as stored: ``2026-11-27T19:40:59.123Z`` (UTC, milliseconds)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def now_timestamp() -> str:
    """Return the current time as a stored timestamp."""
    return format_timestamp(datetime.now(UTC))


def new_id() -> str:
    """Return a fresh UUID4 string."""
    return str(uuid.uuid4())
