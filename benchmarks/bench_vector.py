"""Per-call cost of the vector-store instrumentors on real in-memory clients.

Cases, all measured in this one run, interleaved round by round:

- Qdrant ``QdrantClient(":memory:")``: ``count`` and a ``query_points``
  similarity search (k=5 over 200 points);
- Chroma ``EphemeralClient``: ``count`` and a ``query`` (k=5 over 200
  records, explicit embeddings);

each bare (not instrumented) and instrumented with the SDK installed (spans
built then dropped, metrics into an in-memory reader); plus, as the reference
for what any instrumentation must pay, Qdrant ``count`` inside a hand-written
span with the same attributes and one histogram record. The in-memory stores
are the worst case for relative overhead: a networked store takes
milliseconds per call, next to which the instrumentation's microseconds
vanish. Reports the added microseconds per call and the ratio.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from benchmarks._timing import per_call, table

POINTS = 200
DIM = 16
K = 5


def _cases() -> dict[str, Callable[[], object]]:
    import chromadb
    from qdrant_client import QdrantClient, models

    rng = random.Random(7)  # benchmark data
    vectors = [[rng.random() for _ in range(DIM)] for _ in range(POINTS)]
    probe = [rng.random() for _ in range(DIM)]

    qdrant = QdrantClient(":memory:")
    qdrant.create_collection(
        "bench", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE)
    )
    qdrant.upsert(
        "bench", points=[models.PointStruct(id=i, vector=v) for i, v in enumerate(vectors)]
    )
    chroma = chromadb.EphemeralClient().get_or_create_collection(
        "bench-vectors", embedding_function=None
    )
    chroma.upsert(ids=[str(i) for i in range(POINTS)], embeddings=vectors)

    return {
        "qdrant count": lambda: qdrant.count("bench"),
        "qdrant query_points k=5": lambda: qdrant.query_points("bench", query=probe, limit=K),
        "chroma count": chroma.count,
        "chroma query k=5": lambda: chroma.query(query_embeddings=[probe], n_results=K),
    }


def _hand_written(fn: Callable[[], object], providers: dict[str, Any]) -> Callable[[], object]:
    import time

    from opentelemetry.trace import SpanKind

    from otel_agentkit import semconv

    tracer = providers["tracer_provider"].get_tracer("bench")
    histogram = (
        providers["meter_provider"].get_meter("bench").create_histogram("bench.duration", unit="s")
    )
    attributes = {
        semconv.DB_SYSTEM_NAME: semconv.DB_SYSTEM_QDRANT,
        semconv.DB_OPERATION_NAME: "count",
        semconv.DB_COLLECTION_NAME: "bench",
    }

    def call() -> object:
        start = time.perf_counter()
        with tracer.start_as_current_span("count bench", kind=SpanKind.CLIENT) as span:
            span.set_attributes(attributes)
            result = fn()
        histogram.record(time.perf_counter() - start, attributes)
        return result

    return call


def main(rounds: int = 5, number: int = 300) -> None:
    """Print a Markdown table: bare vs instrumented per case."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

    from otel_agentkit.instrumentation.chromadb import ChromaInstrumentor
    from otel_agentkit.instrumentation.qdrant import QdrantInstrumentor

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SpanProcessor())  # spans are built, then dropped
    providers: dict[str, Any] = {
        "tracer_provider": tracer_provider,
        "meter_provider": MeterProvider(metric_readers=[InMemoryMetricReader()]),
    }
    cases = _cases()
    hand_written = _hand_written(cases["qdrant count"], providers)
    best: dict[Any, float] = {}
    for _ in range(rounds):
        for instrumented in (False, True):
            if instrumented:
                QdrantInstrumentor().instrument(**providers)
                ChromaInstrumentor().instrument(**providers)
            try:
                for name, fn in cases.items():
                    took = per_call(fn, number=number, repeat=1)
                    key = (name, instrumented)
                    best[key] = min(best.get(key, float("inf")), took)
                if not instrumented:
                    took = per_call(hand_written, number=number, repeat=1)
                    best["hand"] = min(best.get("hand", float("inf")), took)
            finally:
                if instrumented:
                    QdrantInstrumentor().uninstrument()
                    ChromaInstrumentor().uninstrument()
    rows = []
    for name in cases:
        bare, inst = best[(name, False)], best[(name, True)]
        rows.append(
            [
                name,
                f"{bare * 1e6:.1f}",
                f"{inst * 1e6:.1f}",
                f"{(inst - bare) * 1e6:+.1f}",
                f"{inst / bare:.2f}x",
            ]
        )
    bare, hand = best[("qdrant count", False)], best["hand"]
    rows.append(
        [
            "qdrant count in a hand-written span + histogram",
            f"{bare * 1e6:.1f}",
            f"{hand * 1e6:.1f}",
            f"{(hand - bare) * 1e6:+.1f}",
            f"{hand / bare:.2f}x",
        ]
    )
    print(
        table(
            "Vector stores: per-call cost, in-memory clients (us)",
            ["case", "bare", "instrumented", "added", "ratio"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
