#!/usr/bin/env bash
# Run the test suite on a fresh machine: system packages, tools, then nox.
# Extra arguments go to pytest, e.g. scripts/test.sh -k prometheus
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
bash scripts/bootstrap.sh
exec .venv/bin/nox -s tests -- "$@"
