"""Key redaction: every real key is hidden, placeholder keys of local servers do not garble text."""

import json
from urllib.parse import quote

from desktop_llm.providers.errors import redact
from desktop_llm.ui.logs import KeyRedactor


def test_a_real_key_is_hidden_everywhere_it_appears() -> None:
    key = "sk-proj-abcdef123456"
    assert redact(f"bad key {key}; again {key}", key) == "bad key [redacted]; again [redacted]"


def test_a_placeholder_key_leaves_the_message_readable() -> None:
    assert redact("incomplete chunked read", "k") == "incomplete chunked read"


def test_missing_secrets_are_ignored() -> None:
    assert redact("text", None, "") == "text"


def test_escaped_forms_of_a_key_are_hidden_too() -> None:
    key = "sk-test\x01é-0123456789"
    for shown in (repr(key), ascii(key), json.dumps(key), repr(key.encode()), quote(key, safe="")):
        redacted = redact(f"Invalid header value {shown} in the request", key)
        assert "[redacted]" in redacted, shown
        assert "0123456789" not in redacted and "sk-test" not in redacted, shown


def test_the_log_redactor_hides_escaped_forms_of_the_keys_it_knows() -> None:
    key = "sk-live\ttab-0123456789"
    redactor = KeyRedactor([key])
    for shown in (repr(key), json.dumps(key), key):
        assert "0123456789" not in redactor.redact(f"header {shown} refused"), shown
