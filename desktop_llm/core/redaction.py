"""The forms in which a secret (an API key) can appear in text, for redaction.

Shared by the providers' error messages and the log: this module imports nothing of the app,
so the log can redact from the first line the app writes, before the providers load.
"""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

# Shorter "keys" are placeholders for local servers ("x", "none"); replacing every occurrence of
# them would garble messages without protecting anything.
MIN_REDACTED_LENGTH = 6


def secret_forms(secret: str) -> set[str]:
    """Return the ways ``secret`` can appear in text: as it is, and quoted the ways code quotes it.

    A key with an unusual character shows up escaped: ``repr`` in a traceback or an httpx error
    (``\\x01``), JSON (``\\u0001``), a URL (``%01``), the repr of its bytes (``\\xc3\\xa9``).
    Forms shorter than ``MIN_REDACTED_LENGTH`` are left out.
    """
    forms = {
        secret,
        repr(secret)[1:-1],
        ascii(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret.encode("utf-8", "surrogatepass"))[2:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    }
    return {form for form in forms if len(form) >= MIN_REDACTED_LENGTH}
