"""The HTML of a tool call in the chat: a toggle line, and when open its arguments and result.

Plain Python (no Qt). Collapsed by default; the toggle is a link (``action:toggle_tool:<id>``),
so it is reached with Tab and opened with Enter like every other link in the conversation.
The arguments and the result are ordinary text (selectable, copyable); the toggle line is chrome.
"""

from __future__ import annotations

import html

from desktop_llm.core.markdown import CHROME_STATE
from desktop_llm.core.message_chrome import TOGGLE_TOOL, MessageView, ToolBlock, action_href
from desktop_llm.core.theme import Palette

PREVIEW_CHARS = 80


def tool_body_html(message: MessageView, palette: Palette, *, expanded: bool) -> str:
    """Return the body of a tool message: what ran and how it ended; arguments and result when open."""
    block = message.tool or ToolBlock(name="")
    arrow = "▾" if expanded else "▸"
    outcome = "error" if block.is_error else "result"
    preview = " ".join(message.content.split())
    if len(preview) > PREVIEW_CHARS:
        preview = preview[: PREVIEW_CHARS - 1] + "…"
    toggle = (
        f'<a href="{html.escape(action_href(TOGGLE_TOOL, message.id))}">'
        f"{arrow} {'Hide' if expanded else 'Show'} arguments and {outcome}</a>"
    )
    colour = palette.error if block.is_error else palette.muted
    line = (
        f'<p style="margin-top: 2px; margin-bottom: 2px; -qt-user-state: {CHROME_STATE};"><small>'
        f'{toggle}<span style="color: {colour}">  {html.escape(preview)}</span></small></p>'
    )
    if not expanded:
        return line
    return (
        line
        + _section("Arguments", block.arguments or "{}", palette.muted)
        + _section("Error" if block.is_error else "Result", message.content, colour)
    )


def _section(title: str, text: str, colour: str) -> str:
    label = (
        f'<p style="margin-top: 6px; margin-bottom: 0px; -qt-user-state: {CHROME_STATE};">'
        f'<small><b style="color: {colour}">{html.escape(title)}</b></small></p>'
    )
    body = f'<pre style="margin-top: 2px; margin-bottom: 4px; margin-left: 12px;">{html.escape(text)}</pre>'
    return label + body


def tool_calls_html(message: MessageView, palette: Palette) -> str:
    """Return the line under a reply that called tools, naming them (chrome, not copied)."""
    if not message.tool_calls:
        return ""
    names = ", ".join(message.tool_calls)
    return (
        f'<p style="margin-top: 2px; margin-bottom: 2px; -qt-user-state: {CHROME_STATE};">'
        f'<small><span style="color: {palette.muted}">Called {html.escape(names)}</span></small></p>'
    )
