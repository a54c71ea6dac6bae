"""Zero-code path: `opentelemetry-instrument` loads the agentkit configurator."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from otel_agentkit import semconv
from tests.otlp_receiver import OTLPReceiver

# The app knows nothing about otel-agentkit: it uses the OpenTelemetry API only.
APP = textwrap.dedent(
    """
    import sys
    from opentelemetry import metrics, trace

    tracer = trace.get_tracer("plain-app")
    histogram = metrics.get_meter("plain-app").create_histogram(
        "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration."
    )
    with tracer.start_as_current_span("chat launcher-model"):
        histogram.record(0.3, {"gen_ai.operation.name": "chat"})
    print("provider:", type(trace.get_tracer_provider()).__module__, flush=True)
    print("ready", flush=True)
    sys.stdin.readline()  # keep serving /metrics until the test says stop
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _launcher() -> str:
    path = Path(sys.executable).parent / "opentelemetry-instrument"
    assert path.exists(), f"opentelemetry-instrument not installed next to {sys.executable}"
    return str(path)


def _run(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    app = tmp_path / "app.py"
    app.write_text(APP)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTKIT_"))}
    full_env.update(env)
    return subprocess.Popen(
        [_launcher(), sys.executable, str(app)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )


def _wait_ready(proc: subprocess.Popen[str]) -> list[str]:
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if line.strip() == "ready":
            return lines
    _, err = proc.communicate(timeout=10)
    pytest.fail(f"app did not start: {lines} {err}")


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_launcher_serves_metrics_and_exports_spans(
    tmp_path: Path, otlp_receiver: OTLPReceiver, protocol: str
) -> None:
    port = _free_port()
    endpoint = otlp_receiver.grpc_endpoint if protocol == "grpc" else otlp_receiver.http_endpoint
    # Over HTTP, leave OTEL_PYTHON_CONFIGURATOR unset: the agentkit distro selects us.
    selector = {"OTEL_PYTHON_CONFIGURATOR": "agentkit"} if protocol == "grpc" else {}
    proc = _run(
        tmp_path,
        {
            **selector,
            "OTEL_SERVICE_NAME": "launched-app",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "prometheus",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_EXPORTER_PROMETHEUS_PORT": str(port),
        },
    )
    try:
        lines = _wait_ready(proc)
        assert "provider: opentelemetry.sdk.trace" in lines
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            body = response.read().decode()
        bucket = semconv.prometheus_name(
            semconv.GEN_AI_CLIENT_OPERATION_DURATION, semconv.UNIT_SECONDS, suffix="bucket"
        )
        assert f'{bucket}{{gen_ai_operation_name="chat",le="81.92"' in body
        assert 'service_name="launched-app"' in body
    finally:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    otlp_receiver.wait_for(lambda got: any(r.signal == "traces" for r in got))
    spans = [(res, span) for res, span in otlp_receiver.spans()]
    assert [span.name for _, span in spans] == ["chat launcher-model"]
    assert spans[0][0]["service.name"] == "launched-app"


def _stop(proc: subprocess.Popen[str]) -> str:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return err


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return str(response.read().decode())


def test_a_bad_shared_setting_leaves_the_app_running_uninstrumented(tmp_path: Path) -> None:
    proc = _run(
        tmp_path,
        {
            "OTEL_PYTHON_CONFIGURATOR": "agentkit",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://collector",
            "OTEL_EXPORTER_PROMETHEUS_PORT": str(_free_port()),
        },
    )
    try:
        lines = _wait_ready(proc)
    finally:
        err = _stop(proc)
    assert "provider: opentelemetry.trace" in lines  # app ran, uninstrumented
    assert (
        "otel-agentkit: telemetry not configured: OTEL_EXPORTER_OTLP_ENDPOINT='ftp://collector': "
        "expected a URL with an http:// or https:// scheme" in err
    )


def test_an_unknown_traces_exporter_turns_off_traces_only(tmp_path: Path) -> None:
    port = _free_port()
    proc = _run(
        tmp_path,
        {
            "OTEL_PYTHON_CONFIGURATOR": "agentkit",
            "OTEL_TRACES_EXPORTER": "jaeger",
            "OTEL_EXPORTER_PROMETHEUS_PORT": str(port),
        },
    )
    try:
        lines = _wait_ready(proc)
        body = _scrape(port)
    finally:
        err = _stop(proc)
    assert "provider: opentelemetry.sdk.trace" in lines
    assert 'gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat"' in body
    assert (
        "otel-agentkit: trace export turned off, the rest is configured as set: "
        "OTEL_TRACES_EXPORTER='jaeger': unknown traces exporter" in err
    )


def test_a_busy_prometheus_port_turns_off_only_prometheus(
    tmp_path: Path, otlp_receiver: OTLPReceiver
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _run(
            tmp_path,
            {
                "OTEL_PYTHON_CONFIGURATOR": "agentkit",
                "OTEL_SERVICE_NAME": "busy-port-app",
                "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.http_endpoint,
                "OTEL_LOGS_EXPORTER": "none",
                "OTEL_METRIC_EXPORT_INTERVAL": "600000",
                "OTEL_EXPORTER_PROMETHEUS_PORT": str(port),
            },
        )
        try:
            lines = _wait_ready(proc)
        finally:
            err = _stop(proc)
    assert "provider: opentelemetry.sdk.trace" in lines
    assert (
        "otel-agentkit: the Prometheus /metrics exporter turned off, the rest is configured as "
        f"set: OTEL_EXPORTER_PROMETHEUS_PORT={port}: cannot serve /metrics on "
        f"127.0.0.1:{port}: Address already in use; choose another port (prometheus_port= or "
        "OTEL_EXPORTER_PROMETHEUS_PORT; 0 picks a free one)" in err
    )
    # Traces and OTLP metrics still go out.
    otlp_receiver.wait_for(lambda got: {r.signal for r in got} >= {"traces", "metrics"})
    assert [span.name for _, span in otlp_receiver.spans()] == ["chat launcher-model"]


def test_an_exporter_another_package_registers_works_under_the_launcher(
    tmp_path: Path, otlp_receiver: OTLPReceiver
) -> None:
    """``zipkin_json`` (opentelemetry-exporter-zipkin-json) next to ``otlp``: both receive."""
    import http.server
    import json
    import threading

    received: list[object] = []

    class Zipkin(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Zipkin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        proc = _run(
            tmp_path,
            {
                "OTEL_PYTHON_CONFIGURATOR": "agentkit",
                "OTEL_SERVICE_NAME": "zipkin-app",
                "OTEL_TRACES_EXPORTER": "zipkin_json,otlp",
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none",
                "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.http_endpoint,
                "OTEL_EXPORTER_ZIPKIN_ENDPOINT": (
                    f"http://127.0.0.1:{server.server_address[1]}/api/v2/spans"
                ),
            },
        )
        try:
            lines = _wait_ready(proc)
        finally:
            err = _stop(proc)
    finally:
        server.shutdown()
        server.server_close()
    assert "provider: opentelemetry.sdk.trace" in lines, err
    assert [span["name"] for batch in received for span in batch] == ["chat launcher-model"]  # type: ignore[attr-defined]
    assert received[0][0]["localEndpoint"]["serviceName"] == "zipkin-app"  # type: ignore[index]
    otlp_receiver.wait_for(lambda got: any(r.signal == "traces" for r in got))
    assert [span.name for _, span in otlp_receiver.spans()] == ["chat launcher-model"]
