"""packaging/icu_data.py: the bundle's trimmed ICU data keeps collation, normalisation and the index."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _icu_data() -> ModuleType:
    # packaging/ is not a package: the spec puts it on sys.path the same way.
    spec = importlib.util.spec_from_file_location("icu_data", ROOT / "packaging" / "icu_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


icu_data = _icu_data()


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("root.res", True),
        ("res_index.res", True),
        ("pool.res", True),
        ("coll/root.res", True),
        ("coll/res_index.res", True),
        ("coll/ucadata.icu", True),
        ("nfkc.nrm", True),
        ("uts46.nrm", True),
        ("cnvalias.icu", True),
        ("supplementalData.res", True),
        ("de.res", False),
        ("zh_Hant_TW.res", False),
        ("coll/sv.res", False),
        ("coll/de__PHONEBOOK.res", False),
        ("brkitr/cjdict.dict", False),
        ("curr/en.res", False),
        ("zone/fr.res", False),
        ("ibm-943_P15A-2003.cnv", False),
    ],
)
def test_the_trim_keeps_what_qt_reads_and_drops_locales_charsets_dictionaries(name: str, kept: bool) -> None:
    assert icu_data.kept(name) is kept


def test_a_package_survives_being_split_and_packed_again() -> None:
    items = [("icudt73l/a.res", b"A" * 20), ("icudt73l/b.icu", b"B" * 3), ("icudt73l/coll/c.res", b"")]
    header = b"\x20\x00\xda\x27" + b"\x00" * 28  # 32 bytes, like ICU's: a size, two magic bytes, UDataInfo
    package = icu_data._pack(header, items)
    again_header, again = icu_data._items(package)
    assert again_header == header
    assert [name for name, _ in again] == [name for name, _ in items]
    for (_, blob), (_, original) in zip(again, items, strict=True):
        assert blob.startswith(original) and len(blob) % 16 == 0 and not blob[len(original) :].strip(b"\0")


def _qt_icu_data() -> Path | None:
    import PySide6

    found = sorted((Path(PySide6.__file__).parent / "Qt" / "lib").glob("libicudata.so.*"))
    return found[0] if found else None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PySide6 ships ICU on Linux only")
@pytest.mark.skipif(shutil.which("cc") is None, reason="assembling the library needs a C compiler")
def test_the_trimmed_library_is_a_tenth_of_qts_and_holds_the_kept_items(tmp_path: Path) -> None:
    library = _qt_icu_data()
    if library is None:
        pytest.skip("this PySide6 has no ICU of its own")
    trimmed = icu_data.trim_icu_data(library, tmp_path)
    assert trimmed is not None and trimmed.name == library.name
    assert trimmed.stat().st_size * 5 < library.stat().st_size

    symbol = library.name.replace("libicudata.so.", "icudt").encode() + b"_dat"
    data = trimmed.read_bytes()
    offset, size = icu_data._elf_symbol(data, symbol)
    _header, items = icu_data._items(data[offset : offset + size])
    names = {name.split("/", 1)[1] for name, _ in items}
    assert {"root.res", "res_index.res", "coll/root.res", "coll/ucadata.icu", "nfkc.nrm"} <= names
    assert not any(name.endswith(".cnv") or name.startswith("brkitr/") for name in names)
    # ICU binary-searches the table of contents: the kept items stay in the source's order.
    assert [name for name, _ in items] == sorted(name for name, _ in items)
