"""Decide what each model gets for a message's attachments, and prepare it off the Qt thread.

For every provider kind: text files (``text/*``, JSON, CSV, source code) go into the message as
text, named and fenced; images go as images, scaled down first when larger than the kind
accepts (the stored original is kept); PDFs go natively to OpenAI, Anthropic and Gemini models
that read them, and as their extracted text to everything else. An image for a model that
cannot see is refused before anything is sent, naming models that can; a model the catalog
does not know is sent images with a warning (``check`` says so for the chips), since most new
models see and the provider's own error says clearly when one does not.

PDF text comes from pypdfium2 (PDFium, Chrome's PDF engine, as a ~3 MB wheel with no other
dependencies): it extracts a 100-page PDF in well under a second, needs no network and no
external program, and reads the PDFs browsers read. A PDF without a text layer (a scan) has
nothing to extract: the person is told so. Images are scaled with Pillow (JPEG draft decoding
makes a 12-megapixel photo take a fraction of a second).

Everything here blocks (decoding, scaling, extracting): callers use the ``async`` methods,
which run it in a worker thread, so a 20 MB attachment never passes through the Qt thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Literal

from desktop_llm.core.attachment_rules import (
    MAX_ATTACHMENT_BYTES,
    NATIVE_PDF_KINDS,
    fence_text,
    file_kind,
    fitted_size,
    guess_media_type,
    image_tokens,
    limit_for,
    looks_like_text,
    pdf_page_tokens,
    sendable_image_types,
)
from desktop_llm.core.catalog import Catalog
from desktop_llm.providers import Attachment

Verdict = Literal["ok", "warning", "refused"]
MODELS_NAMED = 3
CACHE_ENTRIES = 64


class AttachmentError(ValueError):
    """A file cannot be attached at all (missing, unreadable, too large, a type no model takes)."""


class AttachmentRefused(ValueError):
    """The chosen model cannot take an attachment; the message says which models can."""


@dataclass(frozen=True)
class ModelSupport:
    """What one model takes besides text.

    Attributes:
        kind: the provider kind ("openai", "ollama", ...).
        model: the model's name.
        images: True, False, or None when nobody knows (sent, with a warning).
        native_pdf: PDFs go as documents (else as their text).
        can_see: names of known models that take images, for the refusal message.
    """

    kind: str
    model: str
    images: bool | None
    native_pdf: bool
    can_see: tuple[str, ...] = ()


def model_support(catalog: Catalog, kind: str, model: str) -> ModelSupport:
    """Return what ``model`` served by a provider of ``kind`` takes, from the catalog."""
    info = catalog.lookup(model)
    accepts = info.accepts if info.known else None
    images = None if accepts is None else "image" in accepts
    native_pdf = kind in NATIVE_PDF_KINDS and (accepts is None or "pdf" in accepts)
    seeing = [m for m in catalog.models if m.accepts and "image" in m.accepts]
    same_host = [m.id for m in seeing if m.provider == kind]
    others = [m.id for m in seeing if m.provider != kind]
    return ModelSupport(kind, model, images, native_pdf, tuple((same_host + others)[:MODELS_NAMED]))


@dataclass(frozen=True)
class Check:
    """What will happen to one attachment with the chosen model (for its chip)."""

    verdict: Verdict
    message: str = ""


def refusal_text(support: ModelSupport, name: str) -> str:
    """Return the sentence that stops an image from going to a model that cannot see."""
    models = ", ".join(support.can_see) or "a model that accepts images"
    return (
        f"{support.model or 'This model'} cannot see images, so {name} was not sent. "
        f"Models that can: {models}. Switch the model above the chat, or remove the image."
    )


def check(name: str, media_type: str, support: ModelSupport) -> Check:
    """Return what will happen to a file of this type with the model, without reading it."""
    kind = file_kind(name, media_type)
    if kind == "image":
        if support.images is False:
            return Check("refused", refusal_text(support, name))
        if support.images is None:
            who = support.model or "This model"
            return Check("warning", f"{who} is not known to see images; it may not.")
        return Check("ok")
    if kind == "pdf" and not support.native_pdf:
        return Check("warning", f"{support.model or 'This model'} reads PDFs as their text only.")
    if kind == "other":
        return Check("refused", unsupported_text(name))
    return Check("ok")


def unsupported_text(name: str) -> str:
    """Return the sentence for a file no model takes."""
    return f"{name} cannot be sent: only images, PDFs and text files (text, CSV, JSON, code) can be attached."


# -- reading files ------------------------------------------------------------------------------


def read_attachment(path: Path) -> Attachment:
    """Read a file as an attachment, its type from its content and name (blocking).

    Raises:
        AttachmentError: missing, unreadable, too large, or a type no model takes.
    """
    name = path.name
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise AttachmentError(f"{path} is not a file.")
        if size > MAX_ATTACHMENT_BYTES:
            raise AttachmentError(
                f"{name} is {size / 1e6:.0f} MB; attachments can be at most "
                f"{MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB."
            )
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise AttachmentError(f"{path}: no such file.") from error
    except OSError as error:
        raise AttachmentError(f"{path}: cannot be read ({error.strerror or error}).") from error
    return attachment_from_bytes(name, data)


def attachment_from_bytes(name: str, data: bytes, media_type: str | None = None) -> Attachment:
    """Return bytes as an attachment, typed from their content when no type is given.

    Raises:
        AttachmentError: a type no model takes.
    """
    media_type = media_type or guess_media_type(name, data[:16])
    if file_kind(name, media_type) == "other":
        if not looks_like_text(data):
            raise AttachmentError(unsupported_text(name))
        media_type = "text/plain"
    return Attachment(name=name, media_type=media_type, data=data)


async def read_attachments(paths: Sequence[Path]) -> list[Attachment]:
    """Read files as attachments in a worker thread; raise ``AttachmentError`` for the first bad one."""
    return await asyncio.to_thread(lambda: [read_attachment(p) for p in paths])


# -- preparing a message ------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedMessage:
    """A message as one model gets it.

    Attributes:
        content: the person's text, then every text file (and PDF text) named and fenced.
        attachments: the images (scaled) and native PDFs, in the order given.
        extra_tokens: estimated input tokens of the attachments beyond ``content``.
        notes: what the person should know (a scan without text sent to a text-only model).
    """

    content: str
    attachments: tuple[Attachment, ...]
    extra_tokens: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Piece:
    """One attachment prepared: text for the content, or an attachment, plus its tokens."""

    text: str | None
    attachment: Attachment | None
    tokens: int
    note: str = ""


class AttachmentPreparer:
    """Turn stored attachments into what a model gets; remembers recent results (safe across threads).

    Args:
        cache_entries: how many prepared images and PDFs to remember (by content, kind and mode).
    """

    def __init__(self, cache_entries: int = CACHE_ENTRIES) -> None:
        self._cache: OrderedDict[tuple[bytes, str, bool, bool], _Piece] = OrderedDict()
        self._limit = cache_entries
        self._lock = threading.Lock()

    async def prepare(
        self, text: str, attachments: Sequence[Attachment], support: ModelSupport, *, strict: bool = True
    ) -> PreparedMessage:
        """Return the message for the model, prepared in a worker thread (see ``prepare_blocking``)."""
        if not attachments:
            return PreparedMessage(text, (), 0)
        return await asyncio.to_thread(self.prepare_blocking, text, attachments, support, strict=strict)

    def prepare_blocking(
        self, text: str, attachments: Sequence[Attachment], support: ModelSupport, *, strict: bool = True
    ) -> PreparedMessage:
        """Return the message for the model.

        Args:
            strict: the message about to be sent: an attachment the model cannot take raises
                ``AttachmentRefused``. Older messages (``strict=False``) get a note in its place,
                so switching to a text-only model mid-conversation still works.
        """
        pieces = [self._piece(a, support, strict) for a in attachments]
        texts = [p.text for p in pieces if p.text is not None]
        content = "\n\n".join(([text] if text else []) + texts)
        return PreparedMessage(
            content=content,
            attachments=tuple(p.attachment for p in pieces if p.attachment is not None),
            extra_tokens=sum(p.tokens for p in pieces),
            notes=tuple(p.note for p in pieces if p.note),
        )

    def _piece(self, attachment: Attachment, support: ModelSupport, strict: bool) -> _Piece:
        kind = file_kind(attachment.name, attachment.media_type)
        if kind == "text":
            return _Piece(fence_text(attachment.name, _decode(attachment.data)), None, 0)
        if kind == "other":
            if strict:
                raise AttachmentRefused(unsupported_text(attachment.name))
            return _Piece(f"[{attachment.name} was attached but cannot be sent to models]", None, 0)
        if kind == "image" and support.images is False:
            if strict:
                raise AttachmentRefused(refusal_text(support, attachment.name))
            return _Piece(f"[image {attachment.name} not shown: {support.model} cannot see images]", None, 0)
        native = kind == "pdf" and support.native_pdf
        key = (_digest(attachment.data), support.kind, native, strict)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is None:
            cached = (
                self._image(attachment, support.kind)
                if kind == "image"
                else self._pdf(attachment, support, native, strict)
            )
            with self._lock:
                self._cache[key] = cached
                while len(self._cache) > self._limit:
                    self._cache.popitem(last=False)
        sent = cached.attachment
        if sent is None or sent is attachment:
            return cached
        # The cache is by content: the same bytes under another name keep that name.
        if kind == "pdf" or sent.data == attachment.data:
            return _Piece(cached.text, attachment, cached.tokens, cached.note)
        renamed = Attachment(_sent_name(attachment.name, sent.media_type), sent.media_type, sent.data)
        return _Piece(cached.text, renamed, cached.tokens, cached.note)

    @staticmethod
    def _image(attachment: Attachment, kind: str) -> _Piece:
        scaled, width, height = scale_image(attachment, kind)
        return _Piece(None, scaled, image_tokens(kind, width, height))

    @staticmethod
    def _pdf(attachment: Attachment, support: ModelSupport, native: bool, strict: bool) -> _Piece:
        pages, text = extract_pdf_text(attachment)
        if native:
            return _Piece(None, attachment, pages * pdf_page_tokens(support.kind) + len(text) // 4)
        if not text.strip():
            message = (
                f"{attachment.name} has no text to read (it looks like a scan), and "
                f"{support.model or 'this model'} reads PDFs only as text. Pick a model that reads PDFs "
                "(OpenAI, Anthropic or Gemini), or attach the pages as images."
            )
            if strict:
                raise AttachmentRefused(message)
            return _Piece(f"[{attachment.name}: a PDF without text]", None, 0, message)
        header = f"{attachment.name} (text of a {pages}-page PDF)"
        return _Piece(fence_text(header, text), None, 0)


def preload_image_libraries() -> None:
    """Import Pillow and its common codecs now (blocking; an import holds the interpreter lock).

    Done at start-up, off the Qt thread, beside the tokenizer files: imported on first use they
    would stall the window for a tenth of a second just as the first photo is attached.
    """
    from PIL import Image, JpegImagePlugin, PngImagePlugin, WebPImagePlugin  # noqa: F401

    Image.init()


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _decode(data: bytes) -> str:
    text = data.decode("utf-8-sig", errors="replace")
    return text.replace("\r\n", "\n")


def extract_pdf_text(attachment: Attachment) -> tuple[int, str]:
    """Return a PDF's page count and text, pages separated by form feeds (blocking).

    Raises:
        AttachmentRefused: the file is not a PDF PDFium can open (damaged, or password-protected).
    """
    import pypdfium2 as pdfium  # type: ignore[import-untyped]  # loaded on first use: few chats have PDFs

    try:
        document = pdfium.PdfDocument(attachment.data)
    except pdfium.PdfiumError as error:
        raise AttachmentRefused(
            f"{attachment.name} cannot be read as a PDF ({error}); it may be damaged or password-protected."
        ) from error
    try:
        texts = []
        for index in range(len(document)):
            page = document[index]
            text_page = page.get_textpage()
            texts.append(text_page.get_text_range().replace("\r\n", "\n"))
            text_page.close()
            page.close()
        return len(texts), "\f".join(texts)
    finally:
        document.close()


def image_size(data: bytes) -> tuple[int, int]:
    """Return an image's width and height from its header (blocking, cheap)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size


