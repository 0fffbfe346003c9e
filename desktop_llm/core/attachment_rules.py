"""Decide what an attached file is, what each provider kind accepts and what an image costs in tokens.

Pure rules, no I/O: the chat service (``services/attachment_prep``) applies them off the Qt
thread. Sources for the figures (checked 2026-12):

- Anthropic ("Vision" guide): images whose long edge exceeds 1568 px are scaled down by the
  API anyway, so we send them at most 1568 px; tokens ≈ width × height / 750; 5 MB per image.
- OpenAI ("Images and vision", high detail): the image is fitted into 2048 × 2048, then its
  short side scaled to 768 px; tokens = 85 + 170 per 512 px tile; 20 MB per image.
- Gemini ("Understand and count tokens"): an image with both sides ≤ 384 px counts 258 tokens,
  a larger one is cut into 768 × 768 tiles of 258 tokens each; we send at most 3072 px and keep
  the inline request under 20 MB.
- Ollama and OpenAI-compatible servers publish no rule: 2048 px and the OpenAI count as an
  estimate (local models resize to their own vision encoder's size anyway).
"""

from __future__ import annotations

import math
import mimetypes
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

FileKind = Literal["image", "pdf", "text", "other"]

# Image types a provider kind accepts as is; anything else (BMP, TIFF, HEIC) is converted to PNG.
SENDABLE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_GEMINI_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})  # Gemini documents no GIF


def sendable_image_types(kind: str) -> frozenset[str]:
    """Return the image types a provider kind takes without conversion."""
    return _GEMINI_IMAGE_TYPES if kind == "gemini" else SENDABLE_IMAGE_TYPES


NATIVE_PDF_KINDS = frozenset({"openai", "anthropic", "gemini"})
MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024  # larger files are refused before they are read whole

# Text that is not text/*: structured data and source code, by type or by extension.
_TEXT_MEDIA_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/x-yaml",
        "application/yaml",
        "application/toml",
        "application/javascript",
        "application/x-sh",
        "application/sql",
        "application/x-python",
        "application/ld+json",
        "application/x-ndjson",
    }
)
_LANGUAGE_BY_EXTENSION = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript", ".ts": "typescript",
    ".tsx": "tsx", ".jsx": "jsx", ".java": "java", ".kt": "kotlin", ".c": "c", ".h": "c", ".cpp": "cpp",
    ".cc": "cpp", ".hpp": "cpp", ".cs": "csharp", ".go": "go", ".rs": "rust", ".rb": "ruby",
    ".php": "php", ".swift": "swift", ".scala": "scala", ".sh": "bash", ".bash": "bash", ".zsh": "bash",
    ".ps1": "powershell", ".sql": "sql", ".r": "r", ".lua": "lua", ".pl": "perl", ".hs": "haskell",
    ".ex": "elixir", ".dart": "dart", ".json": "json", ".jsonl": "json", ".yaml": "yaml",
    ".yml": "yaml", ".toml": "toml", ".xml": "xml", ".html": "html", ".htm": "html", ".css": "css",
    ".scss": "scss", ".md": "markdown", ".rst": "rst", ".csv": "csv", ".tsv": "tsv", ".ini": "ini",
    ".cfg": "ini", ".txt": "", ".log": "", ".tex": "latex", ".vue": "vue", ".svelte": "svelte",
    ".dockerfile": "dockerfile", ".mk": "makefile", ".cmake": "cmake",
}  # fmt: skip
_TEXT_NAMES = {"makefile": "makefile", "dockerfile": "dockerfile", "readme": "", "license": ""}
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


