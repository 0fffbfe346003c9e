#!/usr/bin/env bash
# Install Desktop LLM into .venv (first time only) and start it: bash scripts/run.sh [options]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check .
exec .venv/bin/desktop-llm "$@"
