"""Refuse chat requests the way the real APIs do: malformed files, tools, tool calls and results.

Each ``check_*`` function reads one protocol's request body and returns what the provider would
say in its 400 answer, or None. The messages follow the real ones closely enough for a person
to recognise them; the point is that our encoders cannot send a shape a real server refuses.
Only what the wave-2 encoders produce is checked (files, tools, calls, results); the rest of a
body is the dialects' business.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Final

COMMON_IMAGES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
GEMINI_MIME: Final = frozenset(
    {"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif", "application/pdf"}
)
OPENAI_TOOL_NAME: Final = re.compile(r"[a-zA-Z0-9_-]{1,64}")
ANTHROPIC_TOOL_NAME: Final = re.compile(r"[a-zA-Z0-9_-]{1,128}")
# Google's documented stand-in for calls another model made; it switches the check off.
SKIP_SIGNATURE: Final = "skip_thought_signature_validator"
DATA_URL: Final = re.compile(r"data:(?P<type>[^;,]+);base64,(?P<data>.*)", re.DOTALL)


class Refused(Exception):
    """A request the real provider answers with 400; the message is what it says."""


def strict_base64(value: Any, where: str, *, url_safe: bool = False) -> bytes:
    """Decode base64 with no line breaks or other stray characters, or refuse.

    Args:
        value: the field's value.
        where: the field's path, for the message.
        url_safe: also take the URL-safe alphabet (protobuf's JSON parser, so Google, takes both).
    """
    if not isinstance(value, str) or not value:
        raise Refused(f"{where}: expected a non-empty base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        if url_safe:
            try:
                return base64.b64decode(value, altchars=b"-_", validate=True)
            except (binascii.Error, ValueError):
                pass  # refused below, as the standard alphabet was
        raise Refused(f"{where}: invalid base64 data") from None


def _object_args(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise Refused(f"{where}: Input should be a valid dictionary")


# -- OpenAI Chat Completions -------------------------------------------------------------------


def check_openai(body: dict[str, Any]) -> str | None:
    """Return OpenAI's complaint about the body's content parts, tools or tool messages."""
    try:
        _openai_tools(body.get("tools"))
        _openai_messages(body.get("messages") or [])
    except Refused as refusal:
        return str(refusal)
    return None


def _openai_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list) or not tools:
        raise Refused("Invalid 'tools': empty array. Expected an array with minimum length 1.")
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if tool.get("type") != "function" or not isinstance(function, dict):
            raise Refused(f"Missing required parameter: 'tools[{index}].function'.")
        if not OPENAI_TOOL_NAME.fullmatch(str(function.get("name", ""))):
            raise Refused(f"Invalid 'tools[{index}].function.name': string does not match pattern.")


def _openai_part(part: Any, where: str) -> None:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text" and isinstance(part.get("text"), str):
        return
    if kind == "image_url":
        url = str((part.get("image_url") or {}).get("url", ""))
        if url.startswith(("http://", "https://")):
            return
        match = DATA_URL.fullmatch(url)
        if not match or match["type"] not in COMMON_IMAGES:
            raise Refused(
                f"Invalid '{where}.image_url.url'. Expected a base64-encoded data URL with an image "
                "MIME type (e.g. 'data:image/png;base64,...')."
            )
        strict_base64(match["data"], f"{where}.image_url.url")
        return
    if kind == "file":
        file = part.get("file") or {}
        match = DATA_URL.fullmatch(str(file.get("file_data", "")))
        if not file.get("filename") or not match or match["type"] != "application/pdf":
            raise Refused(f"Invalid '{where}.file': expected a filename and a PDF data URL in 'file_data'.")
        strict_base64(match["data"], f"{where}.file.file_data")
        return
    raise Refused(f"Invalid '{where}': unknown content part type {kind!r}.")


def _openai_messages(messages: list[Any]) -> None:
    pending: set[str] = set()  # calls of the last assistant message still waiting for results
    for index, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                raise Refused(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                    "message with 'tool_calls'."
                )
            pending.discard(call_id)
            continue
        if pending:
            raise Refused(
                "An assistant message with 'tool_calls' must be followed by tool messages responding "
                "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                + ", ".join(sorted(pending))
            )
        content = message.get("content")
        if isinstance(content, list):
            for number, part in enumerate(content):
                _openai_part(part, f"messages[{index}].content[{number}]")
        elif content is None and not message.get("tool_calls"):
            raise Refused(f"Invalid value for 'messages[{index}].content': expected a string, got null.")
        for number, call in enumerate(message.get("tool_calls") or ()):
            arguments = (call.get("function") or {}).get("arguments")
            if not isinstance(arguments, str):
                raise Refused(
                    f"Invalid type for 'messages[{index}].tool_calls[{number}].function.arguments': "
                    "expected a string."
                )
            pending.add(call.get("id"))
    if pending:
        raise Refused(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to "
            "each 'tool_call_id'. The following tool_call_ids did not have response messages: "
            + ", ".join(sorted(pending))
        )


# -- Anthropic Messages ------------------------------------------------------------------------


def check_anthropic(body: dict[str, Any]) -> str | None:
    """Return Anthropic's complaint about the body's blocks, tools, tool uses or tool results."""
    try:
        for index, tool in enumerate(body.get("tools") or ()):
            if not ANTHROPIC_TOOL_NAME.fullmatch(str(tool.get("name", ""))):
                raise Refused(f"tools.{index}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
            if (tool.get("input_schema") or {}).get("type") != "object":
                raise Refused(f"tools.{index}.input_schema.type: Input should be 'object'")
        _anthropic_messages(body.get("messages") or [])
    except Refused as refusal:
        return str(refusal)
    return None


def _anthropic_block(block: Any, where: str) -> None:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text":
        if not block.get("text"):
            raise Refused("messages: text content blocks must be non-empty")
    elif kind in ("image", "document"):
        source = block.get("source") or {}
        allowed = COMMON_IMAGES if kind == "image" else {"application/pdf"}
        if source.get("type") != "base64" or source.get("media_type") not in allowed:
            raise Refused(
                f"{where}.{kind}.source.base64.media_type: Input should be "
                + " or ".join(f"'{t}'" for t in sorted(allowed))
            )
        strict_base64(source.get("data"), f"{where}.{kind}.source.base64.data")
    elif kind == "tool_use":
        if not block.get("id") or not block.get("name"):
            raise Refused(f"{where}.tool_use: id and name are required")
        _object_args(block.get("input"), f"{where}.tool_use.input")
    elif kind == "tool_result":
        if not isinstance(block.get("content", ""), str | list):
            raise Refused(f"{where}.tool_result.content: Input should be a valid string or list")
    elif kind not in ("thinking", "redacted_thinking"):
        raise Refused(
            f"{where}: Input tag {kind!r} found using 'type' does not match any of the expected tags"
        )


def _anthropic_messages(messages: list[Any]) -> None:
    previous_uses: list[str] = []
    for index, message in enumerate(messages):
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        for number, block in enumerate(blocks):
            _anthropic_block(block, f"messages.{index}.content.{number}")
        results = [b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"]
        if results:
            if message.get("role") != "user" or any(
                b.get("type") != "tool_result" for b in blocks[: len(results)]
            ):
                raise Refused(
                    f"messages.{index}: `tool_result` blocks must come first in the user message, "
                    "before any other content"
                )
            unexpected = [r for r in results if r not in previous_uses]
            if unexpected:
                raise Refused(
                    f"messages.{index}.content: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{', '.join(map(str, unexpected))}. Each `tool_result` block must have a "
                    "corresponding `tool_use` block in the previous message."
                )
        _unanswered(index - 1, [use for use in previous_uses if use not in results])
        previous_uses = [b["id"] for b in blocks if b.get("type") == "tool_use"]
    _unanswered(len(messages) - 1, previous_uses)


def _unanswered(index: int, uses: list[str]) -> None:
    if uses:
        raise Refused(
            f"messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately "
            f"after: {', '.join(uses)}. Each `tool_use` block must have a corresponding `tool_result` "
            "block in the next message."
        )


# -- Gemini ------------------------------------------------------------------------------------


def _camel(part: dict[str, Any], snake: str, camel: str) -> Any:
    """Return a field given in either spelling (Google's JSON parser takes both)."""
    return part.get(camel, part.get(snake))


def call_key(name: str, args: Any) -> str:
    """Return how the server recognises a call it made when a request sends it back."""
    return json.dumps([name, args], sort_keys=True)


def check_gemini(body: dict[str, Any], signatures: dict[str, str]) -> str | None:
    """Return Gemini's complaint about the body's parts, tools, calls, responses or signatures.

    Args:
        body: the request body.
        signatures: the ``thoughtSignature`` the server gave each call it made (``call_key``).
    """
    try:
        for tool in body.get("tools") or ():
            for declaration in tool.get("functionDeclarations") or ():
                if "parameters" in declaration and "parametersJsonSchema" in declaration:
                    raise Refused("parameters and parametersJsonSchema are mutually exclusive")
        _gemini_contents(body.get("contents") or [], signatures)
    except Refused as refusal:
        return str(refusal)
    return None


def _gemini_part(part: dict[str, Any], where: str, signatures: dict[str, str]) -> str | None:
    """Check one part; return "call" or "response" for function parts."""
    inline = _camel(part, "inline_data", "inlineData")
    if inline is not None:
        mime = _camel(inline, "mime_type", "mimeType")
        if mime not in GEMINI_MIME:
            raise Refused(f"Invalid value at '{where}.inline_data.mime_type': unsupported MIME type {mime!r}")
        strict_base64(inline.get("data"), f"{where}.inline_data.data", url_safe=True)
        return None
    call = _camel(part, "function_call", "functionCall")
    if call is not None:
        _object_args(call.get("args", {}), f"{where}.function_call.args")
        expected = signatures.get(call_key(call.get("name"), call.get("args", {})))
        sent = _camel(part, "thought_signature", "thoughtSignature")
        if expected is not None and sent not in (expected, SKIP_SIGNATURE):
            raise Refused(
                "Function call is missing a thought_signature in functionCall parts. This is required "
                f"for tools to work correctly. Additional data, function call `{call.get('name')}`, "
                f"position {where}."
            )
        return "call"
    response = _camel(part, "function_response", "functionResponse")
    if response is not None:
        if not isinstance(response.get("response"), dict):
            raise Refused(
                f"Invalid value at '{where}.function_response.response' "
                "(type.googleapis.com/google.protobuf.Struct)"
            )
        return "response"
    if not isinstance(part.get("text"), str):
        raise Refused(f"Invalid value at '{where}': a part needs text, inline_data or a function part")
    return None


def _gemini_contents(contents: list[Any], signatures: dict[str, str]) -> None:
    calls_waiting = 0
    for index, content in enumerate(contents):
        kinds = [
            _gemini_part(part, f"contents[{index}].parts[{number}]", signatures)
            for number, part in enumerate(content.get("parts") or ())
        ]
        responses = kinds.count("response")
        if calls_waiting and (content.get("role") != "user" or responses != calls_waiting):
            raise Refused(
                "Please ensure that the number of function response parts is equal to the number of "
                "function call parts of the function call turn."
            )
        if responses and not calls_waiting:
            raise Refused(
                "Please ensure that function response turn comes immediately after a function call turn."
            )
        calls_waiting = kinds.count("call") if content.get("role") == "model" else 0


# -- Ollama ------------------------------------------------------------------------------------


def check_ollama(body: dict[str, Any]) -> str | None:
    """Return Ollama's complaint about the body's images or tool calls (its Go JSON decoder's words)."""
    try:
        for index, message in enumerate(body.get("messages") or ()):
            for number, image in enumerate(message.get("images") or ()):
                strict_base64(image, f"messages[{index}].images[{number}]")
            for call in message.get("tool_calls") or ():
                arguments = (call.get("function") or {}).get("arguments")
                if not isinstance(arguments, dict):
                    raise Refused(
                        "json: cannot unmarshal into Go struct field ToolCallFunction.messages.tool_calls."
                        "function.arguments of type api.ToolCallFunctionArguments"
                    )
    except Refused as refusal:
        return str(refusal)
    return None
