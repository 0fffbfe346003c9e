"""What the chat view shows for one message, and the HTML of its header, footer and thinking line.

Plain Python (no Qt). Interface paragraphs carry ``CHROME_STYLE`` so that copying a
selection leaves them out; action links use the ``action:<name>:<message id>`` scheme, which the
view turns into its ``action_requested`` signal.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from desktop_llm.core.markdown import CHROME_STATE
from desktop_llm.core.theme import Palette

ACTION_SCHEME = "action"
ATTACHMENT_SCHEME = "attachment"  # attachment:<message id>:<index>, opened by the window
THUMB_SCHEME = "thumb"  # thumb:<sha256>, an image the view asks its image source for
THUMB_HEIGHT = 96  # pixels: a sent image's thumbnail in the chat
ACTIONS = frozenset({"copy", "edit", "regenerate", "delete", "previous_branch", "next_branch", "retry"})
TOGGLE_REASONING = "toggle_reasoning"  # handled inside the view, never emitted
TOGGLE_TOOL = "toggle_tool"  # likewise: shows or hides a tool call's arguments and result
USER_INDENT = 48  # pixels: the user's messages sit to the right, in a tinted box
_ROLE_LABELS = {"user": "You", "assistant": "Assistant", "system": "System", "tool": "Tool"}
_STATUS_LABELS = {"stopped": "stopped", "interrupted": "interrupted", "error": "failed"}


@dataclass(frozen=True)
class AttachmentView:
    """A file sent with a message, as the chat shows it (its bytes stay in storage)."""

    key: str  # the stored bytes' sha256
    name: str
    media_type: str
    size: int

    @property
    def is_image(self) -> bool:
        return self.media_type.startswith("image/") and self.media_type != "image/svg+xml"


@dataclass(frozen=True)
class MessageView:
    """What the view shows for one message on the active path of a conversation.

    ``excluded`` messages are dimmed: context fitting left them out of the next request.
    ``note`` is a discreet line in the footer (a reply's reported tokens and cost).
    ``sibling_index``/``sibling_count`` place the message among its alternative branches.
    """

    id: str
    role: str  # "user" | "assistant" | "system"
    content: str
    reasoning: str = ""
    status: str = "complete"  # "streaming" | "complete" | "stopped" | "interrupted" | "error"
    error: str | None = None
    model: str = ""
    sibling_index: int = 0
    sibling_count: int = 1
    excluded: bool = False
    note: str = ""
    attachments: tuple[AttachmentView, ...] = ()
    tool_calls: tuple[str, ...] = ()  # an assistant message: the names of the tools it called
    tool: ToolBlock | None = None  # a tool message: the call and its result


@dataclass(frozen=True)
class ToolBlock:
    """A tool call and its result as the chat shows them (the result is the message's content).

    Args:
        name: the tool's name; server: the MCP server that ran it ("" if none did).
        arguments: the call's arguments, pretty-printed JSON (or the text the model sent).
        is_error: the result is an error (or the call was declined or not run).
        duration_ms: how long it ran.
    """

    name: str
    server: str = ""
    arguments: str = ""
    is_error: bool = False
    duration_ms: int | None = None


def action_href(action: str, message_id: str) -> str:
    """Return the link address that asks for ``action`` on a message."""
    return f"{ACTION_SCHEME}:{action}:{message_id}"


def parse_action(address: str) -> tuple[str, str] | None:
    """Return (action, message id) from an ``action:`` address, or None for anything else."""
    scheme, _, rest = address.partition(":")
    action, _, message_id = rest.partition(":")
    if scheme != ACTION_SCHEME or not message_id or action not in ACTIONS | {TOGGLE_REASONING, TOGGLE_TOOL}:
        return None
    return action, message_id


def _chrome(text: str, colour: str) -> str:
    return f'<span style="color: {colour}">{html.escape(text)}</span>'


def _paragraph(inner: str, *, indent: int = 0) -> str:
    return (
        f'<p style="margin-top: 2px; margin-bottom: 2px; margin-left: {indent}px;'
        f' -qt-user-state: {CHROME_STATE};">{inner}</p>'
    )


def body_html(message: MessageView, rendered: str, palette: Palette) -> str:
    """Return a message body's HTML around its rendered content: the user's box, dimming."""
    if message.excluded:
        rendered = f'<div style="color: {palette.muted}">{rendered}</div>'
    if message.role != "user":
        return rendered
    return (
        f'<table width="100%" cellspacing="0" cellpadding="8" bgcolor="{palette.user_background}"'
        f' style="margin-left: {USER_INDENT}px; margin-top: 2px; margin-bottom: 2px;">'
        f"<tr><td>{rendered}</td></tr></table>"
    )


def _link(label: str, action: str, message_id: str) -> str:
    return f'<a href="{html.escape(action_href(action, message_id))}">{html.escape(label)}</a>'


def header_html(message: MessageView, palette: Palette) -> str:
    """Return the inline HTML of the line above a message: who wrote it, with which model, status."""
    parts = [f"<b>{_chrome(_ROLE_LABELS.get(message.role, message.role.title()), palette.text)}</b>"]
    details = [message.model] if message.model and message.role == "assistant" else []
    label = _STATUS_LABELS.get(message.status)
    if message.tool is not None:
        details = [message.tool.name, *([message.tool.server] if message.tool.server else [])]
        if message.tool.duration_ms:
            details.append(f"{message.tool.duration_ms:,} ms")
        label = "failed" if message.tool.is_error else None
    if message.excluded:
        details.append("not sent: outside the context window")
    if details:
        parts.append(_chrome("  ·  " + "  ·  ".join(details), palette.muted))
    if label:
        colour = palette.error if message.status == "error" or message.tool is not None else palette.muted
        parts.append(_chrome(f"  ·  {label}", colour))
    return f"<small>{''.join(parts)}</small>"


def footer_html(message: MessageView, palette: Palette, *, streaming: bool) -> str:
    """Return the block HTML under a message: an indicator while streaming, else problems and actions.

    A problem (error, cut-off reply) is ordinary text, so it can be selected and copied.
    """
    if streaming:
        return _paragraph(f"<small>{_chrome('● Generating…', palette.muted)}</small>")
    indent = USER_INDENT if message.role == "user" else 0
    paragraphs = []
    retry = _link("Retry", "retry", message.id)
    if message.status == "error":
        problem = message.error or "The reply failed before it finished."
        paragraphs.append(
            f'<p style="margin-top: 4px; margin-bottom: 2px; color: {palette.error}">'
            f"⚠ {html.escape(problem)}&nbsp;&nbsp;{retry}</p>"
        )
    elif message.error and message.status == "complete":  # a notice, e.g. the tool round limit
        paragraphs.append(
            f'<p style="margin-top: 4px; margin-bottom: 2px; color: {palette.muted}"><small>'
            f"{html.escape(message.error)}</small></p>"
        )
    elif message.status == "interrupted":
        paragraphs.append(
            f'<p style="margin-top: 4px; margin-bottom: 2px; color: {palette.muted}"><small>'
            "The reply was cut off (the connection dropped or the app closed) before it finished."
            f"&nbsp;&nbsp;{retry}</small></p>"
        )
    if message.attachments:
        # In a table, as the body is: a footer's first paragraph would take the format of the block
        # it is inserted after and lose the user's indent.
        paragraphs.insert(
            0,
            f'<table cellspacing="0" cellpadding="2" style="margin-left: {indent}px; margin-top: 4px;">'
            f"<tr><td>{attachments_html(message, palette)}</td></tr></table>",
        )
    paragraphs.append(_paragraph(f"<small>{_actions(message, palette)}</small>", indent=indent))
    return "".join(paragraphs)


def attachments_html(message: MessageView, palette: Palette) -> str:
    """Return the inline HTML of a message's files: images as thumbnails, other files as named links.

    The images come first on one line and the other files on the next: a file's name set beside
    a thumbnail would sit on its baseline, at the thumbnail's bottom corner.
    """
    images: list[str] = []
    files: list[str] = []
    for index, attachment in enumerate(message.attachments):
        href = html.escape(f"{ATTACHMENT_SCHEME}:{message.id}:{index}")
        label = html.escape(attachment.name)
        if attachment.is_image:
            images.append(
                f'<a href="{href}" title="{label}"><img src="{THUMB_SCHEME}:{attachment.key}"'
                f' height="{THUMB_HEIGHT}" alt="{label}"></a>'
            )
        else:
            kind = html.escape(_file_tag(attachment))
            size = _chrome(f"{kind} · {human_size(attachment.size)}", palette.muted)
            files.append(f'<a href="{href}">{label}</a> {size}')
    runs = ["&nbsp;&nbsp;&nbsp;".join(run) for run in (images, files) if run]
    return "<br>".join(runs)


def _file_tag(attachment: AttachmentView) -> str:
    """Return a short word for a file's type ("PDF", "CSV", "TXT") shown beside its name."""
    suffix = attachment.name.rpartition(".")[2] if "." in attachment.name else ""
    return (suffix or attachment.media_type.rpartition("/")[2] or "file").upper()[:6]


def human_size(size: int) -> str:
    """Return a byte count as people read it ("820 KB", "12.4 MB")."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.0f} KB"
    return f"{size / 1_000_000:.1f} MB"


def _actions(message: MessageView, palette: Palette) -> str:
    separator = _chrome("  ·  ", palette.muted)
    note = f"{separator}{_chrome(message.note, palette.muted)}" if message.note else ""
    links = [_link("Copy", "copy", message.id)]
    if message.role in ("user", "system"):
        links.append(_link("Edit", "edit", message.id))
    if message.role == "assistant":
        links.append(_link("Regenerate", "regenerate", message.id))
    if message.sibling_count > 1:
        links.append(_branch_switcher(message, palette))
    links.append(_link("Delete", "delete", message.id))
    return separator.join(links) + note


def _branch_switcher(message: MessageView, palette: Palette) -> str:
    index, count = message.sibling_index, message.sibling_count
    # Non-breaking spaces inside the links widen the narrow arrows into something easy to hit.
    back, forward = "\u00a0‹\u00a0", "\u00a0›\u00a0"
    previous = _link(back, "previous_branch", message.id) if index > 0 else _chrome(back, palette.muted)
    following = (
        _link(forward, "next_branch", message.id) if index < count - 1 else _chrome(forward, palette.muted)
    )
    return f"{previous}{_chrome(f'{index + 1}/{count}', palette.muted)}{following}"


def reasoning_html(
    message_id: str, reasoning: str, palette: Palette, *, expanded: bool, streaming: bool
) -> str:
    """Return the block HTML of the model's thinking: a toggle line, and the text when expanded."""
    if not reasoning:
        return ""
    words = len(reasoning.split())
    title = "Thinking…" if streaming else "Thought"
    arrow = "▾" if expanded else "▸"
    toggle = (
        f'<a href="{html.escape(action_href(TOGGLE_REASONING, message_id))}">'
        f"{arrow} {title} ({words:,} words)</a>"
    )
    block = _paragraph(f"<small>{toggle}</small>")
    if expanded:
        block += (
            f'<p style="white-space: pre-wrap; color: {palette.muted}; margin-left: 12px;">'
            f"{html.escape(reasoning)}</p>"
        )
    return block
