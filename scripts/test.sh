#!/usr/bin/env bash
# Install everything the tests need and run the whole suite against an installed wheel.
#
#   bash scripts/test.sh [pytest arguments]
#
# As root it installs the missing Debian packages (Xvfb, gnome-keyring, D-Bus, Qt's xcb
# libraries, xdotool). It builds a non-editable wheel into .venv, starts Xvfb and a D-Bus
# session with an unlocked gnome-keyring, then runs pytest. The exit status is pytest's.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

debian_packages=(
    xvfb xauth x11-utils xdotool imagemagick dbus dbus-x11 gnome-keyring desktop-file-utils
    libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
    libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1
    libegl1 libgl1 libfontconfig1 libdbus-1-3 fonts-dejavu-core
)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    missing=()
    for package in "${debian_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "test.sh: installing Debian packages: ${missing[*]}"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
    fi
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
venv_python=$root/.venv/bin/python

# A non-editable wheel, so the tests see exactly what users install (resources included).
rm -rf build/wheel && mkdir -p build/wheel
"$venv_python" -m pip install -q --disable-pip-version-check hatchling >/dev/null
"$venv_python" -m pip wheel -q --no-deps --no-build-isolation -w build/wheel . >/dev/null
wheel=$(ls build/wheel/desktop_llm-*.whl)
"$venv_python" -m pip install -q --disable-pip-version-check "${wheel}[dev]"  # dev: test + pyinstaller + uv (the lock)
"$venv_python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"

echo "test.sh: ruff, mypy --strict and the import contract"
"$root/.venv/bin/ruff" check --quiet .
"$root/.venv/bin/mypy" --no-incremental  # strict, over desktop_llm/ (pyproject.toml [tool.mypy])
"$root/.venv/bin/lint-imports" pyproject.toml --no-cache >/dev/null \
    || { "$root/.venv/bin/lint-imports" pyproject.toml --no-cache; exit 1; }

runtime_dir=$(mktemp -d)
chmod 700 "$runtime_dir"
export XDG_RUNTIME_DIR=$runtime_dir

display_number=99
while [ -e "/tmp/.X11-unix/X$display_number" ] || [ -e "/tmp/.X$display_number-lock" ]; do
    display_number=$((display_number + 1))
done
Xvfb ":$display_number" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
trap 'kill $xvfb_pid 2>/dev/null || true; rm -rf "$runtime_dir"' EXIT
export DISPLAY=":$display_number"
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$display_number" ] && break; sleep 0.1; done

export DESKTOP_LLM_TEST_INSTALLED=1
dbus-run-session -- bash "$root/scripts/_in_dbus_session.sh" "$root/.venv/bin/pytest" "$@"
