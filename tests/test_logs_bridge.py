"""Log records to OpenTelemetry: over OTLP to a real receiver, once, without recursion."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

import otel_agentkit
from otel_agentkit import ConfigurationError
from otel_agentkit.context import request_id
from otel_agentkit.logs import reset_logging
from otel_agentkit.telemetry._logbridge import OTelLogHandler
from otel_agentkit.testing import capture_telemetry
from tests.otlp_receiver import OTLPReceiver, attrs


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    urllib3_level = logging.getLogger("urllib3").level
    yield
    otel_agentkit.shutdown()
    reset_logging()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("urllib3").setLevel(urllib3_level)


def _bodies(receiver: OTLPReceiver) -> list[tuple[str, object]]:
    return [(record.body.string_value, record) for _resource, record in receiver.logs()]


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_records_reach_the_receiver_with_trace_and_span_ids(
    otlp_receiver: OTLPReceiver, protocol: str
) -> None:
    endpoint = otlp_receiver.grpc_endpoint if protocol == "grpc" else otlp_receiver.http_endpoint
    otel_agentkit.configure(
        "log-service",
        otlp_endpoint=endpoint,
        otlp_protocol=protocol,
        traces_exporter="otlp",
        metrics_exporter="none",
        prometheus_server=False,
    )
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    # Chatty HTTP/gRPC client logging must not feed the exports back into the pipeline.
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    log = logging.getLogger("app.agent")
    tracer = trace.get_tracer_provider().get_tracer("test")
    with tracer.start_as_current_span("invoke_agent planner") as span, request_id("req-otlp"):
        span.set_attribute("gen_ai.response.id", "resp-otlp")
        log.warning("planning step", extra={"step": 3})
    log.info("no span here")
    # An HTTP client warning the app itself logs (not during an export) is kept.
    logging.getLogger("urllib3.connectionpool").warning("app-level pool warning")
    telemetry = otel_agentkit.get_telemetry()
    assert telemetry is not None
    # The first flush exports (urllib3/gRPC log while it runs); whatever that
    # logged would be exported by the second one.
    assert telemetry.force_flush()
    otel_agentkit.shutdown()  # flushes every exporter

    received = otlp_receiver.wait_for(
        lambda r: any(x.signal == "logs" for x in r) and any(x.signal == "traces" for x in r)
    )
    assert {r.transport for r in received} == {"grpc" if protocol == "grpc" else "http"}
    records = list(otlp_receiver.logs())
    bodies = [record.body.string_value for _resource, record in records]
    assert bodies.count("planning step") == 1  # no record twice
    assert bodies.count("no span here") == 1
    assert bodies.count("app-level pool warning") == 1
    # Nothing the exporters logged while exporting came back as a record.
    for (_resource, record), body in zip(records, bodies, strict=True):
        assert body in {"planning step", "no span here", "app-level pool warning"}, body
        assert not record.attributes or "opentelemetry" not in str(attrs(record.attributes))

    resource, record = next(
        (res, rec) for res, rec in records if rec.body.string_value == "planning step"
    )
    ctx = span.get_span_context()
    assert record.trace_id == ctx.trace_id.to_bytes(16, "big")
    assert record.span_id == ctx.span_id.to_bytes(8, "big")
    assert record.severity_text == "WARN"
    attributes = attrs(record.attributes)
    assert attributes["agentkit.request.id"] == "req-otlp"
    assert attributes["gen_ai.response.id"] == "resp-otlp"
    assert attributes["step"] == 3
    assert "trace_id" not in attributes  # carried natively, not duplicated
    assert resource["service.name"] == "log-service"
    _no_span = next(rec for _res, rec in records if rec.body.string_value == "no span here")
    assert _no_span.trace_id == b""

    # ... and the trace leads back: the span with that id was exported too.
    (exported,) = [s for _res, s in otlp_receiver.spans() if s.name == "invoke_agent planner"]
    assert exported.trace_id == record.trace_id
    assert exported.span_id == record.span_id


def test_records_logged_during_an_export_are_not_bridged() -> None:
    """A log call inside an exporter (as urllib3 does) must not loop back."""
    from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

    class ChattyExporter(LogRecordExporter):
        def __init__(self) -> None:
            self.bodies: list[object] = []

        def export(self, batch: object) -> LogRecordExportResult:
            for item in batch:  # type: ignore[attr-defined]
                self.bodies.append(item.log_record.body)
            if len(self.bodies) < 5:  # bounded, so a regression fails instead of looping
                logging.getLogger("some.http.client").warning("exporting a batch")
            return LogRecordExportResult.SUCCESS

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return True

    exporter = ChattyExporter()
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    telemetry = otel_agentkit.configure(
        metrics_exporter="none",
        prometheus_server=False,
        log_processors=[BatchLogRecordProcessor(exporter)],
    )
    logging.getLogger("app").warning("real record")
    # Each flush exports on this thread; a record the export logged would be
    # queued and show up in the next flush.
    assert telemetry.force_flush()
    assert telemetry.force_flush()
    otel_agentkit.shutdown()
    assert exporter.bodies == ["real record"]


def test_no_second_bridge_when_one_already_feeds_the_provider() -> None:
    """A handler bound to the global (proxy) provider would duplicate every record."""
    from opentelemetry.sdk._logs import LoggingHandler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sdk_handler = LoggingHandler()  # resolves to the global provider configure() installs
    root = logging.getLogger()
    root.addHandler(sdk_handler)
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    telemetry = otel_agentkit.configure(
        metrics_exporter="none",
        prometheus_server=False,
        log_processors=[SimpleLogRecordProcessor(exporter)],
    )
    assert not any(isinstance(h, OTelLogHandler) for h in root.handlers)
    logging.getLogger("app").warning("just once")
    bodies = [r.log_record.body for r in exporter.get_finished_logs()]
    assert bodies == ["just once"]
    assert telemetry.installed_globally


def test_a_bridge_to_another_provider_is_not_mistaken_for_ours() -> None:
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    with capture_telemetry() as capture:
        # capture_telemetry installs its own providers globally, so configure()
        # cannot; its bridge feeds the capture's provider, not configure()'s.
        otel_agentkit.configure(
            metrics_exporter="none",
            prometheus_server=False,
            log_processors=[SimpleLogRecordProcessor(exporter)],
        )
        logging.getLogger("app").warning("to both")
        otel_agentkit.shutdown()
        assert [r.log_record.body for r in capture.logs()].count("to both") == 1
    assert [r.log_record.body for r in exporter.get_finished_logs()].count("to both") == 1


def test_configure_sets_up_logging_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "svc.log"
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    otel_agentkit.configure(
        "svc",
        metrics_exporter="none",
        prometheus_server=False,
        log_processors=[SimpleLogRecordProcessor(exporter)],
        log_level="INFO",
        log_file=str(path),
    )
    tracer = trace.get_tracer_provider().get_tracer("test")
    with tracer.start_as_current_span("s") as span:
        logging.getLogger("app").info("configured")
    (line,) = [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines()]
    assert line["service.name"] == "svc"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    # One line in the file and one OTel record: two sinks, once each.
    assert [r.log_record.body for r in exporter.get_finished_logs()] == ["configured"]


def test_configure_takes_log_settings_from_env(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTKIT_LOG_FORMAT", "text")
    otel_agentkit.configure("env-svc", metrics_exporter="none", prometheus_server=False)
    logging.getLogger("app").info("as text")
    assert "app: as text" in capsys.readouterr().out


def test_configure_without_log_settings_leaves_logging_alone() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    otel_agentkit.configure(metrics_exporter="none", prometheus_server=False)
    assert root.handlers == before


def test_bad_log_setting_in_configure_installs_nothing() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    with pytest.raises(ConfigurationError, match=r"^log_format='xml': unknown log format"):
        otel_agentkit.configure(metrics_exporter="none", log_format="xml")
    assert otel_agentkit.get_telemetry() is None
    assert root.handlers == before
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
