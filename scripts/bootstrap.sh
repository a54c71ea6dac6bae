#!/usr/bin/env bash
# Create .venv with the project's tools (nox, uv) if it is not there yet.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/nox ] || [ ! -x .venv/bin/uv ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -r scripts/requirements-tools.txt
fi
