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
