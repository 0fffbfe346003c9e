"""Render chat markdown into safe HTML for Qt's rich-text engine (a subset of HTML 4 and CSS).

Safety rules, all enforced here rather than trusted to the widget:

- raw HTML in a reply is text (markdown-it ``html=False``; everything else is escaped);
- only ``http``, ``https`` and ``mailto`` become links; any other destination (``javascript:``,
  ``file:``, relative paths) fails validation and markdown-it leaves the source as plain text;
- images are never embedded, so nothing is ever fetched: the alt text and the address (as a
  link) are shown instead.

Code fences are highlighted with Pygments using inline colours (Qt ignores stylesheets with
classes), never on this thread: a block is first rendered plain and its highlighting job is
listed in ``RenderedMarkdown.pending`` (and submitted to the ``HighlightPool``, whose worker
process has a time budget per block); once the pool has the result, rendering the same block
again gives it colours, and the view swaps the highlighted code into the document in place.
Every code block gets a "Copy" link ``copy-code:<message id>:<n>``, n counting code blocks from 0
in the message; the code itself comes back in ``RenderedMarkdown.code_blocks`` so the view can
put exactly that on the clipboard.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from desktop_llm.core.highlight_pool import HighlightJob, HighlightPool
from desktop_llm.core.markdown_limits import NO_LIMITS, Limits, limit_markdown
from desktop_llm.core.math_markdown import MATH_DISPLAY, MATH_INLINE, math_plugin
from desktop_llm.core.math_svg import formula_name
from desktop_llm.core.theme import Palette

if TYPE_CHECKING:  # markdown-it loads with the first render, after the window shows its list
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import OptionsDict

SAFE_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
COPY_CODE_SCHEME = "copy-code"
SHOW_ALL_SCHEME = "show-all"  # show-all:<message id>: render the message without limits
# Per block (the same whether a block arrives whole or streamed); finished messages also have
# a limit on their whole length (``Limits().total_chars``).
BLOCK_LIMITS = Limits(total_chars=None)
# Paragraphs in this Qt block state are interface (labels, links), not message content: the
# view leaves them out when the reader copies a selection. ``-qt-user-state`` is Qt's CSS for it.
CHROME_STATE = 1
CHROME_STYLE = f"margin: 0; -qt-user-state: {CHROME_STATE};"
# Markdown's h1 is a page title; in a chat bubble it reads better one step smaller.
_WARM_UP_SAMPLE = "# a\n\n*b* `c` [d](https://e.f)\n\n| g |\n|---|\n| h |\n\n```python\ni = 1\n```\n"
_HEADING_TAGS = {"h1": "h2", "h2": "h3", "h3": "h4", "h4": "h4", "h5": "h5", "h6": "h5"}


def is_safe_link(url: str) -> bool:
    """Return True if ``url`` may become a clickable link (http, https or mailto only)."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:  # malformed, e.g. an unbalanced IPv6 bracket
        return False
    return scheme in SAFE_LINK_SCHEMES


