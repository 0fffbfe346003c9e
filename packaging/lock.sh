#!/usr/bin/env bash
# Pin the bundle's dependencies, with hashes, in packaging/requirements.lock (read by build.sh).
#
#   bash packaging/lock.sh            # after changing pyproject.toml's dependencies
#
# Needs uv (the `dev` extra has it; PYTHON names the interpreter that has it, default python3).
# The input, packaging/requirements.in, is written from pyproject.toml: the runtime
# dependencies, PyInstaller (the `dev` extra's), and the runtime dependencies that branches in
# flight add (EXPECTED below; drop a name once pyproject.toml lists it). The lock covers every
# platform (--universal) for Python 3.11 and up. tests/unit/test_requirements_lock.py checks
# that the lock agrees with pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
"$python" - >packaging/requirements.in <<'PY'
import re
import tomllib

EXPECTED = ["mcp>=2.3", "pypdfium2>=5.0", "ziamath>=0.13", "pillow>=11.0"]

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
tools = [r for r in project["optional-dependencies"]["dev"] if r.lower().startswith("pyinstaller")]
wanted = project["dependencies"] + tools


def name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


listed = {name(r) for r in wanted}
print("# Written by packaging/lock.sh from pyproject.toml; do not edit.")
print("\n".join(wanted + [r for r in EXPECTED if name(r) not in listed]))
PY
"$python" -m uv pip compile packaging/requirements.in --generate-hashes --universal \
    --python-version 3.11 --no-header --quiet -o packaging/requirements.lock
echo "lock.sh: wrote packaging/requirements.lock ($(grep -c '==' packaging/requirements.lock) pins)"
