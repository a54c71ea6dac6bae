"""gunicorn config for the multi-process metrics test: the documented ``on_starting`` hook."""

from __future__ import annotations

import os
from typing import Any


def on_starting(server: Any) -> None:
    """Clear the state files of the previous run before any worker starts."""
    from otel_agentkit.telemetry import clear_multiprocess_dir

    clear_multiprocess_dir(os.environ["AGENTKIT_METRICS_MULTIPROC_DIR"])
