"""Check that a kind can carry a request's attachments, and encode their bytes for the wire.

Every kind takes images; OpenAI, Anthropic and Gemini also read PDFs natively. Anything else
(text files, PDFs for a kind without PDF support) is refused before any request is sent: the
chat service turns such files into text, and a caller that skips it gets a message that names
the file and says what to do.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

from desktop_llm.providers.errors import InvalidRequestError
from desktop_llm.providers.types import Attachment, Message

PDF = "application/pdf"
# The raster formats the OpenAI and Anthropic APIs document; others fail there with a 400.
COMMON_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Gemini documents PNG, JPEG, WEBP, HEIC and HEIF (no GIF).
GEMINI_IMAGES = frozenset({"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"})


@dataclass(frozen=True)
class Accepts:
    """What one kind can carry in a request.

    Args:
        images: the image media types it reads.
        pdf: whether it reads PDF files natively.
    """

    images: frozenset[str] = COMMON_IMAGES
    pdf: bool = False


def media_type(attachment: Attachment) -> str:
    """Return the attachment's media type in lower case, without parameters ("; charset=...")."""
    return attachment.media_type.split(";", 1)[0].strip().lower()


def b64(data: bytes) -> str:
    """Return ``data`` as standard base64 without line breaks."""
    return base64.b64encode(data).decode("ascii")


def data_url(attachment: Attachment) -> str:
    """Return the attachment as a ``data:<type>;base64,...`` URL."""
    return f"data:{media_type(attachment)};base64,{b64(attachment.data)}"


def is_pdf(attachment: Attachment) -> bool:
    """Whether the attachment is a PDF."""
    return media_type(attachment) == PDF


def check_attachments(messages: Iterable[Message], accepts: Accepts, provider: str) -> None:
    """Raise ``InvalidRequestError`` for the first attachment ``provider`` cannot carry.

    Args:
        messages: the request's messages.
        accepts: what the provider's kind reads.
        provider: its display name, for the message.
    """
    for message in messages:
        for attachment in message.attachments:
            problem = _problem(message, attachment, accepts, provider)
            if problem:
                raise InvalidRequestError(problem, provider=provider)


def _problem(message: Message, attachment: Attachment, accepts: Accepts, provider: str) -> str | None:
    name, kind = attachment.name, media_type(attachment)
    if message.role != "user":
        return (
            f"{name} is attached to a {message.role} message; only your own messages can carry "
            "files. Attach it to a message of yours instead."
        )
    if kind in accepts.images or (kind == PDF and accepts.pdf):
        return None
    if kind == PDF:
        return (
            f"{provider} cannot read PDF files such as {name}. Send its text instead, or use a model "
            "from OpenAI, Anthropic or Google Gemini, which read PDFs."
        )
    if kind.startswith("image/"):
        readable = ", ".join(sorted(t.removeprefix("image/").upper() for t in accepts.images))
        return f"{provider} cannot read {kind} images such as {name}. Convert it to one of {readable}."
    return (
        f"{provider} cannot take {name} ({kind or 'unknown type'}) as an attachment: only images"
        f"{' and PDFs' if accepts.pdf else ''} go to the model as files. Paste its text into the "
        "message instead."
    )
