"""search(): prefixes, CJK, phrases, FTS syntax as plain words, titles, trash, snippets, index upkeep."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.search import search
from desktop_llm.storage.searchtext import match_expression


def _say(db: Database, title: str, *texts: str) -> tuple[str, list[str]]:
    """Create a conversation with one message per text; return its id and the message ids."""
    conversation = ConversationRepository(db).create(title)
    messages = MessageRepository(db)
    parent = None
    ids = []
    for text in texts:
        parent = messages.append(conversation.id, parent_id=parent, role="user", content=text).id
        ids.append(parent)
    return conversation.id, ids


def _message_ids(db: Database, query: str, **options: bool) -> set[str | None]:
    return {hit.message_id for hit in search(db, query, **options)}


def _integrity(db: Database) -> None:
    for table in ("message_search", "conversation_search"):
        db.conn.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)")


def test_every_word_is_a_prefix_and_all_must_appear(db: Database) -> None:
    _, (both, one) = _say(db, "t", "The quick brown fox jumps", "A quick reply")
    assert _message_ids(db, "qui") == {both, one}
    assert _message_ids(db, "qui bro") == {both}
    assert _message_ids(db, "QUICK FOX") == {both}
    assert _message_ids(db, "quick zebra") == set()


def test_case_and_accents_are_folded(db: Database) -> None:
    _, (message,) = _say(db, "t", "Un café à Montréal")
    assert _message_ids(db, "cafe montreal") == {message}
    assert _message_ids(db, "CAFÉ") == {message}


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("東京", True),
        ("東", True),
        ("京に住", True),
        ("私は東京", True),
        ("大阪", False),
        ("住んでいます", True),
    ],
)
def test_cjk_text_is_found_inside_longer_runs(db: Database, query: str, found: bool) -> None:
    _, (message,) = _say(db, "t", "私は東京に住んでいます")
    assert (_message_ids(db, query) == {message}) is found


def test_cjk_and_latin_mixed(db: Database) -> None:
    _, (message,) = _say(db, "t", "東京tower is tall; 서울특별시 is big")
    assert _message_ids(db, "東京tow") == {message}
    assert _message_ids(db, "특별") == {message}
    assert _message_ids(db, "tall 東京") == {message}


def test_quoted_phrases_must_appear_in_order(db: Database) -> None:
    _, (ordered, shuffled) = _say(db, "t", "red green blue", "blue green red")
    assert _message_ids(db, '"green blue"') == {ordered}
    assert _message_ids(db, '"blue green"') == {shuffled}
    assert _message_ids(db, "green blue") == {ordered, shuffled}


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"unbalanced',
        "*",
        "a*b",
        "AND",
        "OR NOT",
        "NEAR(",
        "NEAR(a b, 3)",
        "-",
        "-x",
        ":",
        "body:x",
        "^x",
        "(",
        ")",
        "{body}: x",
        "x'y",
        "+",
        "''",
        '""',
        '"" ""',
        "\u200b",
        "\x00",
        "   ",
        "",
    ],
)
def test_fts_syntax_is_plain_words_and_never_raises(db: Database, query: str) -> None:
    _say(db, "t", "AND OR NOT NEAR body x a b y")
    search(db, query)  # must not raise


def test_operator_words_are_searched_as_words(db: Database) -> None:
    _, (with_words,) = _say(db, "t", "Use AND and NEAR in a query")
    _say(db, "u", "nothing relevant")
    assert _message_ids(db, "AND") == {with_words}
    assert _message_ids(db, "NEAR(") == {with_words}
    assert _message_ids(db, "-query") == {with_words}
    assert _message_ids(db, "body:query") == set()  # "body" is not in the text: a word, not a column filter


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=40))
def test_no_query_raises(db: Database, query: str) -> None:
    search(db, query)
    expression = match_expression(query)
    assert expression is None or expression.count('"') % 2 == 0


def test_titles_match_first_with_no_message_id(db: Database) -> None:
    conversation, (message,) = _say(db, "Holiday in Lisbon", "We flew to Lisbon in May")
    hits = search(db, "lisbon")
    assert [(hit.conversation_id, hit.message_id) for hit in hits] == [
        (conversation, None),
        (conversation, message),
    ]
    assert hits[0].title == "Holiday in Lisbon"
    assert hits[0].snippet == "Holiday in [Lisbon]"


def test_renaming_updates_the_title_index(db: Database) -> None:
    conversation, _ = _say(db, "Old name")
    repo = ConversationRepository(db)
    repo.rename(conversation, "Brand new")
    assert search(db, "old") == []
    assert [hit.conversation_id for hit in search(db, "brand")] == [conversation]
    _integrity(db)


def test_trash_is_left_out_unless_asked(db: Database) -> None:
    conversation, (message,) = _say(db, "Binned", "secret recipe")
    ConversationRepository(db).trash(conversation)
    assert search(db, "recipe") == []
    assert search(db, "binned") == []
    assert _message_ids(db, "recipe", include_trash=True) == {message}
    ConversationRepository(db).restore(conversation)
    assert _message_ids(db, "recipe") == {message}


def test_purged_and_deleted_messages_leave_the_index(db: Database) -> None:
    conversation, (first, second) = _say(db, "Gone", "alpha words", "beta words")
    MessageRepository(db).delete(second)
    assert _message_ids(db, "words") == {first}
    ConversationRepository(db).purge(conversation)
    assert search(db, "words") == [] and search(db, "gone") == []
    _integrity(db)


def test_snippets_are_short_plain_and_marked(db: Database) -> None:
    filler = " ".join(f"word{index}" for index in range(200))
    _say(db, "t", f"{filler}\n\nthe needle\tis here\n{filler}")
    (hit,) = search(db, "needle")
    assert "[needle]" in hit.snippet
    assert "\n" not in hit.snippet and "\t" not in hit.snippet
    assert len(hit.snippet) < 160
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")


def test_cjk_snippets_have_no_separators(db: Database) -> None:
    _say(db, "t", "私は東京に住んでいます")
    (hit,) = search(db, "東京")
    assert hit.snippet.startswith("私は[東京]に住")
    assert "\u200b" not in hit.snippet


def test_newest_messages_come_first_and_limit_holds(db: Database) -> None:
    _, ids = _say(db, "t", *[f"common text number {index}" for index in range(30)])
    hits = search(db, "common", limit=10)
    assert [hit.message_id for hit in hits] == list(reversed(ids))[:10]
    assert search(db, "common", limit=0) == []


def test_the_index_stays_consistent_through_every_change(db: Database) -> None:
    conversation, (question,) = _say(db, "Consistency", "first question")
    messages = MessageRepository(db)
    reply = messages.append(
        conversation, parent_id=question, role="assistant", content="", status="streaming"
    )
    messages.update_streaming(reply.id, "partial")
    messages.finish(reply.id, status="stopped", content="partial answer")
    messages.finish(reply.id, status="complete", content="final answer")  # finishing again re-indexes
    assert _message_ids(db, "partial") == set()
    assert _message_ids(db, "final") == {reply.id}
    ConversationRepository(db).rename(conversation, "Renamed")
    messages.delete(reply.id)
    _integrity(db)
