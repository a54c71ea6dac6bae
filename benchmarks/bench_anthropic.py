"""Anthropic instrumentation overhead: one messages.create call, and a 200-delta stream.

Both go through the real anthropic client over a ``MockTransport`` of its own
HTTP stack that answers at once, so what is measured is the client plus the
instrumentation (not a network). Configurations, interleaved round by round in
one process (the best round is kept):

* ``none``: uninstrumented, the client's own tracing off (the baseline);
* ``sdk-tracing``: uninstrumented, anthropic's own tracing on (its default in 2.x);
* ``agentkit``: :class:`~otel_agentkit.instrumentation.anthropic.AnthropicInstrumentor`,
  the client's own tracing off;
* ``agentkit+sdk``: ours with the client's tracing on (ours replaces its span).

Spans go to a real SDK TracerProvider (dropped at the end by a processor that
does nothing), metrics to a real MeterProvider with an in-memory reader.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

from benchmarks._timing import per_call, table

DELTAS = 200
ROUNDS = 5

_MESSAGE = {
    "id": "msg_bench",
    "type": "message",
    "role": "assistant",
    "model": "bench-model-1",
    "content": [{"type": "text", "text": "Hello there."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 3},
}


def _stream_body() -> bytes:
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": {**_MESSAGE, "content": []}}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
    ]
    events += [
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": f"w{i} "},
            },
        )
        for i in range(DELTAS)
    ]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": DELTAS},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events).encode()


def _client(sdk_tracing: bool) -> Any:
    import anthropic

    base = importlib.import_module("anthropic._base_client")
    http = getattr(base, "httpx2", None) or base.httpx
    message = json.dumps(_MESSAGE).encode()
    stream = _stream_body()

    def handler(request: Any) -> Any:
        if b'"stream": true' in request.content or b'"stream":true' in request.content:
            return http.Response(200, headers={"content-type": "text/event-stream"}, content=stream)
        return http.Response(200, headers={"content-type": "application/json"}, content=message)

    options: dict[str, Any] = {} if sdk_tracing else {"open_telemetry": False}
    return anthropic.Anthropic(
        api_key="sk-ant-bench",
        http_client=http.Client(transport=http.MockTransport(handler)),
        max_retries=0,
        **options,
    )


def _providers() -> Callable[[], None]:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SpanProcessor())
    reader = InMemoryMetricReader()
    from otel_agentkit.telemetry import _globals

    _globals.reset()  # the API sets a global provider once: an earlier benchmark may have
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

    def drain() -> None:
        reader.get_metrics_data()

    return drain


def _per_delta(stream_s: float, base_stream: float) -> str:
    return f"{(stream_s - base_stream) / DELTAS * 1e9:+.0f} ns ({stream_s / base_stream:.3f}x)"


def _proxy_alone() -> float:
    """Seconds per event through our stream proxy alone (prebuilt events, no client)."""
    from anthropic.types import RawContentBlockDeltaEvent, TextDelta

    from otel_agentkit._content import ContentCapture
    from otel_agentkit.instrumentation._base import TelemetryHandle
    from otel_agentkit.instrumentation._genai import Call
    from otel_agentkit.instrumentation._streams import SyncStreamProxy
    from otel_agentkit.instrumentation.anthropic._messages import MessageStreamRecorder

    event = RawContentBlockDeltaEvent(
        type="content_block_delta", index=0, delta=TextDelta(type="text_delta", text="x")
    )
    events = [event] * 10_000

    def bare() -> None:
        for _ in iter(events):
            pass

    def proxied() -> None:
        call = Call(TelemetryHandle(), "chat", "m", {}, ContentCapture.NO_CONTENT)
        for _ in SyncStreamProxy(iter(events), MessageStreamRecorder(call)):
            pass

    return (per_call(proxied, number=20, repeat=5) - per_call(bare, number=20, repeat=5)) / len(
        events
    )


def main() -> None:
    try:
        import anthropic  # noqa: F401
    except ImportError:
        print("bench_anthropic: anthropic is not installed; skipped")
        return
    from otel_agentkit.instrumentation.anthropic import AnthropicInstrumentor

    drain = _providers()
    kwargs = {
        "model": "bench-model",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    }
    configs = {
        "none": (False, False),
        "sdk-tracing": (False, True),
        "agentkit": (True, False),
        "agentkit+sdk": (True, True),
    }
    best: dict[tuple[str, str], float] = {}
    for _ in range(ROUNDS):
        for name, (ours, sdk_tracing) in configs.items():
            instrumentor = AnthropicInstrumentor()
            if ours:
                instrumentor.instrument()
            try:
                client = _client(sdk_tracing)

                def call(client: Any = client) -> None:
                    client.messages.create(**kwargs)

                def stream(client: Any = client) -> None:
                    for _ in client.messages.create(stream=True, **kwargs):
                        pass

                for case, fn, number in (("call", call, 1000), ("stream", stream, 60)):
                    seconds = per_call(fn, number=number, repeat=1)
                    best[(name, case)] = min(best.get((name, case), seconds), seconds)
                    drain()
            finally:
                if ours:
                    instrumentor.uninstrument()
    base_call, base_stream = best[("none", "call")], best[("none", "stream")]
    rows = []
    for name in configs:
        call_s, stream_s = best[(name, "call")], best[(name, "stream")]
        rows.append(
            [
                name,
                f"{call_s * 1e6:.1f}",
                "—"
                if name == "none"
                else f"{(call_s - base_call) * 1e6:+.1f} ({call_s / base_call:.3f}x)",
                f"{stream_s * 1e6:.0f}",
                "—" if name == "none" else _per_delta(stream_s, base_stream),
            ]
        )
    print(
        table(
            f"anthropic: messages.create and a {DELTAS}-delta stream (real client, mock transport)",
            [
                "configuration",
                "call (µs)",
                "overhead per call",
                "stream (µs)",
                "overhead per delta",
            ],
            rows,
        )
    )
    print(f"per event through the stream proxy alone: {_proxy_alone() * 1e9:.0f} ns\n")


if __name__ == "__main__":
    main()
