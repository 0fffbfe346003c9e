"""Key redaction: every real key is hidden, placeholder keys of local servers do not garble text."""

from desktop_llm.providers.errors import redact


def test_a_real_key_is_hidden_everywhere_it_appears() -> None:
    key = "sk-proj-abcdef123456"
    assert redact(f"bad key {key}; again {key}", key) == "bad key [redacted]; again [redacted]"


def test_a_placeholder_key_leaves_the_message_readable() -> None:
    assert redact("incomplete chunked read", "k") == "incomplete chunked read"


def test_missing_secrets_are_ignored() -> None:
    assert redact("text", None, "") == "text"
