#!/usr/bin/env bash
# Run the demo on a fresh machine: installs the package into .venv and runs
# `otel-agentkit demo`. Extra arguments go to the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/uv pip install --python .venv/bin/python -q -e .
exec .venv/bin/otel-agentkit demo "$@"
