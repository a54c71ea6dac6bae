"""Coexistence with the official ``opentelemetry-instrumentation-openai-v2``.

Both instrumentors wrap the same openai methods. Whichever is instrumented
first, one call must give one chat span:

* ours on the outside (official instrumented first): our wrapper calls past
  the official wrapper (``__wrapped__``), so only our span is made;
* the official one on the outside: its chat CLIENT span is current when our
  wrapper runs, so ours steps aside (the shared duplicate policy) and the
  official span is the only one.

The official package is in the test dependency group so these tests run in
CI (openai-v2 2.x needs ``opentelemetry-util-genai<1.2``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.instrumentation import openai_v2 as official

from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.openai_helpers import fixture_cassette


@pytest.fixture
def both() -> Iterator[tuple[object, object]]:
    ours, theirs = OpenAIInstrumentor(), official.OpenAIInstrumentor()
    yield ours, theirs
    ours.uninstrument()
    theirs.uninstrument()


def chat_spans(tel: TelemetryCapture) -> list[tuple[str, str]]:
    return [
        (s.name, s.instrumentation_scope.name) for s in tel.spans() if s.name.startswith("chat")
    ]


def test_official_first_then_ours(agentkit_telemetry: TelemetryCapture, both: tuple) -> None:
    ours, theirs = both
    theirs.instrument()
    ours.instrument()
    cassette = fixture_cassette("chat_basic.yaml")
    cassette.client().chat.completions.create(**cassette.request_json())
    assert chat_spans(agentkit_telemetry) == [("chat fixture-model", "otel_agentkit")]


def test_ours_first_then_official(agentkit_telemetry: TelemetryCapture, both: tuple) -> None:
    ours, theirs = both
    ours.instrument()
    theirs.instrument()
    cassette = fixture_cassette("chat_basic.yaml")
    cassette.client().chat.completions.create(**cassette.request_json())
    spans = chat_spans(agentkit_telemetry)
    assert len(spans) == 1, spans
    # the official span, not ours (openai-v2 2.x makes it through the shared GenAI handler)
    assert spans[0][1].startswith(
        ("opentelemetry.instrumentation.openai_v2", "opentelemetry.util.genai")
    )
