"""Turn an MCP tool result into text for the model: text joined, images and resources summarised, capped."""

from __future__ import annotations

import base64
import binascii
import json

import mcp.types as types

from desktop_llm.services.mcp_types import DEFAULT_MAX_RESULT_CHARS, ToolOutcome


def _size(data: str) -> str:
    try:
        count = len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        count = len(data) * 3 // 4
    return f"{count / 1024:.1f} KB" if count >= 1024 else f"{count} bytes"


def _block_text(block: object) -> str:
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent):
        return f"[image: {block.mime_type}, {_size(block.data)}; not shown to the model]"
    if isinstance(block, types.AudioContent):
        return f"[audio: {block.mime_type}, {_size(block.data)}; not shown to the model]"
    if isinstance(block, types.ResourceLink):
        return f"[resource link: {block.name} <{block.uri}>]"
    if isinstance(block, types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, types.TextResourceContents):
            return f"[resource {resource.uri}]\n{resource.text}"
        if isinstance(resource, types.BlobResourceContents):
            kind = resource.mime_type or "binary data"
            return f"[resource {resource.uri}: {kind}, {_size(resource.blob)}; not shown to the model]"
    return f"[{type(block).__name__} content; not shown to the model]"


def result_text(result: types.CallToolResult, *, max_chars: int = DEFAULT_MAX_RESULT_CHARS) -> ToolOutcome:
    """Return the result as text for the model, cut to ``max_chars`` with a note when longer.

    Text blocks are joined by newlines; images, audio and binary resources become a one-line
    summary (their bytes are not sent); a result with only structured content gives its JSON.
    """
    parts = [_block_text(block) for block in result.content]
    if not parts and result.structured_content is not None:
        parts = [json.dumps(result.structured_content, ensure_ascii=False)]
    text = "\n".join(parts)
    return truncate(text, max_chars=max_chars, is_error=bool(result.is_error))


def truncate(text: str, *, max_chars: int, is_error: bool = False) -> ToolOutcome:
    """Cut ``text`` to ``max_chars`` characters, with a note to the model saying how much was left out."""
    if len(text) <= max_chars:
        return ToolOutcome(text, is_error, False, len(text))
    note = f"\n[truncated: the result was {len(text):,} characters; only the first {max_chars:,} are shown]"
    return ToolOutcome(text[:max_chars] + note, is_error, True, len(text))
