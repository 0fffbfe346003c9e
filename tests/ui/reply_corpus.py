"""Replies as models write them, covering every construct the chat view renders (for identity tests)."""

from __future__ import annotations

REPLIES: list[str] = [
    # 0 headings of every level, atx and setext
    "# Title\n\n## Section\n\n### Sub\n\n#### Four\n\n##### Five\n\n###### Six\n\n"
    "Setext one\n===\n\nSetext two\n---\n",
    # 1 emphasis, strong, strikethrough, inline code
    "Plain *em* _em_ **strong** __strong__ ***both*** ~~gone~~ and `code` with `` ` `` inside.",
    # 2 fenced code with and without a language, tildes, longer fences
    "```python\ndef f(x):\n    return x * 2\n```\n\n```\nno language\n```\n\n"
    "~~~js\nlet a = 1;\n~~~\n\n````\n```\nnested\n```\n````\n",
    # 3 indented code
    "Before:\n\n    indented code\n    more code\n\nAfter.",
    # 4 tight bullet list, nested
    "- one\n- two\n  - two a\n  - two b\n    - deep\n- three\n",
    # 5 loose ordered list starting at 3
    "3. third\n\n4. fourth\n\n5. fifth\n",
    # 6 blockquote with a list and code
    "> Quoted text\n> - item in quote\n>\n> ```\n> code in quote\n> ```\n\nAfter the quote.",
    # 7 nested blockquotes
    "> outer\n>> inner\n>>> innermost\n\nback out",
    # 8 table with alignments
    "| Left | Centre | Right |\n|:-----|:------:|------:|\n| a | b | c |\n| dd | ee | ff |\n",
    # 9 thematic breaks
    "Above\n\n---\n\n***\n\n___\n\nBelow",
    # 10 inline links, autolinks, unsafe links
    "See [site](https://example.com), <https://auto.example>, <me@example.com> and [bad](javascript:x).",
    # 11 reference links defined at the end
    "Read [the guide][guide] and [the FAQ][] then [again][guide].\n\nMore text.\n\n"
    '[guide]: https://example.com/guide\n[the faq]: https://example.com/faq "FAQ"\n',
    # 12 reference link defined before use
    "[docs]: https://docs.example\n\nUse [docs] often.\n",
    # 13 images are never fetched
    "![a chart](https://example.com/chart.png) and ![](https://example.com/blank.png)",
    # 14 raw HTML escaped
    "<div>not html</div>\n\nInline <b>bold?</b> &amp; &lt;tag&gt; &copy;",
    # 15 hard and soft line breaks
    "line one  \nline two\\\nline three\nline four",
    # 16 escaped characters
    "\\*not em\\* \\# not heading \\[not link\\] \\`not code\\`",
    # 17 CRLF line endings
    "# CRLF\r\n\r\n- a\r\n- b\r\n\r\n```\r\ncode\r\n```\r\n",
    # 18 a long paragraph
    " ".join(f"word{i}" for i in range(400)),
    # 19 code with HTML-looking content
    "```html\n<script>alert('x')</script>\n<a href=\"#\">link</a>\n```\n",
    # 20 mixed list with code in an item
    "1. Install:\n\n   ```bash\n   pip install thing\n   ```\n\n2. Run it.\n",
    # 21 task-list-looking items (shown as text)
    "- [ ] todo\n- [x] done\n",
    # 22 emphasis edge cases
    "snake_case_name and 2*3*4 and **unclosed bold",
    # 23 heading followed by table without blank line
    "## Results\n| k | v |\n|---|---|\n| x | 1 |\n",
    # 24 an unclosed fence at the end
    "Start:\n\n```python\nprint('never closed')\n",
    # 25 entities and unicode
    "Caf&eacute; — naïve — 日本語 — emoji 🎉 — &#x1F600;",
    # 26 a list after a paragraph without a blank line
    "Options:\n- first\n- second\n\nDone.",
    # 27 reference image and collapsed reference
    "![logo][img] and [Example][]\n\n[img]: https://example.com/logo.png\n[example]: https://example.com\n",
    # 28 a table with inline formatting and pipes escaped
    "| Code | Meaning |\n|---|---|\n| `a \\| b` | **or** |\n| [x](https://x.example) | link |\n",
    # 29 several code blocks in a row
    "```\na\n```\n```\nb\n```\n```\nc\n```\n",
    # 30 a long tight list
    "".join(f"- item {i}\n" for i in range(60)),
    # 31 nested ordered and unordered lists with paragraphs
    "1. First\n   - a\n   - b\n2. Second\n\n   Paragraph in item.\n3. Third\n",
    # 32 a reference used in a list and a quote, defined far below
    "- see [ref]\n\n> and [ref] here\n\n" + "Filler paragraph.\n\n" * 5 + "[ref]: https://ref.example\n",
    # 33 math-looking and currency text (kept as written until math is rendered)
    "It costs $5 and $10, and `$x$` stays code.",
    # 35 a table longer than the row limit, then prose
    "| n | square |\n|--:|--:|\n" + "".join(f"| {i} | {i * i} |\n" for i in range(260)) + "\nThat is all.\n",
    # 36 a table whose rows have no leading pipe, then a list
    "a | b\n--- | ---\n1 | 2\n3 | 4\n- after\n",
    # 37 inline and display math in every notation
    "Euler: $e^{i\\pi} + 1 = 0$ and \\(a^2\\).\n\n$$\\sum_{n=1}^\\infty \\frac{1}{n^2}$$\n\n\\[x = 1\\]\n",
]