def content_hash(text: str) -> bytes:
    """Return a short digest of ``text`` for cache keys."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass(frozen=True)
class RenderedMarkdown:
    """HTML for one piece of a message and the code of its fenced blocks, in order."""

    html: str
    code_blocks: tuple[str, ...] = ()
    # Code blocks shown plain until their highlighting arrives: (code block index, job).
    pending: tuple[tuple[int, HighlightJob], ...] = ()
    hidden: bool = False  # parts were left out under the limits (code_blocks are cut too)


@dataclass
class _RenderContext:
    message_id: str
    palette: Palette
    mono_family: str
    highlight_limit: int | None
    next_code_index: int
    code_blocks: list[str]
    highlighter: HighlightPool | None
    pending: list[tuple[int, HighlightJob]]
    math_pixel_size: int = 16


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


class MarkdownRenderer:
    """Turn markdown (assistant replies) or plain text (user input) into Qt-safe HTML.

    One renderer can serve every chat view: it holds no per-view state besides an LRU cache
    of whole-message renders keyed by (message id, content hash, theme).

    Args:
        mono_family: font family for code (the view passes the system's fixed-width font).
        cache_size: how many rendered messages to keep.
        highlighter: highlights code blocks off this thread (the app's; None: code stays plain).
    """

    def __init__(
        self,
        *,
        mono_family: str = "monospace",
        cache_size: int = 4096,
        highlighter: HighlightPool | None = None,
    ) -> None:
        self.mono_family = mono_family
        self.math_pixel_size = 16  # formulas are drawn at the text's size (the view sets it)
        self.highlighter = highlighter
        self._cache: OrderedDict[tuple[str, bytes, str, str], RenderedMarkdown] = OrderedDict()
        self._cache_size = cache_size
        self._warm = False
        self._parser: MarkdownIt | None = None

    def warm_up(self, palette: Palette) -> None:
        """Compile the parser's patterns and start the highlighter's worker now, once.

        Done while the window is idle, the first reply does not wait for either.
        """
        if not self._warm:
            self._warm = True
            if self.highlighter is not None:
                self.highlighter.start()
            self.render(_WARM_UP_SAMPLE, message_id="warm-up", palette=palette)

    def render(
        self,
        text: str,
        *,
        message_id: str,
        palette: Palette,
        first_code_index: int = 0,
        highlight_limit: int | None = None,
        limits: Limits = BLOCK_LIMITS,
        references: dict[str, Any] | None = None,
    ) -> RenderedMarkdown:
        """Render markdown ``text`` to HTML, numbering code blocks from ``first_code_index``.

        ``highlight_limit``: code blocks longer than this many characters are shown without
        colours (used for the still-growing tail of a stream, which is re-rendered often).
        Blocks whose highlighting is not known yet are shown plain, submitted to the
        highlighter and listed in the result's ``pending``. Tables, code and length are cut
        to ``limits`` (see ``core.markdown_limits``). ``references``: link reference
        definitions found elsewhere in the message (a streamed piece uses the whole reply's).
        """
        limited = limit_markdown(text, limits)
        context = _RenderContext(
            message_id=message_id,
            palette=palette,
            mono_family=self.mono_family,
            highlight_limit=highlight_limit,
            next_code_index=first_code_index,
            code_blocks=[],
            highlighter=self.highlighter,
            pending=[],
            math_pixel_size=self.math_pixel_size,
        )
        env = {"chat": context, "references": dict(references or {})}
        markup = self.parser.render(limited.text, env)
        for _index, job in context.pending:  # only listed when there is a highlighter
            assert self.highlighter is not None
            self.highlighter.submit(job)
        return RenderedMarkdown(markup, tuple(context.code_blocks), tuple(context.pending), limited.hidden)

    def table_rows(
        self, head: str, rows: str, *, message_id: str, palette: Palette
    ) -> list[list[tuple[str, str]]]:
        """Return the body rows of the table ``head`` + ``rows`` as cells of (inline HTML, alignment).

        ``head`` is the header and delimiter lines; used to grow a streaming table row by row.
        """
        context = _RenderContext(
            message_id=message_id,
            palette=palette,
            mono_family=self.mono_family,
            highlight_limit=None,
            next_code_index=0,
            code_blocks=[],
            highlighter=None,
            pending=[],
            math_pixel_size=self.math_pixel_size,
        )
        env: dict[str, Any] = {"chat": context}
        renderer = cast("RendererHTML", self.parser.renderer)  # the parser's, built in _build_parser
        result: list[list[tuple[str, str]]] = []
        in_body, alignment = False, ""
        for token in self.parser.parse(head + rows, env):
            if token.type == "tbody_open":
                in_body = True
            elif in_body and token.type == "tr_open":
                result.append([])
            elif in_body and token.type == "td_open":
                style = str(token.attrGet("style") or "")
                alignment = next((a for a in ("left", "center", "right") if f"text-align:{a}" in style), "")
            elif in_body and token.type == "inline" and result:
                html = renderer.renderInline(token.children or [], self.parser.options, env)
                result[-1].append((html, alignment))
        return result

    def code_blocks_of(self, text: str) -> tuple[str, ...]:
        """Return the code of every fenced or indented block of ``text``, whole (no limits)."""
        tokens = self.parser.parse(text)
        return tuple(t.content.removesuffix("\n") for t in tokens if t.type in ("fence", "code_block"))

    def render_message(
        self, message_id: str, text: str, palette: Palette, *, markdown: bool, whole: bool = False
    ) -> RenderedMarkdown:
        """Render a whole message, from the cache when the same content was rendered before.

        A long message is cut to ``Limits()`` and ends with a "Show all" link, unless ``whole``.
        """
        kind = ("md" if markdown else "plain") + ("-whole" if whole else "") + f"-{self.math_pixel_size}"
        key = (message_id, content_hash(text), palette.name, kind)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        if markdown:
            rendered = self.render(
                text, message_id=message_id, palette=palette, limits=NO_LIMITS if whole else Limits()
            )
            if rendered.hidden:
                rendered = replace(rendered, html=rendered.html + show_all_html(message_id, palette))
        else:
            rendered = RenderedMarkdown(render_plain(text))
        if rendered.pending:  # rendered again once its colours arrive
            return rendered
        self._cache[key] = rendered
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return rendered

    @property
    def parser(self) -> MarkdownIt:
        """Return the markdown parser, built (and markdown-it imported) on first use."""
        if self._parser is None:
            self._parser = self._build_parser()
        return self._parser

    def _build_parser(self) -> MarkdownIt:
        from markdown_it import MarkdownIt

        parser = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
        parser.enable(["table", "strikethrough"])
        parser.validateLink = is_safe_link  # type: ignore[method-assign]
        math_plugin(parser)
        for name, rule in (
            ("fence", _render_fence),
            ("code_block", _render_fence),
            ("code_inline", _render_code_inline),
            ("image", _render_image),
            ("table_open", _render_table_open),
            ("th_open", _render_cell_open),
            ("td_open", _render_cell_open),
            ("heading_open", _render_heading),
            ("heading_close", _render_heading),
            ("blockquote_open", _render_blockquote_open),
            ("hr", _render_rule),
            (MATH_INLINE, _render_math),
            (MATH_DISPLAY, _render_math),
        ):
            parser.add_render_rule(name, rule)
        return parser


def show_all_html(message_id: str, palette: Palette) -> str:
    """Return the line that offers to render a cut message whole."""
    href = _escape(f"{SHOW_ALL_SCHEME}:{message_id}")
    return (
        f'<p style="{CHROME_STYLE}"><small><span style="color: {palette.muted}">Part of this message is'
        f' hidden to keep the window responsive. </span><a href="{href}">Show all</a></small></p>'
    )


def render_plain(text: str) -> str:
    """Render text exactly as typed (line breaks and spaces kept), escaped."""
    return f'<p style="white-space: pre-wrap">{_escape(text)}</p>'


def code_box_header_html(language: str, palette: Palette) -> str:
    """Return the band that opens a code block still being streamed (its label, no Copy link yet)."""
    label = _escape(language) if language else "code"
    return (
        f'<p style="{CHROME_STYLE} margin-top: 6px; background-color: {palette.code_header_background};'
        f' text-indent: 10px;"><small><span style="color: {palette.muted}">{label}</span></small></p>'
    )


def code_box_lines_html(code: str, mono_family: str, palette: Palette) -> str:
    """Return complete code lines of a block still being streamed: plain, on the code background."""
    lines = _escape(re.sub(r"\r\n?|\n", "\n", code).removesuffix("\n"))
    # One block per line; text-indent stands in for the padding blocks do not have.
    return (
        f'<pre style="margin: 0; white-space: pre-wrap; font-family: {_escape(mono_family)};'
        f' background-color: {palette.code_background}; text-indent: 10px;">{lines}</pre>'
    )


def _context(env: Any) -> _RenderContext:
    context: _RenderContext = env["chat"]
    return context


def _render_fence(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    token = tokens[idx]
    ctx = _context(env)
    language = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else ""
    code = token.content[:-1] if token.content.endswith("\n") else token.content
    index = ctx.next_code_index
    ctx.next_code_index += 1
    ctx.code_blocks.append(code)

    body = _escape(code)
    highlighter = ctx.highlighter
    small = ctx.highlight_limit is None or len(code) <= ctx.highlight_limit
    if language and highlighter is not None and small:
        job = HighlightJob(code, language, ctx.palette.pygments_style)
        known, highlighted = highlighter.lookup(job.key)
        if highlighted is not None:
            body = highlighted
        elif not known:
            ctx.pending.append((index, job))
    palette = ctx.palette
    href = _escape(f"{COPY_CODE_SCHEME}:{ctx.message_id}:{index}")
    label = _escape(language) if language else "code"
    # A table is the only box Qt draws with a background and padding; a header band instead of
    # borders because Qt draws table borders around every cell.
    return (
        f'<table width="100%" cellspacing="0" cellpadding="0" border="0" bgcolor="{palette.code_background}"'
        f' style="margin-top: 6px; margin-bottom: 6px;">'
        f'<tr><td bgcolor="{palette.code_header_background}" style="padding: 3px 10px;">'
        f'<p style="{CHROME_STYLE}"><small><span style="color: {palette.muted}">{label}</span>'
        f"</small></p></td>"
        f'<td align="right" bgcolor="{palette.code_header_background}" style="padding: 3px 10px;">'
        f'<p style="{CHROME_STYLE}"><small><a href="{href}">Copy</a></small></p></td></tr>'
        f'<tr><td colspan="2" style="padding: 6px 10px 8px 10px;">'
        f"{code_pre_html(body, ctx.mono_family)}</td></tr></table>\n"
    )


def code_pre_html(body: str, mono_family: str) -> str:
    """Return the ``<pre>`` that holds a code block's (escaped or highlighted) ``body``."""
    return f'<pre style="margin: 0; white-space: pre-wrap; font-family: {_escape(mono_family)};">{body}</pre>'


def _render_math(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    token = tokens[idx]
    ctx = _context(env)
    display = token.type == MATH_DISPLAY
    name = formula_name(token.content, display, ctx.palette.text, ctx.math_pixel_size)
    # An image the view draws (math_images): never fetched, its name says everything about it.
    image = f'<img src="{_escape(name)}" style="vertical-align: middle" />'
    if not display:
        return image
    # Display math sits on a line of its own.
    breaks = ("softbreak", "hardbreak")
    before = "<br />" if idx > 0 and tokens[idx - 1].type not in breaks else ""
    after = "<br />" if idx < len(tokens) - 1 and tokens[idx + 1].type not in breaks else ""
    return f"{before}{image}{after}"


def _render_code_inline(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    ctx = _context(env)
    return (
        f'<code style="background-color: {ctx.palette.inline_code_background};'
        f' font-family: {_escape(ctx.mono_family)};">{_escape(tokens[idx].content)}</code>'
    )


def _render_image(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    token = tokens[idx]
    ctx = _context(env)
    alt = self.renderInlineAsText(token.children or [], options, env)
    source = str(token.attrGet("src") or "")
    shown = _escape(alt) if alt else "image"
    # Never an <img>: loading it would contact the address. The reader decides whether to open it.
    return (
        f'<span style="color: {ctx.palette.muted}">[image: </span>{shown}'
        f'<span style="color: {ctx.palette.muted}">]</span> <a href="{_escape(source)}">{_escape(source)}</a>'
    )


def _render_table_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    palette = _context(env).palette
    return (
        f'<table border="1" cellspacing="0" cellpadding="5" style="border-color: {palette.rule};'
        f' border-style: solid; border-collapse: collapse; margin-top: 6px; margin-bottom: 6px;">\n'
    )


def _render_cell_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    token = tokens[idx]
    style = str(token.attrGet("style") or "")
    attrs = ""
    # markdown-it writes alignment as CSS; Qt's table cells honour the align attribute.
    for alignment in ("left", "center", "right"):
        if f"text-align:{alignment}" in style:
            attrs += f' align="{alignment}"'
    if token.tag == "th":
        attrs += f' bgcolor="{_context(env).palette.table_header_background}"'
    return f"<{token.tag}{attrs}>"


def _render_heading(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    token = tokens[idx]
    tag = _HEADING_TAGS.get(token.tag, token.tag)
    return f"<{tag}>" if token.nesting == 1 else f"</{tag}>\n"


def _render_blockquote_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    palette = _context(env).palette
    return f'<blockquote style="color: {palette.muted}; margin-left: 16px;">\n'


def _render_rule(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any
) -> str:
    return f'<hr style="background-color: {_context(env).palette.rule}" />\n'
