"""Trim the ICU data library that PySide6's Qt Core links to, keeping what a Widgets chat app uses.

Qt Core on Linux loads ``libicudata.so.<N>`` (about 30 MB): every locale's names, currencies,
units and time zones, 190 legacy character sets and the dictionaries that break Thai or Chinese
text into words. Qt itself reads little of it: collation (``QCollator``, which sorts the file
dialog's list), normalisation and IDNA data, and locale data only through collation and
time-zone display names, which this app does not show (it formats dates in Python). So the
package is rewritten with those parts only, as ICU's own data filtering does
(https://unicode-org.github.io/icu/userguide/icu_data/buildtool.html); anything asking for a
removed item gets ICU's usual "missing resource" answer and Qt falls back (a collator for
"sv" sorts as the root locale does).

The data is the ``icudt<N>_dat`` symbol of the library; the new library is assembled from the
filtered package with the C compiler (``cc``). Without a compiler the library stays whole.

Usage (the spec does this): ``trimmed = trim_icu_data(Path(".../libicudata.so.73"), work_dir)``
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

# Whole trees and kinds of items nothing in the app asks for.
DROPPED_TREES = ("brkitr/", "curr/", "lang/", "region/", "unit/", "zone/", "rbnf/", "translit/")
DROPPED_SUFFIXES = (".cnv",)  # legacy 8-bit and CJK character sets: Qt 6 speaks UTF-8/UTF-16 here
# Per-locale bundles ("de.res", "coll/sv.res"); the root locale and the index/pool files stay.
_LOCALE = re.compile(r"(?:coll/)?[a-z]{2,3}(?:_[A-Za-z0-9]*)*\.res")
_KEPT_NAMES = frozenset({"root.res", "res_index.res", "pool.res", "coll/root.res", "coll/res_index.res"})
_ALIGN = 16  # ICU aligns every item of a common-data package to 16 bytes


def _elf_symbol(library: bytes, name: bytes) -> tuple[int, int]:
    """Return (file offset, size) of the ELF64 symbol ``name`` (in the dynamic symbol table)."""
    if library[:4] != b"\x7fELF" or library[4] != 2:
        raise ValueError("not a 64-bit ELF library")
    (shoff,) = struct.unpack_from("<Q", library, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", library, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", library, shoff + i * shentsize) for i in range(shnum)]
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if kind != 11:  # SHT_DYNSYM
            continue
        strings = sections[link][4]
        for start in range(offset, offset + size, entsize):
            name_at, _info, _other, index, value, length = struct.unpack_from("<IBBHQQ", library, start)
            end = library.index(b"\0", strings + name_at)
            if library[strings + name_at : end] == name:
                section = sections[index]
                return section[4] + (value - section[3]), length
    raise ValueError(f"no symbol {name.decode()} in the library")


def _items(package: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Split a common-data package into its header and its (name, bytes) items, in order."""
    (header_size,) = struct.unpack_from("<H", package, 0)
    (count,) = struct.unpack_from("<I", package, header_size)
    entries = [struct.unpack_from("<II", package, header_size + 4 + 8 * i) for i in range(count)]
    items = []
    for number, (name_at, data_at) in enumerate(entries):
        start = header_size + name_at
        name = package[start : package.index(b"\0", start)].decode("ascii")
        end = header_size + entries[number + 1][1] if number + 1 < count else len(package)
        items.append((name, package[header_size + data_at : end]))
    return package[:header_size], items


def _pack(header: bytes, items: list[tuple[str, bytes]]) -> bytes:
    """Write a common-data package: header, table of contents, names, then the 16-byte-aligned items."""
    names = b"".join(name.encode("ascii") + b"\0" for name, _ in items)
    toc_size = 4 + 8 * len(items)
    data_at = toc_size + len(names)
    data_at += -data_at % _ALIGN  # offsets are from the table's start, which the header keeps aligned
    toc, blobs, name_at = [struct.pack("<I", len(items))], [], toc_size
    for name, data in items:
        toc.append(struct.pack("<II", name_at, data_at))
        name_at += len(name) + 1
        padded = data + b"\0" * (-len(data) % _ALIGN)
        blobs.append(padded)
        data_at += len(padded)
    body = b"".join(toc) + names
    return header + body + b"\0" * (-len(body) % _ALIGN) + b"".join(blobs)


def kept(name: str) -> bool:
    """Return whether the item ``name`` (without the package prefix) stays in the trimmed data."""
    if name in _KEPT_NAMES:
        return True
    if name.startswith(DROPPED_TREES) or name.endswith(DROPPED_SUFFIXES):
        return False
    return not _LOCALE.fullmatch(name)


def trim_icu_data(library: Path, work_dir: Path) -> Path | None:
    """Write a trimmed copy of ``library`` (``libicudata.so.<N>``) in ``work_dir``; return its path.

    Returns None (use the library as it is) when there is no C compiler to assemble the copy.
    """
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    version = re.fullmatch(r"libicudata\.so\.(\d+)", library.name)
    if version is None:
        raise ValueError(f"{library.name} is not an ICU data library")
    symbol = f"icudt{version.group(1)}_dat"
    data = library.read_bytes()
    offset, size = _elf_symbol(data, symbol.encode())
    header, items = _items(data[offset : offset + size])
    prefix = f"icudt{version.group(1)}l/"
    package = _pack(header, [(name, blob) for name, blob in items if kept(name.removeprefix(prefix))])
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "icudata.dat").write_bytes(package)
    (work_dir / "icudata.S").write_text(
        f"\t.section .rodata\n\t.globl {symbol}\n\t.type {symbol}, @object\n\t.balign 16\n"
        f'{symbol}:\n\t.incbin "icudata.dat"\n\t.size {symbol}, .-{symbol}\n'
        '\t.section .note.GNU-stack,"",@progbits\n'
    )
    trimmed = work_dir / library.name
    subprocess.run(
        [compiler, "-shared", "-nostdlib", f"-Wl,-soname,{library.name}", "-o", str(trimmed), "icudata.S"],
        cwd=work_dir,
        check=True,
    )
    return trimmed
