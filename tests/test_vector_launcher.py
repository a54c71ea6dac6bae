"""Zero-code path: ``opentelemetry-instrument`` loads ``agentkit_qdrant`` / ``agentkit_chromadb``.

A real subprocess under the real launcher, real in-memory stores; spans cross
the wire to the test's OTLP receiver. One run checks both directions: Qdrant
is instrumented from its entry point, Chroma is turned off through
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from otel_agentkit import semconv
from tests.llm_helpers import launch, our_spans
from tests.otlp_receiver import OTLPReceiver, attrs

SCRIPT = textwrap.dedent(
    """
    import chromadb
    from qdrant_client import QdrantClient, models

    qdrant = QdrantClient(":memory:")
    qdrant.create_collection(
        "docs", vectors_config=models.VectorParams(size=2, distance=models.Distance.COSINE)
    )
    qdrant.upsert("docs", points=[models.PointStruct(id=1, vector=[1.0, 0.0])])
    hits = qdrant.query_points("docs", query=[1.0, 0.0], limit=3).points
    col = chromadb.EphemeralClient().create_collection("chroma-docs", embedding_function=None)
    col.add(ids=["a"], embeddings=[[1.0, 0.0]])
    print("RESULT", len(hits), col.count())
    """
)


def test_launcher_loads_the_vector_instrumentors(
    tmp_path: Path, otlp_receiver: OTLPReceiver
) -> None:
    done = launch(
        tmp_path,
        otlp_receiver,
        SCRIPT,
        service_name="vector-launcher-test",
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="agentkit_chromadb",
        ANONYMIZED_TELEMETRY="False",
    )
    assert "RESULT 1 1" in done.stdout
    otlp_receiver.wait_for(lambda received: any(r.signal == "traces" for r in received))
    spans = [span for _, span in our_spans(otlp_receiver)]
    names = sorted(s.name for s in spans)
    assert names == ["query_points docs", "upsert docs"]  # nothing from the disabled Chroma
    (query,) = (s for s in spans if s.name == "query_points docs")
    assert attrs(query.attributes)[semconv.DB_SYSTEM_NAME] == semconv.DB_SYSTEM_QDRANT
    assert attrs(query.attributes)[semconv.DB_RESPONSE_RETURNED_ROWS] == 1
