#!/usr/bin/env bash
# Build Desktop LLM's one-folder bundle from this checkout with PyInstaller.
#
#   bash packaging/build.sh [--dist DIR] [--work DIR]
#
# Output: DIR/desktop-llm/ (default dist/desktop-llm/) with the program desktop-llm inside; on
# macOS also "DIR/Desktop LLM.app". Uses .venv (created if missing) and installs into it the app's
# runtime dependencies and PyInstaller at the versions and hashes of packaging/requirements.lock;
# the app itself is bundled from this checkout's source, not from an installed copy.
# Run the result's self-check with: dist/desktop-llm/desktop-llm --smoke-test
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dist=$root/dist
work=$root/build/pyinstaller
while [ $# -gt 0 ]; do
    case $1 in
        --dist) dist=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        *) echo "build.sh: unknown argument $1 (use --dist DIR, --work DIR)" >&2; exit 2 ;;
    esac
done

[ -d .venv ] || "${PYTHON:-python3}" -m venv .venv
if [ -x .venv/Scripts/python.exe ]; then venv_python=$root/.venv/Scripts/python.exe; else venv_python=$root/.venv/bin/python; fi

# Exactly the pinned, hash-checked versions (packaging/lock.sh writes the lock from pyproject.toml),
# so two builds of one commit bundle the same bytes and a tampered download is refused.
"$venv_python" -m pip install -q --disable-pip-version-check --require-hashes -r packaging/requirements.lock

echo "build.sh: building the bundle into $dist (PyInstaller $("$venv_python" -m PyInstaller --version))"
"$venv_python" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$dist" --workpath "$work" packaging/desktop-llm.spec
echo "build.sh: done: $dist/desktop-llm ($(du -sh "$dist/desktop-llm" | cut -f1))"
