"""Coexistence with the official ``opentelemetry-instrumentation-openai-v2``.

Both instrumentors wrap the same openai methods. Whichever is instrumented
first, one call must give one chat span:

* ours on the outside (official instrumented first): our wrapper calls past
  the official wrapper (``__wrapped__``), so only our span is made;
* the official one on the outside: its span is current when our wrapper runs,
  so ours steps aside and the official span is the only one.

The official package is optional (not in the test dependency group, to keep
the default environment free of a second OpenAI instrumentor): these tests
run where it is installed, e.g. the benchmark's side-by-side environment.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.testing import TelemetryCapture
from tests.openai_helpers import fixture_cassette

official = pytest.importorskip("opentelemetry.instrumentation.openai_v2")


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
    assert spans[0][1].startswith("opentelemetry.instrumentation.openai_v2")
