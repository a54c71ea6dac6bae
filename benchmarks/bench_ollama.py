"""Ollama instrumentation overhead: one chat call, and a 200-chunk streamed chat.

Both go through the real ollama client over an ``httpx.MockTransport`` that
answers at once, so what is measured is the client plus the instrumentation,
not a network. Configurations alternate round by round in one process and
the best round of each is kept:

* ``none``: uninstrumented (the baseline);
* ``sdk-floor``: the bare SDK work any GenAI instrumentation must do per call
  (the OpenAI benchmark's floor wrapper, put on ``ollama.Client.chat``);
* ``agentkit``: :class:`~otel_agentkit.instrumentation.ollama.OllamaInstrumentor`.

Spans go to a real SDK TracerProvider (built, then dropped by a processor that
does nothing), metrics to a real MeterProvider with an in-memory reader.
Overheads are reported per call and per chunk, as ratios to the baseline
measured in the same run.
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks._timing import per_call, table

STREAM_CHUNKS = 200
_FINAL = {
    "model": "bench-model",
    "created_at": "2025-01-01T00:00:00Z",
    "done": True,
    "done_reason": "stop",
    "total_duration": 1_000_000,
    "load_duration": 10_000,
    "prompt_eval_count": 12,
    "prompt_eval_duration": 100_000,
    "eval_count": STREAM_CHUNKS,
    "eval_duration": 800_000,
}


def _bodies() -> tuple[bytes, bytes]:
    chat = json.dumps({**_FINAL, "message": {"role": "assistant", "content": "Hello there."}})
    lines = [
        json.dumps(
            {
                "model": "bench-model",
                "created_at": "2025-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": f" word{i}"},
                "done": False,
            }
        )
        for i in range(STREAM_CHUNKS - 1)
    ]
    lines.append(json.dumps({**_FINAL, "message": {"role": "assistant", "content": ""}}))
    return chat.encode(), "\n".join(lines).encode()


def run(rounds: int = 7, calls: int = 300, streams: int = 20) -> dict[str, dict[str, float]]:
    """Seconds per chat call and per 200-chunk stream, for each configuration."""
    import httpx
    import ollama
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

    from benchmarks.bench_openai import _SdkFloor
    from otel_agentkit.instrumentation.ollama import OllamaInstrumentor

    chat_body, stream_body = _bodies()

    def handler(request: httpx.Request) -> httpx.Response:
        streamed = b'"stream":true' in request.content
        return httpx.Response(200, content=stream_body if streamed else chat_body)

    client = ollama.Client(host="http://127.0.0.1:11434", transport=httpx.MockTransport(handler))
    messages = [{"role": "user", "content": "Hi"}]

    def chat() -> None:
        client.chat(model="bench-model", messages=messages)

    def streamed() -> None:
        for _ in client.chat(model="bench-model", messages=messages, stream=True):
            pass

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SpanProcessor())  # spans are built, then dropped
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    instrumentors: dict[str, Any] = {
        "sdk-floor": _SdkFloor((ollama.Client, "chat")),
        "agentkit": OllamaInstrumentor(),
    }
    modes = ("none", "sdk-floor", "agentkit")
    results = {mode: {"chat": float("inf"), "stream": float("inf")} for mode in modes}
    try:
        for _ in range(rounds):
            for mode in modes:
                instrumentor = instrumentors.get(mode)
                if instrumentor is not None:
                    instrumentor.instrument(
                        tracer_provider=tracer_provider, meter_provider=meter_provider
                    )
                try:
                    best = results[mode]
                    best["chat"] = min(best["chat"], per_call(chat, number=calls, repeat=1))
                    best["stream"] = min(
                        best["stream"], per_call(streamed, number=streams, repeat=1)
                    )
                finally:
                    if instrumentor is not None:
                        instrumentor.uninstrument()
    finally:
        meter_provider.shutdown()
        tracer_provider.shutdown()
    return results


def main() -> None:
    results = run()
    base = results["none"]
    rows: list[list[Any]] = []
    for mode, measured in results.items():
        chat_us, stream_us = measured["chat"] * 1e6, measured["stream"] * 1e6
        if mode == "none":
            rows.append([mode, f"{chat_us:.1f}", "—", f"{stream_us:.0f}", "—"])
            continue
        chat_extra = chat_us - base["chat"] * 1e6
        chunk_extra_ns = (stream_us - base["stream"] * 1e6) * 1e3 / STREAM_CHUNKS
        rows.append(
            [
                mode,
                f"{chat_us:.1f}",
                f"+{chat_extra:.1f} ({measured['chat'] / base['chat']:.3f}x)",
                f"{stream_us:.0f}",
                f"+{chunk_extra_ns:.0f} ns ({measured['stream'] / base['stream']:.3f}x)",
            ]
        )
    print(
        table(
            "Ollama instrumentation overhead (real client, MockTransport)",
            [
                "instrumentation",
                "chat call (µs)",
                "overhead per call",
                f"{STREAM_CHUNKS}-chunk stream (µs)",
                "overhead per chunk",
            ],
            rows,
        )
    )
