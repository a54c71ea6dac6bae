"""The otel-agentkit command line."""

from __future__ import annotations

import json

import pytest

from otel_agentkit import cli
from tests.otlp_receiver import OTLPReceiver


def test_demo_emits_span_and_metric_over_otlp(
    otlp_receiver: OTLPReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        ["demo", "--port", "0", "--otlp-endpoint", otlp_receiver.http_endpoint, "--iterations", "2"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "gen_ai_client_operation_duration_seconds_count" in out
    assert json.loads(out.strip().splitlines()[-1])["demo"] == "ok"
    otlp_receiver.wait_for(lambda got: {"traces", "metrics"} <= {r.signal for r in got})
    assert [s.name for _, s in otlp_receiver.spans()] == ["chat demo-model"] * 2


def test_doctor_prints_resolved_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "doc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "service.name: doc" in out
    assert "otlp traces: grpc http://collector:4317" in out


def test_doctor_reports_configuration_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "graphite")
    assert cli.main(["doctor"]) == 2
    assert "OTEL_METRICS_EXPORTER='graphite'" in capsys.readouterr().err
