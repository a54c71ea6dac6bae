"""What the agent-framework tests share: the question and tool, span and metric checks."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from otel_agentkit.testing import TelemetryCapture

#: What the test agents are asked.
QUESTION = "What is the weather in Lisbon?"
#: What they answer: the fake model passes the whole question as the city (a string
#: argument gets the message) and quotes the tool's result.
ANSWER = "Here is what I found. get_weather: 24 C in What is the weather in Lisbon?"


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"24 C in {city}"


class StartedSpans(SpanProcessor):
    """Remembers every span started, so a test can tell whether each one ended."""

    def __init__(self) -> None:
        self.started: dict[int, str] = {}
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        with self._lock:
            self.started[span.context.span_id] = span.name


@contextmanager
def every_span_ended(tel: TelemetryCapture) -> Iterator[StartedSpans]:
    """Fails unless every span started inside the block has ended when it exits."""
    started = StartedSpans()
    tel.tracer_provider.add_span_processor(started)
    yield started
    ended = {s.context.span_id for s in tel.spans()}
    open_spans = [name for span_id, name in started.started.items() if span_id not in ended]
    assert open_spans == [], f"spans never ended: {open_spans}"


@contextmanager
def instrumenting(*instrumentors: Any) -> Iterator[None]:
    """``instrument()`` each of ``instrumentors`` for the block, ``uninstrument()`` after."""
    for instrumentor in instrumentors:
        instrumentor.instrument()
    try:
        yield
    finally:
        for instrumentor in reversed(instrumentors):
            instrumentor.uninstrument()


def children(tel: TelemetryCapture, parent: ReadableSpan) -> list[str]:
    """Names of ``parent``'s child spans, in the order they started."""
    found = [
        s
        for s in tel.spans()
        if s.parent is not None and s.parent.span_id == parent.context.span_id
    ]
    return [s.name for s in sorted(found, key=lambda s: s.start_time or 0)]


def attributes(span: ReadableSpan) -> Mapping[str, Any]:
    return span.attributes or {}


def histogram_count(tel: TelemetryCapture, name: str, **where: str) -> int:
    """Measurements of histogram ``name`` whose attributes include ``where``."""
    wanted = {k.replace("__", "."): v for k, v in where.items()}
    return sum(p.count for p in tel.metric_points(name, wanted))
