"""Hostile input, runaway cardinality, dead collectors and planted secrets (issue 16, items 1-7).

Each test drives a real client (openai, over its own transport) or the real
SDK pipeline (Prometheus exposition, OTLP to the test receiver) with one of
the inputs that broke or leaked before, and checks what was exported.
"""

from __future__ import annotations

import gc
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry, generate_latest

import otel_agentkit as agentkit
from otel_agentkit import _sanitize
from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.telemetry._setup import build_views
from otel_agentkit.testing import TelemetryCapture
from tests.otlp_receiver import OTLPReceiver

SURROGATE_MODEL = "gpt-4o\ud800"
API_KEY = "sk-test-planted-0123456789abcdef"


def _completion(model: str = "gpt-4o", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "hi"},
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    body.update(extra)
    return body


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=API_KEY,
        base_url="https://api.openai.com/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        max_retries=0,
    )


def _answer(body: Any, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    # ensure_ascii (json's default) writes a lone surrogate as \ud800: valid JSON.
    content = json.dumps(body).encode() if not isinstance(body, bytes) else body

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"content-type": "application/json"}, content=content)

    return handle


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """configure_logging() sets logger levels; put every one back afterwards."""
    loggers = [
        logging.getLogger(),
        *[logging.getLogger(name) for name in list(logging.root.manager.loggerDict)],
    ]
    levels = [(lg, lg.level) for lg in loggers]
    yield
    for lg, level in levels:
        lg.setLevel(level)


