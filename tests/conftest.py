"""Shared fixtures: a real OTLP receiver, clean OTel globals, requirements under CI."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import otel_agentkit
from otel_agentkit.telemetry import _globals
from tests.otlp_receiver import OTLPReceiver

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: Recorded real API traffic lives outside the repo (never copied into it):
#: ``../shared/cassettes`` beside the checkout, or wherever AGENTKIT_CASSETTES_DIR says.
CASSETTES_DIR = Path(
    os.environ.get(
        "AGENTKIT_CASSETTES_DIR",
        str(Path(__file__).resolve().parents[2] / "shared" / "cassettes"),
    )
)


def cassettes_dir(provider: str) -> Path:
    """Folder of recorded traffic for ``provider``: skip when absent, fail under CI=true."""
    path = CASSETTES_DIR / provider
    if not path.is_dir():
        message = f"recorded cassettes not found at {path} (set AGENTKIT_CASSETTES_DIR)"
        if IN_CI:
            pytest.fail(message + " -- required under CI=true")
        pytest.skip(message)
    return path


def require_binary(name: str) -> str:
    """Path of a binary a test needs: skip locally when missing, fail under CI=true."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (run scripts/install-system-deps.sh)"
        if IN_CI:
            pytest.fail(message + " -- required under CI=true")
        pytest.skip(message)
    return path


@pytest.fixture
def otlp_receiver() -> Iterator[OTLPReceiver]:
    receiver = OTLPReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


_OTEL_ENV_PREFIXES = ("OTEL_", "AGENTKIT_")
#: Read by configure() too (multi-process metrics): a developer's shell must not leak it in.
_OTHER_ENV = frozenset({"PROMETHEUS_MULTIPROC_DIR"})


@pytest.fixture(autouse=True)
def _clean_otel(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no OTel/AgentKit env vars and no global providers."""
    for name in list(os.environ):
        if name.startswith(_OTEL_ENV_PREFIXES) or name in _OTHER_ENV:
            monkeypatch.delenv(name)
    otel_agentkit.shutdown()
    _globals.reset()
    yield
    otel_agentkit.shutdown()
    _globals.reset()
