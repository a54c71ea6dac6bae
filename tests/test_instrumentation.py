"""instrument() / uninstrument(): load instrumentors from the entry points on demand."""

from __future__ import annotations

import pytest

from otel_agentkit import instrumentation
from otel_agentkit.testing import TelemetryCapture
from tests.openai_helpers import fixture_cassette


def test_registry_lists_our_entry_points() -> None:
    assert instrumentation.available()["openai"] == (
        "otel_agentkit.instrumentation.openai:OpenAIInstrumentor"
    )


def test_instrument_by_name_and_uninstrument(agentkit_telemetry: TelemetryCapture) -> None:
    from openai.resources.chat.completions import Completions

    original = Completions.create
    try:
        assert instrumentation.instrument("openai") == ["openai"]
        assert instrumentation.instrument("openai") == []  # already on: nothing new
        assert Completions.create.__wrapped__ is original
        cassette = fixture_cassette("chat_basic.yaml")
        cassette.client().chat.completions.create(**cassette.request_json())
        assert [s.name for s in agentkit_telemetry.spans()] == ["chat fixture-model"]
    finally:
        instrumentation.uninstrument()
    assert Completions.create is original


def test_instrument_all_installed(agentkit_telemetry: TelemetryCapture) -> None:
    try:
        assert "openai" in instrumentation.instrument()
    finally:
        instrumentation.uninstrument()


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown instrumentation 'nope'; available: .*openai"):
        instrumentation.instrument("nope")


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, otel_agentkit.instrumentation as i; i.available(); "
        "print('openai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
