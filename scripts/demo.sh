#!/usr/bin/env bash
# Run the demo on a fresh machine: installs the package with its `demo` extra
# (openai, qdrant-client, flask) into .venv and runs `otel-agentkit demo`: a
# small agent against a fake model server, all on 127.0.0.1. Extra arguments go
# to the demo, e.g. scripts/demo.sh --requests 50 --serve
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/uv pip install --python .venv/bin/python -q -e '.[demo]'
exec .venv/bin/otel-agentkit demo "$@"
