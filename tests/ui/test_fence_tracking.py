"""An open code fence is tracked line by line: the same steps as re-scanning it, for every split."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_llm.core.highlight_pool import HighlightPool
from desktop_llm.core.markdown import MarkdownRenderer
from desktop_llm.core.markdown_stream import MarkdownStream, StreamStep
from desktop_llm.core.theme import LIGHT

# Lines chosen to open, close, nearly close and not close fences of both kinds.
LINES = [
    "```python",
    "```",
    "````",
    "~~~",
    "~~~~ js",
    "   ```",
    "    ```",
    "``` not a closer",
    "```  \t",
    "x = 1",
    "    indented code",
    "",
    "A paragraph of prose.",
    "- a list item",
    "# Heading",
    "| a | b |",
    "|---|---|",
]


class RescanningStream(MarkdownStream):
    """The stream as it was before tracking: the open fence is found again on every step."""

    def step(self, max_chars: int | None = None, *, ending: bool = False) -> StreamStep:
        self._fence = None
        return super().step(max_chars, ending=ending)


def replies() -> st.SearchStrategy[str]:
    breaks = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r"])
    lines = st.lists(st.tuples(st.sampled_from(LINES), breaks), min_size=1, max_size=25)
    return lines.map(lambda pairs: "".join(line + brk for line, brk in pairs))


@settings(max_examples=200, deadline=None)
@given(text=replies(), data=st.data())
def test_tracking_an_open_fence_gives_the_steps_of_rescanning_it(text: str, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=30), label="cuts")
    renderer = MarkdownRenderer(highlighter=_NO_HIGHLIGHTS)
    tracked = MarkdownStream(renderer, "m", LIGHT)
    rescanned = RescanningStream(renderer, "m", LIGHT)
    bounds = [0, *sorted(set(cuts)), len(text)]
    for start, end in itertools.pairwise(bounds):
        tracked.append(text[start:end])
        rescanned.append(text[start:end])
        assert tracked.step() == rescanned.step()
    final = tracked.step(ending=True)
    assert final == rescanned.step(ending=True)
    # And the finished message has exactly the code blocks of the reply rendered whole.
    whole = renderer.render(text, message_id="m", palette=LIGHT)
    assert (*tracked.code_blocks, *tracked.tail_code_blocks) == whole.code_blocks


def _closed_pool() -> HighlightPool:
    pool = HighlightPool()
    pool.close()  # refuses every job: blocks stay plain and pending, the same for both streams
    return pool


_NO_HIGHLIGHTS = _closed_pool()
