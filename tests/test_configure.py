"""configure()/shutdown(): installation, idempotency, resource, errors, import cost."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import textwrap
import urllib.request

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_agentkit
from otel_agentkit import ConfigurationError


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def test_configure_installs_global_providers_with_resource() -> None:
    exporter = InMemorySpanExporter()
    telemetry = otel_agentkit.configure(
        "checkout-agent",
        service_version="2.0.1",
        environment="staging",
        resource_attributes={"team": "agents"},
        prometheus_server=False,
        span_processors=[SimpleSpanProcessor(exporter)],
    )
    assert trace.get_tracer_provider() is telemetry.tracer_provider
    assert metrics.get_meter_provider() is telemetry.meter_provider
    assert telemetry.installed_globally

    with trace.get_tracer("t").start_as_current_span("op"):
        pass
    (span,) = exporter.get_finished_spans()
    resource = span.resource.attributes
    assert resource["service.name"] == "checkout-agent"
    assert resource["service.version"] == "2.0.1"
    assert resource["deployment.environment.name"] == "staging"
    assert resource["team"] == "agents"
    assert len(str(resource["service.instance.id"])) == 36  # a UUID


def test_second_configure_warns_and_returns_same_handle() -> None:
    first = otel_agentkit.configure("a", prometheus_port=0)
    with pytest.warns(RuntimeWarning, match="already called"):
        second = otel_agentkit.configure("b", prometheus_port=0)
    assert second is first
    assert second.settings.service_name == "a"
    assert otel_agentkit.get_telemetry() is first
    # Only one /metrics server: the handle still reports the first port.
    assert first.prometheus_port is not None
    _scrape(first.prometheus_url or "")


def test_shutdown_is_safe_twice_and_allows_reconfigure() -> None:
    telemetry = otel_agentkit.configure("x", prometheus_port=0)
    port = telemetry.prometheus_port
    assert port is not None
    otel_agentkit.shutdown()
    otel_agentkit.shutdown()
    telemetry.shutdown()
    assert otel_agentkit.get_telemetry() is None
    with socket.socket() as s:  # the server is gone: its port can be bound again
        s.bind(("127.0.0.1", port))
    again = otel_agentkit.configure("y", prometheus_port=0)
    assert again is not telemetry
    assert trace.get_tracer_provider() is again.tracer_provider


def test_port_in_use_raises_configuration_error_and_installs_nothing() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(ConfigurationError) as info:
            otel_agentkit.configure("x", prometheus_port=port)
    message = str(info.value)
    assert message.startswith(f"prometheus_port={port}: cannot serve /metrics on 127.0.0.1:{port}")
    assert "in use" in message
    assert otel_agentkit.get_telemetry() is None
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def test_port_in_use_from_env_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", str(port))
        with pytest.raises(ConfigurationError, match=rf"^OTEL_EXPORTER_PROMETHEUS_PORT={port}"):
            otel_agentkit.configure("x")


def test_bad_env_raises_before_anything_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(ConfigurationError, match="OTEL_TRACES_EXPORTER='zipkin'"):
        otel_agentkit.configure()
    assert otel_agentkit.get_telemetry() is None
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def test_sampler_setting_is_applied() -> None:
    exporter = InMemorySpanExporter()
    otel_agentkit.configure(
        "s",
        sampler="always_off",
        prometheus_server=False,
        span_processors=[SimpleSpanProcessor(exporter)],
    )
    with trace.get_tracer("t").start_as_current_span("dropped") as span:
        assert not span.is_recording()
    assert exporter.get_finished_spans() == ()


def test_sdk_disabled_installs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    telemetry = otel_agentkit.configure("off")
    assert not telemetry.installed_globally
    assert telemetry.prometheus_url is None
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def test_existing_global_provider_is_left_in_place(caplog: pytest.LogCaptureFixture) -> None:
    theirs = TracerProvider()
    trace.set_tracer_provider(theirs)
    with caplog.at_level(logging.WARNING, logger="otel_agentkit"):
        telemetry = otel_agentkit.configure("x", prometheus_server=False)
    assert trace.get_tracer_provider() is theirs
    assert not telemetry.installed_globally
    assert "TracerProvider" in caplog.text
    assert "already installed" in caplog.text


def test_render_metrics_text_and_openmetrics() -> None:
    telemetry = otel_agentkit.configure("r", prometheus_server=False)
    histogram = metrics.get_meter("t").create_histogram(
        "gen_ai.client.operation.duration", unit="s"
    )
    histogram.record(0.5, {"gen_ai.operation.name": "chat"})
    body, content_type = telemetry.render_metrics()
    assert content_type.startswith("text/plain")
    assert b"gen_ai_client_operation_duration_seconds_count" in body
    body, content_type = telemetry.render_metrics("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")


def test_render_metrics_without_prometheus_reader_says_how_to_enable() -> None:
    telemetry = otel_agentkit.configure("r", metrics_exporter="none")
    with pytest.raises(otel_agentkit.AgentkitError, match="OTEL_METRICS_EXPORTER"):
        telemetry.render_metrics()


def test_import_is_light_and_sdk_loads_only_on_configure() -> None:
    code = textwrap.dedent(
        """
        import sys
        import otel_agentkit
        heavy = ("opentelemetry.sdk", "openai", "anthropic", "ollama", "chromadb",
                 "qdrant_client", "flask", "fastapi", "starlette", "grpc", "prometheus_client",
                 "httpx", "requests")
        loaded = sorted(
            m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy)
        )
        assert not loaded, loaded
        otel_agentkit.configure("x", metrics_exporter="none")
        assert "opentelemetry.sdk.trace" in sys.modules
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
