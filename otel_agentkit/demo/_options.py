"""What a demo run was asked to do, and how it stops: options, model names, the error type."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Final

FAKE_CHAT_MODEL: Final = "fake-model"
FAKE_EMBEDDING_MODEL: Final = "fake-embedding"


@dataclass(frozen=True)
class DemoOptions:
    """What ``otel-agentkit demo`` was asked to do."""

    requests: int = 20
    service_name: str = "agentkit-demo"
    port: int = 0
    otlp_endpoint: str | None = None
    model_url: str | None = None
    model: str | None = None
    embedding_model: str | None = None
    model_latency: float = 0.02
    log_file: str | None = None
    serve: bool = False
    json: bool = False


class DemoError(Exception):
    """A reason to stop with a one-line message and a non-zero exit."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def default_log_file() -> str:
    """A new, empty log file in the temporary directory (kept after the demo)."""
    handle, path = tempfile.mkstemp(prefix="agentkit-demo-", suffix=".log")
    os.close(handle)
    return path
