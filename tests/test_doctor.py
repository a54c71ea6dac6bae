"""``otel-agentkit doctor``: one test per problem it finds, and one for a healthy setup.

The environments are real: a real OTLP receiver, real bound ports, the
instrumentation packages installed in the test environment, and small
distributions written to a temporary folder on ``sys.path`` (what pip would
leave) where a test needs another installed version or entry point.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import otel_agentkit
from otel_agentkit import cli
from otel_agentkit.doctor import Finding, diagnose, exit_code, render, to_json
from otel_agentkit.testing import FakeModelServer
from tests.otlp_receiver import OTLPReceiver

#: Turns off the conflicts the test environment has on purpose (coexistence tests).
QUIET = {
    "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai,ollama",
    "ANTHROPIC_OPEN_TELEMETRY": "false",
}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def of(findings: list[Finding], status: str, section: str | None = None) -> list[str]:
    return [
        f.summary
        for f in findings
        if f.status == status and (section is None or f.section == section)
    ]


def only(findings: list[Finding], status: str, containing: str) -> Finding:
    matches = [f for f in findings if f.status == status and containing in f.summary]
    assert len(matches) == 1, [(f.status, f.summary) for f in findings]
    return matches[0]


def install_distribution(
    folder: Path, name: str, version: str, entry_points: str = "", requires: str = ""
) -> None:
    """Write ``name-version.dist-info`` into ``folder``, as an installer would."""
    info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if requires:
        metadata += f"Requires-Dist: {requires}\n"
    (info / "METADATA").write_text(metadata)
    if entry_points:
        (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path (first) to install small distributions into."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


@pytest.fixture
def receiver_env(otlp_receiver: OTLPReceiver) -> dict[str, str]:
    return {
        **QUIET,
        "OTEL_SERVICE_NAME": "doctor-test",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.http_endpoint,
        "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20sk-secret-value",
        "OTEL_EXPORTER_PROMETHEUS_PORT": str(closed_port()),
    }


# ---------------------------------------------------------------------------
# Healthy
# ---------------------------------------------------------------------------


def test_healthy_setup(receiver_env: dict[str, str], otlp_receiver: OTLPReceiver) -> None:
    findings = diagnose(receiver_env)
    assert of(findings, "error") == []
    assert of(findings, "warning") == []
    assert exit_code(findings) == 0
    base = otlp_receiver.http_endpoint
    assert of(findings, "ok", "endpoints") == [
        f"OTLP traces: {base}/v1/traces takes exports",
        f"OTLP metrics: {base}/v1/metrics takes exports",
        f"OTLP logs: {base}/v1/logs takes exports",
        f"Prometheus port 127.0.0.1:{receiver_env['OTEL_EXPORTER_PROMETHEUS_PORT']} is free",
    ]
    # the probe is a real, empty export, with the configured headers
    probes = otlp_receiver.of("traces")
    assert len(probes) == 1
    assert probes[0].headers["authorization"] == "Bearer sk-secret-value"
    assert len(probes[0].request.resource_spans) == 0
    assert "service.name: doctor-test" in of(findings, "ok", "configuration")
    assert "openai 3." in " ".join(of(findings, "ok", "libraries"))


def test_healthy_setup_from_the_command_line(
    receiver_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in receiver_env.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("ok: 0 error(s), 0 warning(s)")
    assert "sk-secret-value" not in out
    assert "headers: authorization" in out  # the name, never the value
    assert cli.main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert {f["status"] for f in report["findings"]} <= {"ok", "note"}


# ---------------------------------------------------------------------------
# Broken: errors, exit status 1
# ---------------------------------------------------------------------------


def test_configuration_error() -> None:
    findings = diagnose({"OTEL_METRICS_EXPORTER": "graphite"})
    error = only(findings, "error", "OTEL_METRICS_EXPORTER='graphite'")
    assert error.section == "configuration"
    assert exit_code(findings) == 1


@pytest.mark.parametrize(
    ("protocol", "reason"), [("http/protobuf", "Connection refused"), ("grpc", "UNAVAILABLE")]
)
def test_otlp_endpoint_not_answering(protocol: str, reason: str) -> None:
    port = closed_port()
    findings = diagnose(
        {
            **QUIET,
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_LOGS_EXPORTER": "none",
        }
    )
    traces = only(findings, "error", "OTLP traces")
    assert reason in traces.summary
    assert f"127.0.0.1:{port}" in traces.summary
    assert traces.fix is not None
    assert "4318" in traces.fix
    assert len(of(findings, "error", "endpoints")) == 2  # traces and metrics
    assert exit_code(findings) == 1


def test_otlp_endpoint_that_is_something_else() -> None:
    """A port that answers HTTP but not OTLP (here: a model server) is found out."""
    with FakeModelServer() as other:
        findings = diagnose(
            {
                **QUIET,
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{other.url}/v1/traces",
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_METRICS_EXPORTER": "none",
            }
        )
    assert "answered HTTP 404" in only(findings, "error", "OTLP traces").summary


def test_otlp_failure_never_shows_header_values() -> None:
    port = closed_port()
    findings = diagnose(
        {
            **QUIET,
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=top-secret-key",
            "OTEL_METRICS_EXPORTER": "none",
        }
    )
    text = render(findings) + json.dumps(to_json(findings))
    assert "top-secret-key" not in text
    assert "headers: x-api-key" in text


def test_prometheus_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {**QUIET, "OTEL_EXPORTER_PROMETHEUS_PORT": str(port)}
        findings = diagnose(env)
        multiprocess = diagnose({**env, "AGENTKIT_METRICS_MULTIPROC_DIR": str(tmp_path)})
    error = only(findings, "error", f"Prometheus port 127.0.0.1:{port} cannot be bound")
    assert "configure() would fail" in error.summary
    assert exit_code(findings) == 1
    only(multiprocess, "note", "expected in multi-process mode")
    assert exit_code(multiprocess) == 0


@pytest.mark.usefixtures("_no_telemetry")
def test_two_prometheus_readers_in_process() -> None:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    otel_agentkit.configure(
        "doctor-test",
        prometheus_server=False,
        prometheus_registry=registry,
        metric_readers=[PrometheusMetricReader(registry=registry)],
    )
    findings = diagnose(QUIET, probe=False)
    error = only(findings, "error", "2 Prometheus readers on the meter provider")
    assert error.section == "conflicts"


@pytest.fixture
def _no_telemetry() -> Iterator[None]:
    yield
    otel_agentkit.shutdown()


# ---------------------------------------------------------------------------
# Warnings
# ---------------------------------------------------------------------------


def test_library_outside_the_supported_range(site: Path) -> None:
    install_distribution(site, "openai", "9.0.0")
    findings = diagnose(QUIET, probe=False)
    warning = only(findings, "warning", "openai 9.0.0 is outside the supported range")
    assert warning.summary.endswith(">=1.40, <4: agentkit_openai will not instrument it")
    assert exit_code(findings) == 0


def test_disabled_instrumentor_is_reported() -> None:
    findings = diagnose(
        {**QUIET, "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai,ollama,agentkit_qdrant"},
        probe=False,
    )
    only(findings, "note", "agentkit_qdrant is disabled by OTEL_PYTHON_DISABLED_INSTRUMENTATIONS")


def test_official_openai_v2_also_installed() -> None:
    findings = diagnose({"ANTHROPIC_OPEN_TELEMETRY": "false"}, probe=False)
    warning = only(findings, "warning", "official OpenTelemetry openai instrumentation")
    assert "opentelemetry-instrumentation-openai-v2" in warning.summary
    assert warning.fix == (
        "keep one: OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=openai (keeps ours) "
        "or =agentkit_openai (keeps theirs)"
    )


def test_openllmetry_also_installed() -> None:
    findings = diagnose({"ANTHROPIC_OPEN_TELEMETRY": "false"}, probe=False)
    warning = only(findings, "warning", "OpenLLMetry's ollama instrumentation")
    assert "opentelemetry-instrumentation-ollama" in warning.summary
    quiet = diagnose(
        {"ANTHROPIC_OPEN_TELEMETRY": "false", "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "ollama"},
        probe=False,
    )
    assert not [f for f in quiet if "ollama instrumentation" in f.summary]


def test_anthropic_builtin_tracing_on() -> None:
    findings = diagnose({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai,ollama"}, probe=False)
    warning = only(findings, "warning", "traces its own calls")
    assert warning.fix == "set ANTHROPIC_OPEN_TELEMETRY=false to get otel-agentkit's spans only"
    off = diagnose(QUIET, probe=False)
    only(off, "ok", "anthropic's built-in tracing is off")


def test_pydantic_ai_instrumentation_on() -> None:
    from pydantic_ai import Agent

    only(diagnose(QUIET, probe=False), "note", "pydantic-ai")
    Agent.instrument_all()
    try:
        findings = diagnose(QUIET, probe=False)
    finally:
        Agent.instrument_all(False)
    warning = only(findings, "warning", "pydantic-ai's own instrumentation is on")
    assert warning.section == "conflicts"


def test_another_configurator_with_prometheus(site: Path) -> None:
    install_distribution(
        site,
        "other-distro",
        "1.0",
        "[opentelemetry_configurator]\nother = other_distro:Configurator\n",
    )
    env = {**QUIET, "OTEL_PYTHON_CONFIGURATOR": "other"}
    warning = only(diagnose(env, probe=False), "warning", "'other' configurator")
    assert warning.fix == "set OTEL_PYTHON_CONFIGURATOR=agentkit (and OTEL_PYTHON_DISTRO=agentkit)"
    no_prometheus = diagnose({**env, "OTEL_METRICS_EXPORTER": "none"}, probe=False)
    assert not [f for f in no_prometheus if "configurator" in f.summary]
    ours = diagnose({**QUIET, "OTEL_PYTHON_CONFIGURATOR": "agentkit"}, probe=False)
    assert not [f for f in ours if "configurator" in f.summary]


def test_unknown_content_capture_value() -> None:
    findings = diagnose(
        {**QUIET, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "everything"}, probe=False
    )
    only(findings, "warning", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT='everything'")


def test_command_exits_1_when_broken() -> None:
    env = {"PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "jaeger"}
    done = subprocess.run(
        [sys.executable, "-m", "otel_agentkit.cli", "doctor", "--json", "--offline"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    (error,) = [f["summary"] for f in report["findings"] if f["status"] == "error"]
    assert error.startswith(
        "OTEL_TRACES_EXPORTER='jaeger': unknown traces exporter; "
        "expected one of console, none, otlp, tree, or one installed packages register ("
    )
