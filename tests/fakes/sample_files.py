"""Make real files to attach, at run time: PDFs with and without text, PNG and JPEG images."""

from __future__ import annotations

import io


def pdf_bytes(*pages: str) -> bytes:
    """Return a valid PDF with one page per string of Helvetica text ("" makes a page without text)."""
    objects: list[bytes] = []
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{i} 0 R" for i in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for index, text in enumerate(pages):
        content_id = page_ids[index] + 1
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
            ).encode()
        )
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = (
            f"BT /F1 14 Tf 72 720 Td ({escaped}) Tj ET".encode() if text else b"0 0 1 rg 72 72 200 200 re f"
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def image_bytes(
    width: int, height: int, image_format: str = "PNG", colour: tuple[int, int, int] = (200, 40, 40)
) -> bytes:
    """Return an image of the given size and format, with a gradient so it compresses like a photo."""
    from PIL import Image

    image = Image.new("RGB", (width, height), colour)
    stripe = Image.linear_gradient("L").resize((width, max(1, height // 4)))
    image.paste(Image.merge("RGB", (stripe, stripe, stripe)), (0, 0))
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    return buffer.getvalue()
