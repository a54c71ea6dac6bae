"""The standalone /metrics server: semconv buckets, OpenMetrics, promtool check metrics."""

from __future__ import annotations

import subprocess
import urllib.request

from opentelemetry import metrics

import otel_agentkit
from otel_agentkit import semconv
from tests.conftest import require_binary


def _scrape(url: str, accept: str | None = None) -> tuple[str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode(), response.headers["Content-Type"]


def _record_sample_metrics() -> None:
    meter = metrics.get_meter("prom-test")
    meter.create_histogram(
        semconv.GEN_AI_CLIENT_OPERATION_DURATION,
        unit=semconv.UNIT_SECONDS,
        description="GenAI operation duration.",
    ).record(1.5, {semconv.GEN_AI_OPERATION_NAME: "chat", semconv.GEN_AI_REQUEST_MODEL: "m"})
    meter.create_histogram(
        semconv.GEN_AI_CLIENT_TOKEN_USAGE,
        unit=semconv.UNIT_TOKENS,
        description="Number of input and output tokens used.",
    ).record(100, {semconv.GEN_AI_TOKEN_TYPE: semconv.TOKEN_TYPE_INPUT})
    meter.create_counter(
        semconv.AGENTKIT_GUARDRAIL_VIOLATIONS, description="Guardrail violations."
    ).add(1, {semconv.AGENTKIT_GUARDRAIL_NAME: "pii"})


def test_metrics_endpoint_uses_semconv_buckets() -> None:
    telemetry = otel_agentkit.configure("prom", prometheus_port=0)
    assert telemetry.prometheus_url is not None
    assert telemetry.prometheus_url.startswith("http://127.0.0.1:")
    _record_sample_metrics()
    body, content_type = _scrape(telemetry.prometheus_url)
    assert content_type.startswith("text/plain")

    bucket = semconv.prometheus_name(
        semconv.GEN_AI_CLIENT_OPERATION_DURATION, semconv.UNIT_SECONDS, suffix="bucket"
    )
    assert bucket == "gen_ai_client_operation_duration_seconds_bucket"
    bounds = [
        line.split('le="')[1].split('"')[0]
        for line in body.splitlines()
        if line.startswith(bucket + "{")
    ]
    assert [float(b) for b in bounds[:-1]] == list(semconv.GEN_AI_DURATION_BUCKETS)
    assert bounds[-1] == "+Inf"

    token_bucket = semconv.prometheus_name(semconv.GEN_AI_CLIENT_TOKEN_USAGE, suffix="bucket")
    token_bounds = [
        float(line.split('le="')[1].split('"')[0])
        for line in body.splitlines()
        if line.startswith(token_bucket + "{") and 'le="+Inf"' not in line
    ]
    assert token_bounds == list(semconv.GEN_AI_TOKEN_BUCKETS)
    assert "agentkit_guardrail_violations_total{" in body
    assert 'service_name="prom"' in body  # target_info carries the resource


def test_metrics_endpoint_serves_openmetrics_on_request() -> None:
    telemetry = otel_agentkit.configure("prom", prometheus_port=0)
    _record_sample_metrics()
    body, content_type = _scrape(
        telemetry.prometheus_url or "", "application/openmetrics-text; version=1.0.0"
    )
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith("# EOF")


def test_promtool_check_metrics_passes_on_scrape() -> None:
    promtool = require_binary("promtool")
    telemetry = otel_agentkit.configure("prom", prometheus_port=0)
    _record_sample_metrics()
    body, _ = _scrape(telemetry.prometheus_url or "")
    result = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _traced_duration(tracer_name: str = "prom-test") -> tuple[str, str]:
    """Record one duration inside a sampled span; return its (trace id, span id) in hex."""
    from opentelemetry import trace

    with trace.get_tracer(tracer_name).start_as_current_span("work") as span:
        _record_sample_metrics()
        context = span.get_span_context()
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def test_openmetrics_buckets_carry_the_trace_of_a_recorded_measurement() -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    telemetry = otel_agentkit.configure("prom", prometheus_port=0, traces_exporter="none")
    trace_id, span_id = _traced_duration()
    body, _ = _scrape(telemetry.prometheus_url or "", "application/openmetrics-text; version=1.0.0")
    exemplars = {
        (sample.name, sample.labels.get("le")): sample.exemplar
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.exemplar is not None
    }
    # 1.5 s falls in the (1.28, 2.56] bucket: that bucket, and no other, names the span.
    bucket = ("gen_ai_client_operation_duration_seconds_bucket", "2.56")
    assert {k for k in exemplars if k[0].startswith("gen_ai_client_operation")} == {bucket}
    assert exemplars[bucket].labels == {"trace_id": trace_id, "span_id": span_id}
    assert exemplars[bucket].value == 1.5
    counter = exemplars[("agentkit_guardrail_violations_total", None)]
    assert counter.labels == {"trace_id": trace_id, "span_id": span_id}


def test_plain_text_has_no_exemplars_and_passes_promtool() -> None:
    promtool = require_binary("promtool")
    telemetry = otel_agentkit.configure("prom", prometheus_port=0, traces_exporter="none")
    _traced_duration()
    body, content_type = _scrape(telemetry.prometheus_url or "")
    assert content_type.startswith("text/plain; version=0.0.4")
    assert "trace_id" not in body
    assert (
        'gen_ai_client_operation_duration_seconds_bucket{gen_ai_operation_name="chat",'
        'gen_ai_request_model="m",le="2.56",otel_scope_name="prom-test",'
        'otel_scope_schema_url="",otel_scope_version=""} 1.0\n' in body
    )
    result = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_force_flush_does_not_make_the_next_scrape_show_series_twice() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    telemetry = otel_agentkit.configure("prom", prometheus_port=0, traces_exporter="none")
    _record_sample_metrics()
    assert telemetry.force_flush()
    body, _ = _scrape(telemetry.prometheus_url or "")
    names = [
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    ]
    assert len(names) == len(set(names))
    violations = [n for n in names if n[0] == "agentkit_guardrail_violations_total"]
    assert len(violations) == 1


def test_each_process_metric_is_served_once() -> None:
    from otel_agentkit.web._common import instruments

    telemetry = otel_agentkit.configure("prom", prometheus_port=0, traces_exporter="none")
    instruments()  # registers the process metrics, as instrument_app does
    body, _ = _scrape(telemetry.prometheus_url or "")
    served = {line.split("{")[0].split(" ")[0] for line in body.splitlines() if line[:1] != "#"}
    # otel-agentkit's memory and CPU; prometheus_client's copies of them are left out.
    assert {"process_memory_usage_bytes", "process_cpu_time_seconds_total"} <= served
    assert not {"process_resident_memory_bytes", "process_cpu_seconds_total"} & served
    # the file descriptor count once, under the name Prometheus lint accepts
    assert "process_unix_file_descriptor_count" not in served
    assert "process_open_fds" in served