def guess_media_type(name: str, head: bytes) -> str:
    """Return a file's media type from its first bytes, else its name, else ``application/octet-stream``.

    Args:
        name: the file's name (its extension is the fallback).
        head: its first bytes (16 are enough).
    """
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    suffix = PurePath(name).suffix.lower()
    if suffix in _LANGUAGE_BY_EXTENSION or PurePath(name).name.lower() in _TEXT_NAMES:
        return "text/csv" if suffix == ".csv" else "application/json" if suffix == ".json" else "text/plain"
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def file_kind(name: str, media_type: str) -> FileKind:
    """Return how a file is sent: as an image, a PDF, text in the message, or not at all ("other")."""
    media_type = media_type.split(";")[0].strip().lower()
    if media_type.startswith("image/") and media_type != "image/svg+xml":
        return "image"
    if media_type == "application/pdf":
        return "pdf"
    if media_type.startswith("text/") or media_type in _TEXT_MEDIA_TYPES or media_type == "image/svg+xml":
        return "text"
    if media_type.endswith(("+json", "+xml")):
        return "text"
    path = PurePath(name)
    if path.suffix.lower() in _LANGUAGE_BY_EXTENSION or path.name.lower() in _TEXT_NAMES:
        return "text"
    return "other"


def looks_like_text(data: bytes) -> bool:
    """Return whether bytes of an unknown type read as UTF-8 text (no NUL bytes)."""
    sample = data[:65536]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(sample) - 3  # a character cut at the sample's end
    return True


def fence_text(name: str, text: str) -> str:
    """Return a text file as the model sees it: its name, then its text in a fence no line of it can close."""
    path = PurePath(name)
    language = _LANGUAGE_BY_EXTENSION.get(path.suffix.lower(), _TEXT_NAMES.get(path.name.lower(), ""))
    longest = 0
    run = 0
    for character in text:
        run = run + 1 if character == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"File: {name}\n{fence}{language}\n{body}{fence}"


@dataclass(frozen=True)
class ImageLimit:
    """The largest image a provider kind takes as is.

    Attributes:
        long_edge: the longest side in pixels.
        short_edge: the shortest side in pixels after the long-edge fit (OpenAI's high detail), or None.
        max_bytes: the largest encoded image.
    """

    long_edge: int
    short_edge: int | None
    max_bytes: int


IMAGE_LIMITS: dict[str, ImageLimit] = {
    "anthropic": ImageLimit(1568, None, 5 * 1024 * 1024),
    "openai": ImageLimit(2048, 768, 20 * 1024 * 1024),
    "gemini": ImageLimit(3072, None, 7 * 1024 * 1024),
    "ollama": ImageLimit(2048, None, 20 * 1024 * 1024),
    "openai-compatible": ImageLimit(2048, None, 20 * 1024 * 1024),
}


def limit_for(kind: str) -> ImageLimit:
    """Return the image limit for a provider kind (OpenAI-compatible's for anything unknown)."""
    return IMAGE_LIMITS.get(kind, IMAGE_LIMITS["openai-compatible"])


def fitted_size(width: int, height: int, limit: ImageLimit) -> tuple[int, int]:
    """Return the size an image is sent at: never larger than it is, within the kind's limit."""
    scale = min(1.0, limit.long_edge / max(width, height, 1))
    if limit.short_edge is not None:
        short = min(width, height) * scale
        if short > limit.short_edge:
            scale *= limit.short_edge / short
    if scale >= 1.0:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def image_tokens(kind: str, width: int, height: int) -> int:
    """Return the input tokens of one image of this size by the kind's published rule (an estimate)."""
    if kind == "anthropic":
        w, h = fitted_size(width, height, IMAGE_LIMITS["anthropic"])
        return max(1, math.ceil(w * h / 750))
    if kind == "gemini":
        if width <= 384 and height <= 384:
            return 258
        return 258 * math.ceil(width / 768) * math.ceil(height / 768)
    w, h = fitted_size(width, height, IMAGE_LIMITS["openai"])
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


# A PDF page a provider reads natively costs its text plus a picture of the page; a letter page
# rendered at the provider's size is the estimate (Anthropic's guide: 1,500-3,000 tokens a page).
PAGE_SIZE = (1224, 1584)


def pdf_page_tokens(kind: str) -> int:
    """Return the estimated picture tokens of one natively read PDF page (its text is counted apart)."""
    return image_tokens(kind, *PAGE_SIZE)