class Pipeline:
    """Real SDK providers: spans in memory, metrics behind a Prometheus registry."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.registry = CollectorRegistry()
        self.meter_provider = MeterProvider(
            metric_readers=[PrometheusMetricReader(registry=self.registry)], views=build_views()
        )

    def scrape(self) -> str:
        return generate_latest(self.registry).decode()


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    found = Pipeline()
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=found.tracer_provider, meter_provider=found.meter_provider
    )
    yield found
    instrumentor.uninstrument()
    found.meter_provider.shutdown()


# -- 1. a lone surrogate from a response or a request ------------------------------


def test_a_response_model_with_a_lone_surrogate_leaves_metrics_and_otlp_working(
    pipeline: Pipeline,
) -> None:
    client = _client(_answer(_completion(SURROGATE_MODEL)))
    result = client.chat.completions.create(model="gpt-4o", messages=[])
    assert result.model == SURROGATE_MODEL  # the app sees what the server sent

    text = pipeline.scrape()  # raised UnicodeEncodeError on every scrape before
    assert 'gen_ai_response_model="gpt-4o\ufffd"' in text
    (span,) = pipeline.spans.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["gen_ai.response.model"] == "gpt-4o\ufffd"
    encode_spans([span]).SerializeToString()  # the OTLP encoder accepts it


def test_a_request_model_with_a_lone_surrogate_does_not_lose_the_batch(
    otlp_receiver: OTLPReceiver,
) -> None:
    agentkit.configure(
        service_name="hostile",
        otlp_endpoint=f"http://127.0.0.1:{otlp_receiver.http_port}",
        otlp_protocol="http/protobuf",
        metrics_exporter="none",
        logs_exporter="none",
        prometheus_server=False,
    )
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument()
    try:
        client = _client(_answer(_completion()))
        tracer = agentkit.get_telemetry().tracer_provider.get_tracer("test")  # type: ignore[union-attr]
        for i in range(40):
            tracer.start_span(f"unrelated {i}").end()
        with pytest.raises(UnicodeEncodeError):  # the client cannot send it: the app's error
            client.chat.completions.create(model=SURROGATE_MODEL, messages=[])
    finally:
        instrumentor.uninstrument()
        report = agentkit.shutdown()
    assert report is not None
    assert report.dropped == {"traces": 0}
    names = {span.name for _, span in otlp_receiver.spans()}
    assert {f"unrelated {i}" for i in range(40)} <= names
    assert "chat gpt-4o\ufffd" in names


# -- 2. a huge model name --------------------------------------------------------------


def test_a_megabyte_model_name_is_bounded_in_labels_and_attributes(pipeline: Pipeline) -> None:
    huge = "m" * 1_000_000
    client = _client(_answer(_completion(huge)))
    client.chat.completions.create(model=huge, messages=[])

    text = pipeline.scrape()
    assert len(text) < 200_000  # one call, not a 51 MB scrape
    (span,) = pipeline.spans.get_finished_spans()
    assert span.attributes is not None
    assert len(span.attributes["gen_ai.response.model"]) == _sanitize.MAX_VALUE_LENGTH
    assert len(span.attributes["gen_ai.request.model"]) == _sanitize.MAX_VALUE_LENGTH
    assert len(span.name) == len("chat ") + _sanitize.MAX_VALUE_LENGTH


# -- 3. cardinality -----------------------------------------------------------------------


def test_100000_tool_names_keep_series_under_the_limit_with_an_overflow_series() -> None:
    registry = CollectorRegistry()
    agentkit.configure(
        service_name="hostile",
        metrics_exporter="prometheus",
        traces_exporter="none",
        logs_exporter="none",
        prometheus_server=False,
        prometheus_registry=registry,
        metrics_cardinality_limit=100,
    )
    try:
        from otel_agentkit import _instruments

        inst = _instruments.current()
        assert inst is not None
        for i in range(100_000):
            inst.execute_tool_duration.record(0.5, {"gen_ai.tool.name": f"tool-{i}"})
        text = generate_latest(registry).decode()
    finally:
        agentkit.shutdown()
    counts = [
        line
        for line in text.splitlines()
        if line.startswith("gen_ai_execute_tool_duration_seconds_count{")
    ]
    assert len(counts) == 101  # 100 names and the overflow series
    (overflow,) = [line for line in counts if 'otel_metric_overflow="true"' in line]
    assert overflow.endswith(" 99900.0")


def test_cardinality_limit_setting_is_validated() -> None:
    from otel_agentkit.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="metrics_cardinality_limit"):
        agentkit.configure(service_name="x", metrics_cardinality_limit=0)


# -- 4. shutdown with a dead collector -----------------------------------------------------


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts TCP connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield server.getsockname()[1]
    server.close()


def test_shutdown_with_a_black_holed_collector_reports_what_it_dropped(black_hole: int) -> None:
    agentkit.configure(
        service_name="hostile",
        otlp_endpoint=f"http://127.0.0.1:{black_hole}",
        otlp_protocol="http/protobuf",
        metrics_exporter="otlp",
        prometheus_server=False,
        shutdown_timeout=1,
        otlp_timeout=1,  # the exports left running end soon after the test
    )
    telemetry = agentkit.get_telemetry()
    assert telemetry is not None
    tracer = telemetry.tracer_provider.get_tracer("test")
    for i in range(600):
        tracer.start_span(f"s{i}").end()
    logging.getLogger("hostile").warning("one record")
    report = agentkit.shutdown()
    assert report is not None
    assert report.timeout == 1
    assert not report.complete
    assert report.dropped["traces"] == 600
    assert report.dropped["logs"] >= 1
    assert set(report.unfinished) <= {"traces", "metrics", "logs"}
    # Wait for the abandoned exports to end, so their retries log nothing into later tests.
    for thread in threading.enumerate():
        if thread.name.startswith(("OtelBatch", "otel-agentkit shutdown", "OtelPeriodic")):
            thread.join()


def test_shutdown_timeout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_SHUTDOWN_TIMEOUT", "2.5")
    agentkit.configure(service_name="x", metrics_exporter="none", prometheus_server=False)
    report = agentkit.shutdown()
    assert report is not None
    assert report.timeout == 2.5
    assert report.complete


# -- 5. secrets ------------------------------------------------------------------------------

PLANTED = [
    "Bearer abcdEFGH1234ijklMNOP",
    "nvapi-0123456789abcdefghijklmnopqrstuv",
    "http://admin:hunter2hunter2@internal.example/v1",
    "https://api.example/v1?api_key=planted-query-key-77",
]
SECRET_PARTS = ["abcdEFGH1234ijklMNOP", "nvapi-0123", "hunter2hunter2", "planted-query-key-77"]


def test_an_llm_error_echoing_credentials_is_redacted(pipeline: Pipeline) -> None:
    body = {"error": {"message": "unauthorized: " + " ".join(PLANTED), "type": "auth"}}
    client = _client(_answer(body, status=401))
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gpt-4o", messages=[])
    (span,) = pipeline.spans.get_finished_spans()
    description = span.status.description or ""
    assert "unauthorized" in description
    for part in SECRET_PARTS:
        assert part not in description


def test_redaction_runs_before_the_cut() -> None:
    key = "sk-proj-" + "A" * 40
    text = "x" * (_sanitize.MAX_MESSAGE_LENGTH - 20) + key
    cut = _sanitize.message(text)
    assert len(cut) <= _sanitize.MAX_MESSAGE_LENGTH
    assert "sk-proj-AAAA" not in cut


def test_a_decorated_functions_exception_is_redacted(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    @agentkit.traced_tool
    def quotes() -> None:
        raise ConnectionError("Max retries exceeded with url: /v1/quotes?api_key=planted-77")

    with pytest.raises(ConnectionError, match="planted-77"):  # the app sees it unchanged
        quotes()
    span = agentkit_telemetry.span("execute_tool quotes")
    exported = json.dumps(
        [span.status.description, [dict(e.attributes or {}) for e in span.events]]
    )
    assert "planted-77" not in exported
    assert "api_key=[REDACTED]" in exported


@pytest.mark.usefixtures("logging_restored")
def test_the_httpx2_loggers_request_urls_are_redacted_in_json_and_otlp_logs(
    agentkit_telemetry: TelemetryCapture, capsys: pytest.CaptureFixture[str]
) -> None:
    agentkit.logs.configure_logging(level="INFO", fmt="json")
    root = logging.getLogger()
    root.addHandler(agentkit_telemetry.log_handler)
    transport = logging.getLogger("httpx2")
    quiet = transport.level
    transport.setLevel(logging.INFO)  # configure_logging quiets it; a user may turn it back on
    try:
        transport.info(
            'HTTP Request: %s %s "%s"',
            "POST",
            "https://user:pw-planted@api.example/v1/chat?api_key=planted-88",
            "HTTP/1.1 200 OK",
        )
    finally:
        transport.setLevel(quiet)
        root.removeHandler(agentkit_telemetry.log_handler)
        agentkit.logs.reset_logging()
    line = capsys.readouterr().out
    (record,) = [r for r in agentkit_telemetry.logs() if "HTTP Request" in str(r.log_record.body)]
    for text in (line, str(record.log_record.body)):
        assert "HTTP Request: POST https://[REDACTED]@api.example" in text
        assert "planted-88" not in text
        assert "pw-planted" not in text


# -- 6. a tool-call delta with a null index -----------------------------------------------


def _sse(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


def _chunk(delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
    }
    chunk.update(extra)
    return chunk


@pytest.mark.parametrize("odd_index", [None, "1"])
def test_a_stream_with_a_null_or_string_tool_call_index_ends_its_span_with_what_was_read(
    pipeline: Pipeline, odd_index: Any
) -> None:
    chunks = [
        _chunk({"tool_calls": [{"index": 0, "id": "c0", "function": {"name": "a"}}]}),
        _chunk({"tool_calls": [{"index": odd_index, "id": "c1", "function": {"name": "b"}}]}),
        {
            **_chunk({}),
            "choices": [],
            "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12},
        },
    ]

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=_sse(chunks)
        )

    stream = _client(handle).chat.completions.create(model="gpt-4o", messages=[], stream=True)
    assert len(list(stream)) == 3
    del stream
    gc.collect()
    (span,) = pipeline.spans.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["gen_ai.usage.input_tokens"] == 7
    assert span.attributes["gen_ai.usage.output_tokens"] == 5
    assert list(span.attributes["agentkit.response.tool_call.names"]) == ["a", "b"]


# -- 7. smaller ones -------------------------------------------------------------------------


class _UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_an_exception_whose_str_raises_still_fails_the_span(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    @agentkit.traced_tool
    def broken() -> None:
        raise _UnprintableError

    with pytest.raises(_UnprintableError):
        broken()
    span = agentkit_telemetry.span("execute_tool broken")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "_UnprintableError"
    (event,) = span.events
    assert event.attributes is not None
    assert event.attributes["exception.message"] == ""


@pytest.mark.usefixtures("logging_restored")
def test_a_json_log_line_with_a_lone_surrogate_is_kept(
    tmp_path: Any,
) -> None:
    path = tmp_path / "app.log"
    agentkit.logs.configure_logging(level="INFO", fmt="json", file=str(path))
    try:
        logging.getLogger("files").info("opened %s", "report-\udce9.txt")
    finally:
        agentkit.logs.reset_logging()
    (line,) = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["message"] == "opened report-\udce9.txt"


def test_a_recursion_error_through_decorated_calls_records_bounded_stack_traces(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    @agentkit.traced_tool(name="dive")
    def dive(n: int) -> int:
        return dive(n + 1)

    with pytest.raises(RecursionError):
        dive(0)
    spans = agentkit_telemetry.spans_named("execute_tool dive")  # innermost first
    assert len(spans) > 50
    # The innermost few calls have no stack left to record with; every other one fails.
    assert all(span.status.status_code is StatusCode.ERROR for span in spans[10:])
    for span in spans:
        for event in span.events:
            assert event.attributes is not None
            trace = str(event.attributes["exception.stacktrace"])
            assert len(trace) <= _sanitize.MAX_STACKTRACE_LENGTH
            # The innermost frames (and a short chained exception's): not ~500 per level.
            assert trace.count('  File "') <= 2 * _sanitize.MAX_FRAMES


# -- 5, on web servers: url.query and a 500's exception text -------------------------------


def _exported_text(capture: TelemetryCapture) -> str:
    spans = [
        [
            s.name,
            s.status.description,
            dict(s.attributes or {}),
            [dict(e.attributes or {}) for e in s.events],
        ]
        for s in capture.spans()
    ]
    logs = [[str(r.log_record.body), dict(r.log_record.attributes or {})] for r in capture.logs()]
    return json.dumps([spans, logs], default=str)


@pytest.mark.usefixtures("logging_restored")
def test_flask_server_spans_and_logs_carry_no_planted_credential(
    agentkit_telemetry: TelemetryCapture, capsys: pytest.CaptureFixture[str]
) -> None:
    import flask

    from otel_agentkit.web.flask import instrument_app

    app = flask.Flask("hostile")

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("upstream said: invalid key sk-proj-PLANTEDplanted0123456789")

    instrument_app(app)
    agentkit.logs.configure_logging(level="INFO", fmt="json")
    root = logging.getLogger()
    root.addHandler(agentkit_telemetry.log_handler)
    try:
        response = app.test_client().get("/boom?api_key=planted-web-key&page=2")
    finally:
        root.removeHandler(agentkit_telemetry.log_handler)
        agentkit.logs.reset_logging()
    assert response.status_code == 500
    exported = _exported_text(agentkit_telemetry) + capsys.readouterr().out
    assert "api_key=[REDACTED]&page=2" in exported
    for part in ("planted-web-key", "PLANTEDplanted"):
        assert part not in exported


def test_fastapi_server_spans_carry_no_query_credential(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from otel_agentkit.web.fastapi import instrument_app

    app = FastAPI()

    @app.get("/items")
    def items() -> dict[str, int]:
        return {"n": 1}

    instrument_app(app)
    with TestClient(app) as client:
        assert client.get("/items?token=planted-fastapi-token&n=1").status_code == 200
    exported = _exported_text(agentkit_telemetry)
    assert "token=[REDACTED]&n=1" in exported
    assert "planted-fastapi-token" not in exported
