"""Context fitting: never over budget, always the system prompt, newest and pinned messages."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from desktop_llm.core.context import (
    ContextMessage,
    ContextRequest,
    FitResult,
    Summary,
    fit_context,
)


def msg(id_: str, role: str, tokens: int, pinned: bool = False) -> ContextMessage:
    return ContextMessage(id=id_, role=role, text=f"text of {id_}", tokens=tokens, pinned=pinned)


def conversation(turns: int, tokens: int = 100, system: int = 50) -> list[ContextMessage]:
    messages = [msg("sys", "system", system)]
    for turn in range(turns):
        messages += [msg(f"u{turn}", "user", tokens), msg(f"a{turn}", "assistant", tokens)]
    return messages


def asking(turns: int) -> list[ContextMessage]:
    """Return ``conversation(turns)`` followed by a new 100-token question."""
    return [*conversation(turns), msg("new", "user", 100)]


def sent_ids(result: FitResult) -> list[str]:
    return [m.id for m in result.messages_to_send]


# --- properties over random conversations ------------------------------------------------------


def required_indices(messages: list[ContextMessage]) -> set[int]:
    users = [i for i, m in enumerate(messages) if m.role == "user"]
    required = {i for i, m in enumerate(messages) if m.role == "system" or m.pinned}
    return required | ({users[-1]} if users else set())


@st.composite
def requests(draw: st.DrawFn) -> ContextRequest:
    count = draw(st.integers(0, 30))
    messages = []
    if draw(st.booleans()):
        messages.append(msg("system-0", "system", draw(st.integers(0, 2000))))
    for i in range(count):
        role = draw(st.sampled_from(["user", "assistant"] * 4 + ["system"]))
        messages.append(msg(f"m{i}", role, draw(st.integers(0, 2000)), pinned=draw(st.integers(0, 9)) == 0))
    summary = None
    if messages and draw(st.booleans()):
        covers = draw(st.sampled_from([m.id for m in messages] + ["elsewhere"]))
        summary = Summary(msg("summary", "system", draw(st.integers(1, 2000))), covers_through_id=covers)
    # A window around what the kept minimum and the rest need, so every outcome is common.
    required = sum(messages[i].tokens for i in required_indices(messages))
    rest = sum(m.tokens for m in messages) - required
    max_output, margin = draw(st.integers(0, 4000)), draw(st.integers(0, 500))
    window = max(1, max_output + margin + required + draw(st.integers(-200, rest + 200)))
    if draw(st.integers(0, 19)) == 0:
        max_output = window  # no room at all
    return ContextRequest(
        messages=messages,
        context_window=window,
        max_output=max_output,
        margin=margin,
        strategy=draw(st.sampled_from(["sliding", "summarise"])),
        summary=summary,
        model_label="test-model",
        budget_scale=draw(st.sampled_from([1.0, 1.0, 0.8])),
    )


def turn_opener(messages: list[ContextMessage], index: int) -> int:
    return max((i for i in range(index + 1) if messages[i].role == "user"), default=-1)


@given(requests())
def test_fitting_never_exceeds_the_budget_and_keeps_what_must_stay(request: ContextRequest) -> None:
    messages = list(request.messages)
    result = fit_context(request)
    required = required_indices(messages)
    required_tokens = sum(messages[i].tokens for i in required)

    assert result.budget == request.budget
    assert result.total_tokens == sum(m.tokens for m in result.messages_to_send) <= result.budget
    assert result.required_tokens == required_tokens
    assert result.fits == (request.budget > 0 and required_tokens <= request.budget)
    assert result.reason
    if not result.fits:
        assert result.messages_to_send == ()
        return

    path_ids = [m.id for m in messages]
    sent_path = [i for i, m in enumerate(messages) if m.id in set(sent_ids(result))]
    assert required <= set(sent_path)
    assert [path_ids[i] for i in sent_path] == [i for i in sent_ids(result) if i != "summary"]  # path order
    assert set(result.dropped_ids) == set(path_ids) - {path_ids[i] for i in sent_path}

    if result.summary_used:
        assert request.strategy == "summarise" and request.summary is not None
        covers = path_ids.index(request.summary.covers_through_id)
        assert not [i for i in sent_path if i <= covers and i not in required]
        considered = [i for i in range(covers + 1, len(messages)) if i not in required]
    else:
        considered = [i for i in range(len(messages)) if i not in required]
    kept = [i for i in considered if i in sent_path]
    dropped = [i for i in considered if i not in sent_path]
    if kept and dropped:
        assert max(dropped) < min(kept)  # only the oldest go, no gaps in the history
    if dropped:
        # The next turn back would not have fitted.
        opener = turn_opener(messages, max(dropped))
        turn_cost = sum(messages[i].tokens for i in dropped if turn_opener(messages, i) == opener)
        assert result.total_tokens + turn_cost > result.budget
    if request.strategy == "summarise":
        assert result.needs_summary == bool(dropped)
    else:
        assert not result.needs_summary and not result.summary_used


# --- sliding -----------------------------------------------------------------------------------


def test_everything_is_sent_when_it_fits() -> None:
    messages = asking(3)
    result = fit_context(ContextRequest(messages, context_window=10_000, max_output=1_000))
    assert sent_ids(result) == [m.id for m in messages]
    assert result.dropped_ids == () and result.fits and not result.needs_summary
    assert result.reason == "All 8 messages fit in the model's window (750 of 9,000 tokens)."


def test_sliding_drops_whole_oldest_turns() -> None:
    messages = asking(5)  # 50 + 10 x 100 + 100
    result = fit_context(ContextRequest(messages, context_window=1_000, max_output=450, model_label="gpt-4o"))
    # budget 550: system 50 + new 100 leaves 400, two whole turns
    assert sent_ids(result) == ["sys", "u3", "a3", "u4", "a4", "new"]
    assert result.dropped_ids == ("u0", "a0", "u1", "a1", "u2", "a2")
    assert result.total_tokens == 550
    assert result.reason == "Left out the 6 oldest messages to fit gpt-4o's window (550 of 550 tokens)."


def test_a_reply_is_never_sent_without_its_question() -> None:
    messages = asking(2)
    result = fit_context(ContextRequest(messages, context_window=300, max_output=0))
    assert sent_ids(result) == ["sys", "new"]  # room for a1 alone, but not for u1 + a1


def test_pinned_messages_survive_however_old() -> None:
    messages = conversation(4)
    messages[2] = msg("a0", "assistant", 100, pinned=True)
    messages.append(msg("new", "user", 100))
    result = fit_context(ContextRequest(messages, context_window=450, max_output=0))
    assert sent_ids(result) == ["sys", "a0", "u3", "a3", "new"]


# --- not fitting -------------------------------------------------------------------------------


def test_when_the_minimum_does_not_fit_the_user_is_told_what_to_do() -> None:
    messages = [msg("sys", "system", 40_000), msg("u0", "user", 10), msg("a0", "assistant", 10)]
    messages.append(msg("new", "user", 100_000))
    result = fit_context(
        ContextRequest(messages, context_window=128_000, max_output=4_096, model_label="gpt-4o")
    )
    assert not result.fits and result.messages_to_send == () and result.total_tokens == 0
    assert result.required_tokens == 140_000
    assert result.reason == (
        "Your message and the system prompt need 140,000 tokens but gpt-4o's window leaves 123,904; "
        "shorten the message or pick a model with a larger window."
    )


def test_the_not_fitting_message_names_pinned_messages() -> None:
    messages = [msg("a", "assistant", 5_000, pinned=True), msg("b", "assistant", 5_000, pinned=True)]
    messages.append(msg("new", "user", 1_000))
    result = fit_context(
        ContextRequest(messages, context_window=8_192, max_output=1_024, model_label="llama3")
    )
    assert result.reason == (
        "Your message and 2 pinned messages need 11,000 tokens but llama3's window leaves 7,168; "
        "shorten the message, unpin messages or pick a model with a larger window."
    )


def test_a_message_alone_needs() -> None:
    result = fit_context(ContextRequest([msg("new", "user", 9_000)], context_window=8_192, max_output=0))
    assert result.reason.startswith("Your message needs 9,000 tokens but the model's window leaves 8,192;")


def test_no_room_left_for_the_prompt_says_so() -> None:
    result = fit_context(ContextRequest([msg("new", "user", 1)], 8_192, max_output=8_192, model_label="m"))
    assert not result.fits
    assert "leaves no room once 8,192 are reserved for the reply" in result.reason


# --- summarise ---------------------------------------------------------------------------------


def summary_of(through: str, tokens: int = 60) -> Summary:
    return Summary(msg("summary", "system", tokens), covers_through_id=through)


def test_a_stored_summary_stands_in_for_what_it_covers() -> None:
    messages = asking(5)
    request = ContextRequest(
        messages, context_window=1_000, max_output=0, strategy="summarise", summary=summary_of("a2")
    )
    result = fit_context(request)
    assert sent_ids(result) == ["sys", "summary", "u3", "a3", "u4", "a4", "new"]
    assert result.summary_used and not result.needs_summary
    assert result.total_tokens == 50 + 60 + 500
    assert result.reason.startswith("A summary stands in for 6 earlier messages to fit")


def test_the_summary_is_reused_until_the_newer_messages_outgrow_it() -> None:
    messages = asking(5)
    summary = summary_of("a1")
    roomy = fit_context(ContextRequest(messages, 1_000, 0, strategy="summarise", summary=summary))
    assert roomy.summary_used and not roomy.needs_summary
    assert sent_ids(roomy) == ["sys", "summary", "u2", "a2", "u3", "a3", "u4", "a4", "new"]

    tight = fit_context(ContextRequest(messages, 700, 0, strategy="summarise", summary=summary))
    assert tight.summary_used and tight.needs_summary  # u2/a2 are neither sent nor summarised
    assert sent_ids(tight) == ["sys", "summary", "u3", "a3", "u4", "a4", "new"]
    assert "and the 2 oldest messages after it are left out" in tight.reason


def test_without_a_usable_summary_summarise_slides_and_asks_for_one() -> None:
    messages = asking(5)
    for summary in (None, summary_of("not-on-this-branch"), summary_of("a2", tokens=10_000)):
        result = fit_context(ContextRequest(messages, 550, 0, strategy="summarise", summary=summary))
        assert not result.summary_used and result.needs_summary
        assert sent_ids(result) == ["sys", "u3", "a3", "u4", "a4", "new"]


def test_summarise_sends_everything_when_it_all_fits() -> None:
    messages = conversation(2)
    result = fit_context(ContextRequest(messages, 10_000, 0, strategy="summarise", summary=summary_of("a0")))
    assert sent_ids(result) == [m.id for m in messages] and not result.summary_used


# --- retry with a smaller budget ---------------------------------------------------------------


def test_shrinking_asks_for_less_after_a_too_long_error() -> None:
    messages = asking(5)
    request = ContextRequest(messages, context_window=1_450, max_output=450)
    first = fit_context(request)
    retry = fit_context(request.shrunk())
    assert request.shrunk().budget == 800 and request.shrunk().shrunk().budget == 640
    assert retry.total_tokens <= 800 < first.total_tokens
    assert set(first.dropped_ids) < set(retry.dropped_ids)


def test_a_lone_pinned_message_needs() -> None:
    result = fit_context(ContextRequest([msg("a", "assistant", 9_000, pinned=True)], 8_192, 0))
    assert result.reason.startswith("1 pinned message needs 9,000 tokens")
    assert "unpin messages or pick a model" in result.reason