def scale_image(attachment: Attachment, kind: str) -> tuple[Attachment, int, int]:
    """Return the image as ``kind`` accepts it (scaled, converted) and the size sent (blocking).

    Images within the limits and of a type every provider takes are returned unchanged.

    Raises:
        AttachmentRefused: the bytes are not an image Pillow can read.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    limit = limit_for(kind)
    try:
        image = Image.open(io.BytesIO(attachment.data))
        width, height = _upright_size(image)
    except (UnidentifiedImageError, OSError) as error:
        raise AttachmentRefused(f"{attachment.name} cannot be read as an image ({error}).") from error
    target = fitted_size(width, height, limit)
    sendable = attachment.media_type in sendable_image_types(kind)
    if target == (width, height) and sendable and len(attachment.data) <= limit.max_bytes:
        return attachment, width, height
    if image.format == "JPEG":
        image.draft("RGB", target)  # decode at a fraction of the size: much faster for photos
    upright: Image.Image = ImageOps.exif_transpose(image)
    if upright.size != target:
        upright = upright.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    keep_jpeg = attachment.media_type == "image/jpeg"
    data, media_type = _encode(upright, "JPEG" if keep_jpeg else "PNG")
    while len(data) > limit.max_bytes:
        # Too many bytes even at the right size (a noisy PNG): JPEG, then smaller, until it fits.
        if media_type == "image/png":
            data, media_type = _encode(upright, "JPEG")
            continue
        upright = upright.resize((max(1, upright.width * 3 // 4), max(1, upright.height * 3 // 4)))
        data, media_type = _encode(upright, "JPEG")
    return (
        Attachment(_sent_name(attachment.name, media_type), media_type, data),
        upright.width,
        upright.height,
    )


def _sent_name(name: str, media_type: str) -> str:
    """Return the name an image is sent under: its own, with the suffix of a type it was converted to."""
    suffixes = (".jpg", ".jpeg") if media_type == "image/jpeg" else (".png",)
    path = PurePath(name)
    return name if path.suffix.lower() in suffixes else str(path.with_suffix(suffixes[0]))


def _upright_size(image: object) -> tuple[int, int]:
    """Return the size as shown: EXIF orientations 5-8 swap width and height."""
    width, height = image.size  # type: ignore[attr-defined]
    orientation = image.getexif().get(0x0112, 1)  # type: ignore[attr-defined]
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _encode(image: object, image_format: str) -> tuple[bytes, str]:
    from PIL import Image

    assert isinstance(image, Image.Image)
    buffer = io.BytesIO()
    if image_format == "JPEG":
        if image.mode in ("RGBA", "LA", "P"):
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            image = flat
        elif image.mode != "RGB":
            image = image.convert("RGB")
        image.save(buffer, "JPEG", quality=88, optimize=False)
        return buffer.getvalue(), "image/jpeg"
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    image.save(buffer, "PNG", compress_level=3)
    return buffer.getvalue(), "image/png"
