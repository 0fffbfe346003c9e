"""Render chat markdown into safe HTML for Qt's rich-text engine (a subset of HTML 4 and CSS).

Safety rules, all enforced here rather than trusted to the widget:

- raw HTML in a reply is text (markdown-it ``html=False``; everything else is escaped);
- only ``http``, ``https`` and ``mailto`` become links; any other destination (``javascript:``,
  ``file:``, relative paths) fails validation and markdown-it leaves the source as plain text;
- images are never embedded, so nothing is ever fetched: the alt text and the address (as a
  link) are shown instead.

Code fences are highlighted with Pygments using inline colours (Qt ignores stylesheets with
classes) and get a "Copy" link ``copy-code:<message id>:<n>``, n counting code blocks from 0
in the message; the code itself comes back in ``RenderedMarkdown.code_blocks`` so the view can
put exactly that on the clipboard.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import OptionsDict
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from desktop_llm.ui.theme import Palette

SAFE_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
COPY_CODE_SCHEME = "copy-code"
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


@dataclass
class _RenderContext:
    message_id: str
    palette: Palette
    mono_family: str
    highlight_limit: int | None
    next_code_index: int
    code_blocks: list[str]


@lru_cache(maxsize=64)
def _lexer(language: str) -> Lexer | None:
    if not language:
        return None
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


@lru_cache(maxsize=8)
def _formatter(style: str) -> HtmlFormatter[str]:
    # noclasses: Qt understands inline ``style`` attributes but not class selectors.
    return HtmlFormatter(style=style, noclasses=True, nowrap=True)


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


class MarkdownRenderer:
    """Turn markdown (assistant replies) or plain text (user input) into Qt-safe HTML.

    One renderer can serve every chat view: it holds no per-view state besides an LRU cache
    of whole-message renders keyed by (message id, content hash, theme).

    Args:
        mono_family: font family for code (the view passes the system's fixed-width font).
        cache_size: how many rendered messages to keep.
    """

    def __init__(self, *, mono_family: str = "monospace", cache_size: int = 4096) -> None:
        self.mono_family = mono_family
        self._cache: OrderedDict[tuple[str, bytes, str, str], RenderedMarkdown] = OrderedDict()
        self._cache_size = cache_size
        self._warm = False
        self.parser = self._build_parser()

    def warm_up(self, palette: Palette) -> None:
        """Compile the parser's and the commonest lexer's patterns now, once.

        Pygments compiles a lexer's regular expressions on first use (tens of milliseconds for
        Python); done while the window is idle, the first code block of a reply does not stall.
        """
        if not self._warm:
            self._warm = True
            self.render(_WARM_UP_SAMPLE, message_id="warm-up", palette=palette)

    def render(
        self,
        text: str,
        *,
        message_id: str,
        palette: Palette,
        first_code_index: int = 0,
        highlight_limit: int | None = None,
    ) -> RenderedMarkdown:
        """Render markdown ``text`` to HTML, numbering code blocks from ``first_code_index``.

        ``highlight_limit``: code blocks longer than this many characters are shown without
        colours (used for the still-growing tail of a stream, which is re-rendered often).
        """
        context = _RenderContext(
            message_id=message_id,
            palette=palette,
            mono_family=self.mono_family,
            highlight_limit=highlight_limit,
            next_code_index=first_code_index,
            code_blocks=[],
        )
        markup = self.parser.render(text, {"chat": context})
        return RenderedMarkdown(markup, tuple(context.code_blocks))

    def render_message(
        self, message_id: str, text: str, palette: Palette, *, markdown: bool
    ) -> RenderedMarkdown:
        """Render a whole message, from the cache when the same content was rendered before."""
        key = (message_id, content_hash(text), palette.name, "md" if markdown else "plain")
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        if markdown:
            rendered = self.render(text, message_id=message_id, palette=palette)
        else:
            rendered = RenderedMarkdown(render_plain(text))
        self._cache[key] = rendered
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return rendered

    def _build_parser(self) -> MarkdownIt:
        parser = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
        parser.enable(["table", "strikethrough"])
        parser.validateLink = is_safe_link  # type: ignore[method-assign]
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
        ):
            parser.add_render_rule(name, rule)
        return parser


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

    lexer = _lexer(language.lower())
    if lexer is not None and (ctx.highlight_limit is None or len(code) <= ctx.highlight_limit):
        body = highlight(code, lexer, _formatter(ctx.palette.pygments_style)).rstrip("\n")
    else:
        body = _escape(code)
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
        f'<pre style="margin: 0; white-space: pre-wrap; font-family: {_escape(ctx.mono_family)};">'
        f"{body}</pre></td></tr></table>\n"
    )


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
