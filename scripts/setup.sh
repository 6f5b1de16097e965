#!/usr/bin/env bash
# One idempotent setup for a fresh Debian/Ubuntu machine: ZeroC Ice 3.7 + IceStorm from the OS packages,
# a .venv over the system Python (which owns the Ice module), the project in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3-zeroc-ice zeroc-icebox libzeroc-icestorm3.7 zeroc-ice-utils python3-venv python3-pip)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if ! dpkg -s "${APT_PACKAGES[@]}" >/dev/null 2>&1; then
    echo "setup: installing ZeroC Ice 3.7 and IceStorm from the OS packages"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${APT_PACKAGES[@]}"
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with the system site packages (for import Ice, IceStorm)"
    /usr/bin/python3 -m venv --system-site-packages .venv
fi

stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing the project and its Python dependencies"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e .
    touch "$stamp"
fi

.venv/bin/python -c "import Ice, IceStorm, torch, onnxruntime, dlib, cv2, emotion" \
    || { echo "setup: the environment is incomplete (see the messages above)" >&2; exit 1; }
echo "setup: ready (.venv, Ice $(.venv/bin/python -c 'import Ice; print(Ice.stringVersion())'))"
