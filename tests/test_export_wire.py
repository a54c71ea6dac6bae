"""Spans, metrics and logs exported by configure() cross the wire to a real OTLP receiver."""

from __future__ import annotations

import logging

import pytest
from opentelemetry import metrics, trace

import otel_agentkit
from otel_agentkit import semconv
from tests.otlp_receiver import OTLPReceiver, attrs


def _emit() -> tuple[str, str]:
    tracer = trace.get_tracer("wire-test")
    histogram = metrics.get_meter("wire-test").create_histogram(
        semconv.GEN_AI_CLIENT_OPERATION_DURATION, unit=semconv.UNIT_SECONDS
    )
    with tracer.start_as_current_span("chat gpt-4o", kind=trace.SpanKind.CLIENT) as span:
        span.set_attribute(semconv.GEN_AI_OPERATION_NAME, "chat")
        histogram.record(0.42, {semconv.GEN_AI_OPERATION_NAME: "chat"})
        logging.getLogger("app.wire").warning("inside the span")
        ctx = span.get_span_context()
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


@pytest.mark.parametrize(
    ("protocol", "compression"),
    [("grpc", "none"), ("grpc", "gzip"), ("http/protobuf", "none"), ("http/protobuf", "gzip")],
)
def test_traces_metrics_logs_arrive(
    otlp_receiver: OTLPReceiver, protocol: str, compression: str
) -> None:
    transport = "grpc" if protocol == "grpc" else "http"
    endpoint = otlp_receiver.grpc_endpoint if transport == "grpc" else otlp_receiver.http_endpoint
    otel_agentkit.configure(
        "wire-service",
        service_version="9.9.9",
        otlp_endpoint=endpoint,
        otlp_protocol=protocol,
        otlp_compression=compression,
        otlp_headers={"x-api-key": "collector-secret"},
        prometheus_server=False,
    )
    trace_id, span_id = _emit()
    otel_agentkit.shutdown()  # flushes every signal

    signals = {"traces", "metrics", "logs"}
    received = otlp_receiver.wait_for(lambda got: signals <= {r.signal for r in got})
    assert {r.transport for r in received} == {transport}
    for r in received:
        assert r.headers.get("x-api-key") == "collector-secret"
        # gRPC message compression is invisible to a servicer (grpc-core strips
        # grpc-encoding); over HTTP the Content-Encoding header shows it.
        if compression == "gzip" and transport == "http":
            assert r.compressed == "gzip"

    ((resource, span),) = list(otlp_receiver.spans())
    assert resource["service.name"] == "wire-service"
    assert resource["service.version"] == "9.9.9"
    assert span.name == "chat gpt-4o"
    assert span.kind == span.SPAN_KIND_CLIENT
    assert span.trace_id.hex() == trace_id
    assert attrs(span.attributes)[semconv.GEN_AI_OPERATION_NAME] == "chat"

    histograms = [
        m for _, m in otlp_receiver.metrics() if m.name == semconv.GEN_AI_CLIENT_OPERATION_DURATION
    ]
    assert histograms, "histogram not exported"
    point = histograms[-1].histogram.data_points[0]
    assert histograms[-1].unit == "s"
    assert list(point.explicit_bounds) == list(semconv.GEN_AI_DURATION_BUCKETS)
    assert point.count == 1
    assert point.sum == pytest.approx(0.42)

    records = [rec for _, rec in otlp_receiver.logs() if rec.body.string_value == "inside the span"]
    assert len(records) == 1, "log record missing or duplicated"
    assert records[0].trace_id.hex() == trace_id
    assert records[0].span_id.hex() == span_id
    assert records[0].severity_text == "WARN"


def test_exporters_own_logs_do_not_recurse(otlp_receiver: OTLPReceiver) -> None:
    otel_agentkit.configure(
        "wire", otlp_endpoint=otlp_receiver.http_endpoint, prometheus_server=False
    )
    logging.getLogger("opentelemetry.exporter.otlp").warning("exporter noise")
    logging.getLogger("app").warning("app record")
    otel_agentkit.shutdown()
    otlp_receiver.wait_for(lambda got: any(r.signal == "logs" for r in got))
    bodies = [rec.body.string_value for _, rec in otlp_receiver.logs()]
    assert bodies == ["app record"]


def test_traces_only_exports_no_logs_or_metrics(otlp_receiver: OTLPReceiver) -> None:
    otel_agentkit.configure(
        "wire",
        otlp_endpoint=otlp_receiver.grpc_endpoint,
        otlp_protocol="grpc",
        metrics_exporter="none",
        logs_exporter="none",
        prometheus_server=False,
    )
    _emit()
    otel_agentkit.shutdown()
    otlp_receiver.wait_for(lambda got: any(r.signal == "traces" for r in got))
    assert {r.signal for r in otlp_receiver.received} == {"traces"}
