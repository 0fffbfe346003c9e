#!/usr/bin/env bash
# Inside a D-Bus session: unlock a fresh gnome-keyring, then run the command.
# The daemon keeps its keyrings in a throwaway HOME so no real keyring is touched or needed.
set -euo pipefail
keyring_home=$(mktemp -d "${XDG_RUNTIME_DIR:-/tmp}/keyring-home.XXXXXX")
eval "$(printf 'desktop-llm-tests' | HOME=$keyring_home gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
exec "$@"
