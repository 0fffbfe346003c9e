"""Convert js-tiktoken's bundled ranks into tiktoken's own ``.tiktoken`` files.

tiktoken downloads its encodings on first use, which fails offline. The npm package
``js-tiktoken`` ships the same ranks inside ``dist/ranks/<name>.js`` as::

    export default {"pat_str": "...", "special_tokens": {...}, "bpe_ranks": "<lines>"};

where each line of ``bpe_ranks`` is ``<label> <first rank> <base64 token> <base64 token> ...``
and the tokens on a line take consecutive ranks from ``<first rank>`` (the label is unused,
as in js-tiktoken's own loader). tiktoken's format is one ``<base64 token> <rank>`` per line
in rank order. The result must be byte-identical to OpenAI's file: the script refuses to write
a file whose sha256 differs from the ``expected_hash`` that the installed tiktoken pins.

Reproduce the shipped files (the npm registry is the only network access)::

    cd /tmp && npm pack js-tiktoken            # js-tiktoken-1.0.21.tgz was used
    cd /work/main && .venv/bin/python scripts/convert_js_tiktoken.py /tmp/js-tiktoken-1.0.21.tgz

The argument may also be an unpacked package folder. Output goes to ``resources/tokenizers``
unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
import tarfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

JS_PREFIX = "export default "


class ConversionError(RuntimeError):
    """The package does not hold ranks this script understands, or they do not match tiktoken's."""


def read_ranks_module(package: Path, name: str) -> str:
    """Return the text of ``dist/ranks/<name>.js`` from a ``.tgz`` or an unpacked package."""
    member = f"package/dist/ranks/{name}.js"
    if package.is_dir():
        folder = package / "package" if (package / "package").is_dir() else package
        return (folder / "dist" / "ranks" / f"{name}.js").read_text(encoding="utf-8")
    with tarfile.open(package, "r:gz") as archive:
        extracted = archive.extractfile(member)
        if extracted is None:
            raise ConversionError(f"{package} has no {member}.")
        return extracted.read().decode("utf-8")


def ranks_from_js(module_text: str) -> dict[str, int]:
    """Return {base64 token: rank} from the text of a js-tiktoken ranks module."""
    body = module_text.strip()
    if not body.startswith(JS_PREFIX):
        raise ConversionError("The ranks module does not start with 'export default'; the format changed.")
    data = json.loads(body[len(JS_PREFIX) :].rstrip(";"))
    ranks: dict[str, int] = {}
    for line in data["bpe_ranks"].split("\n"):
        if not line:
            continue
        _label, first_rank, *tokens = line.split(" ")
        for offset, token in enumerate(tokens):
            if token in ranks:
                raise ConversionError(f"Token {token} appears twice.")
            ranks[token] = int(first_rank) + offset
    return ranks


def to_tiktoken_bytes(ranks: dict[str, int]) -> bytes:
    """Return tiktoken's file: one ``<base64 token> <rank>`` per line, in rank order."""
    lines = []
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        try:
            canonical = base64.b64encode(base64.b64decode(token, validate=True)).decode("ascii")
        except binascii.Error as error:
            raise ConversionError(f"Token {token!r} is not valid base64.") from error
        if canonical != token:
            raise ConversionError(f"Token {token!r} is not in canonical base64 ({canonical!r}).")
        lines.append(f"{token} {rank}\n")
    return "".join(lines).encode("ascii")


def convert(package: Path, out_dir: Path) -> dict[str, str]:
    """Write every encoding Desktop LLM ships to ``out_dir``; return {file name: sha256}."""
    from desktop_llm.core.encodings import ENCODING_NAMES, encoding_spec

    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in ENCODING_NAMES:
        contents = to_tiktoken_bytes(ranks_from_js(read_ranks_module(package, name)))
        digest = hashlib.sha256(contents).hexdigest()
        expected = encoding_spec(name).expected_hash
        if digest != expected:
            raise ConversionError(f"{name}: sha256 {digest} differs from tiktoken's {expected}; not written.")
        target = out_dir / f"{name}.tiktoken"
        target.write_bytes(contents)
        written[target.name] = digest
    return written


def main(argv: list[str] | None = None) -> int:
    """Run the conversion from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="js-tiktoken .tgz from `npm pack`, or its unpacked folder")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "resources" / "tokenizers")
    args = parser.parse_args(argv)
    try:
        written = convert(args.package, args.out)
    except (ConversionError, OSError, KeyError, ValueError, tarfile.TarError) as error:
        print(f"convert_js_tiktoken: {error}", file=sys.stderr)
        return 1
    for file_name, digest in written.items():
        print(f"{file_name}  sha256 {digest}  (matches tiktoken)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))  # the checkout's package, not a copy installed elsewhere
    sys.exit(main())
