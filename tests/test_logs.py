"""otel_agentkit.logs: the JSON/text schema, enrichment, settings, request events.

Every test reads what a real handler wrote (a file, or stdout through capsys)
and parses it; spans come from the real SDK through the ``agentkit_telemetry``
fixture.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
import logging.handlers
import queue
import re
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace

import otel_agentkit
from otel_agentkit import ConfigurationError
from otel_agentkit.context import get_request_id, request_id, run_in_executor, wrap_executor
from otel_agentkit.instrumentation import library_loggers
from otel_agentkit.logs import (
    DEFAULT_NOISY_LOGGERS,
    REQUEST_LOGGER_NAME,
    ContextFilter,
    JsonFormatter,
    TextFormatter,
    configure_logging,
    enrich_handlers,
    log_request_completed,
    log_request_started,
    reset_logging,
    resolve_logging_settings,
)
from otel_agentkit.testing import TelemetryCapture

RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Put the root logger and the noisy loggers back as they were."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    names = DEFAULT_NOISY_LOGGERS + library_loggers()
    noisy = {name: logging.getLogger(name).level for name in names}
    yield
    reset_logging()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, noisy_level in noisy.items():
        logging.getLogger(name).setLevel(noisy_level)


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "app.log"


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def ids(span: trace.Span) -> tuple[str, str]:
    ctx = span.get_span_context()
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def tracer() -> trace.Tracer:
    return trace.get_tracer_provider().get_tracer("test")


# -- the JSON schema -----------------------------------------------------------


def test_json_outside_a_span_has_base_fields_and_no_ids(
    log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "billing")
    configure_logging("INFO", "json", log_file)
    before = dt.datetime.now(dt.UTC)
    logging.getLogger("app.module").info("hello %s", "world")
    after = dt.datetime.now(dt.UTC)

    (line,) = lines(log_file)
    assert set(line) == {"timestamp", "level", "logger", "message", "service.name"}
    assert RFC3339_MS.match(line["timestamp"]), line["timestamp"]
    stamp = dt.datetime.strptime(line["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    assert before - dt.timedelta(milliseconds=1) <= stamp <= after
    assert line["level"] == "INFO"
    assert line["logger"] == "app.module"
    assert line["message"] == "hello world"
    assert line["service.name"] == "billing"


def test_timestamp_is_utc_with_milliseconds() -> None:
    created = dt.datetime(2026, 11, 23, 11, 22, 33, 123456, tzinfo=dt.UTC).timestamp()
    record = logging.makeLogRecord({"msg": "m", "created": created, "levelname": "INFO"})
    assert json.loads(JsonFormatter().format(record))["timestamp"] == "2026-11-23T11:22:33.123Z"
    # Same second, next record: the cached prefix must not leak the old milliseconds.
    record2 = logging.makeLogRecord({"msg": "m", "created": created + 0.5, "levelname": "INFO"})
    assert json.loads(JsonFormatter().format(record2))["timestamp"] == "2026-11-23T11:22:33.623Z"


def test_json_inside_a_span_carries_trace_span_and_request_ids(
    log_file: Path, agentkit_telemetry: TelemetryCapture
) -> None:
    configure_logging("INFO", "json", log_file)
    with tracer().start_as_current_span("work") as span, request_id("req-42"):
        logging.getLogger("app").info("inside")
    logging.getLogger("app").info("after")

    inside, after = lines(log_file)
    trace_id, span_id = ids(span)
    assert re.fullmatch(r"[0-9a-f]{32}", inside["trace_id"])
    assert re.fullmatch(r"[0-9a-f]{16}", inside["span_id"])
    assert (inside["trace_id"], inside["span_id"]) == (trace_id, span_id)
    assert inside["request_id"] == "req-42"
    assert inside["service.name"] == "test-service"  # from the installed resource
    assert "gen_ai.response.id" not in inside
    for key in ("trace_id", "span_id", "request_id"):
        assert key not in after


def test_json_inside_an_llm_span_carries_the_response_id(
    log_file: Path, agentkit_telemetry: TelemetryCapture
) -> None:
    configure_logging("INFO", "json", log_file)
    with tracer().start_as_current_span("chat gpt-4o") as llm:
        logging.getLogger("app").info("before the response")
        llm.set_attribute("gen_ai.response.id", "chatcmpl-123")
        logging.getLogger("app").info("after the response")
        with tracer().start_as_current_span("parse"):
            logging.getLogger("app").info("in a child span")

    before, after, child = lines(log_file)
    assert "gen_ai.response.id" not in before
    assert after["gen_ai.response.id"] == "chatcmpl-123"
    assert after["span_id"] == ids(llm)[1]
    # Only the current span is read (cheap); a child span has its own id.
    assert "gen_ai.response.id" not in child
    assert child["trace_id"] == after["trace_id"]


def test_extra_fields_become_top_level_keys_and_stay_json(log_file: Path) -> None:
    configure_logging("INFO", "json", log_file)
    marker = object()
    circular: list[object] = []
    circular.append(circular)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    logging.getLogger("app").info(
        "with extras",
        extra={
            "user": "u-1",
            "count": 3,
            "ratio": 0.5,
            "ok": True,
            "nothing": None,
            "tags": ["a", "b"],
            "nested": {"k": [1, 2]},
            "when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            "ident": ident,
            "path": Path("/tmp/x"),
            "obj": marker,
            "nan": float("nan"),
            "circular": circular,
            "level": "not the level",
        },
    )
    (line,) = lines(log_file)
    assert line["user"] == "u-1"
    assert line["count"] == 3
    assert line["ratio"] == 0.5
    assert line["ok"] is True
    assert line["nothing"] is None
    assert line["tags"] == ["a", "b"]
    assert line["nested"] == {"k": [1, 2]}
    assert line["when"] == "2026-01-02T03:04:05+00:00"
    assert line["ident"] == str(ident)
    assert line["path"] == "/tmp/x"
    assert line["obj"] == repr(marker)
    assert line["nan"] == "nan"
    assert line["circular"] == "[[...]]"
    # A field named like a schema key never overwrites it.
    assert line["level"] == "INFO"
    assert line["extra.level"] == "not the level"


def test_exception_fields(log_file: Path, agentkit_telemetry: TelemetryCapture) -> None:
    configure_logging("INFO", "json", log_file)

    def failing_function() -> None:
        raise KeyError("missing-key")

    with tracer().start_as_current_span("work") as span:
        try:
            failing_function()
        except KeyError:
            logging.getLogger("app").exception("lookup failed", extra={"table": "t"})

    (line,) = lines(log_file)
    assert line["level"] == "ERROR"
    assert line["message"] == "lookup failed"
    assert line["exception.type"] == "KeyError"
    assert line["exception.message"] == "'missing-key'"
    stack = line["exception.stacktrace"]
    assert stack.startswith("Traceback (most recent call last):")
    assert "failing_function" in stack
    assert stack.rstrip().endswith("KeyError: 'missing-key'")
    assert line["table"] == "t"
    assert line["trace_id"] == ids(span)[0]


def test_stack_info(log_file: Path) -> None:
    configure_logging("INFO", "json", log_file)
    logging.getLogger("app").info("where am I", stack_info=True)
    (line,) = lines(log_file)
    assert line["stack_info"].startswith("Stack (most recent call last):")
    assert "test_stack_info" in line["stack_info"]


def test_only_extra_fields_are_copied_even_after_other_formatters_ran() -> None:
    """Another handler's Formatter adds ``message``/``asctime``; a filter adds its own."""
    logger = logging.getLogger("order")
    record = logger.makeRecord(
        "order", logging.INFO, __file__, 1, "m %s", ("x",), None, extra={"b": 1, "a": 2}
    )
    logging.Formatter("%(asctime)s %(message)s").format(record)
    record.added_by_a_filter = "f"
    line = json.loads(JsonFormatter().format(record))
    base = ["timestamp", "level", "logger", "message", "service.name"]
    assert list(line) == [*base, "b", "a", "added_by_a_filter"]
    assert line["message"] == "m x"

    # Records rebuilt from a dict (SocketHandler, QueueHandler) keep their extras too.
    rebuilt = logging.makeLogRecord(dict(record.__dict__))
    assert json.loads(JsonFormatter().format(rebuilt))["a"] == 2


def test_service_name_follows_the_environment_until_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = logging.makeLogRecord({"msg": "m"})
    formatter = JsonFormatter()
    assert json.loads(formatter.format(record))["service.name"] == "unknown_service:python"
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=ai,service.name=from%20attrs")
    assert json.loads(formatter.format(record))["service.name"] == "from attrs"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    assert json.loads(formatter.format(record))["service.name"] == "from-env"
    otel_agentkit.configure("configured", metrics_exporter="none", prometheus_server=False)
    assert json.loads(formatter.format(record))["service.name"] == "configured"
    otel_agentkit.shutdown()
    assert json.loads(formatter.format(record))["service.name"] == "from-env"
    assert json.loads(JsonFormatter(service_name="fixed").format(record))["service.name"] == (
        "fixed"
    )


def test_explicit_request_id_extra_wins_over_context(log_file: Path) -> None:
    configure_logging("INFO", "json", log_file)
    with request_id("from-context"):
        logging.getLogger("app").info("job", extra={"request_id": "from-job"})
    (line,) = lines(log_file)
    assert line["request_id"] == "from-job"
    assert "extra.request_id" not in line


# -- text ----------------------------------------------------------------------


def test_text_format_has_the_same_ids_compactly(
    log_file: Path, agentkit_telemetry: TelemetryCapture
) -> None:
    configure_logging("DEBUG", "text", log_file)
    log = logging.getLogger("app")
    with tracer().start_as_current_span("chat m") as span, request_id("req-7"):
        span.set_attribute("gen_ai.response.id", "resp-9")
        log.warning("slow call", extra={"model": "gpt-4o", "note": "two words", "n": 2})
        try:
            raise ValueError("bad")
        except ValueError:
            log.exception("failed")
    text = log_file.read_text(encoding="utf-8").splitlines()
    trace_id, span_id = ids(span)
    first = text[0]
    assert RFC3339_MS.match(first.split(" ", 1)[0])
    assert " WARNING app: slow call " in first
    assert f"trace_id={trace_id} span_id={span_id}" in first
    assert "request_id=req-7" in first
    assert "gen_ai.response.id=resp-9" in first
    assert 'model=gpt-4o note="two words" n=2' in first
    assert " ERROR   app: failed " in text[1]
    assert text[2] == "Traceback (most recent call last):"
    assert text[-1] == "ValueError: bad"


def test_text_outside_a_span_has_no_id_noise() -> None:
    record = logging.makeLogRecord({"name": "app", "msg": "plain", "levelname": "INFO"})
    line = TextFormatter().format(record)
    assert line.endswith(" INFO    app: plain")
    assert "trace_id" not in line
    assert "request_id" not in line


# -- concurrency: ids never leak between requests --------------------------------


def test_100_concurrent_asyncio_tasks_log_their_own_ids(
    log_file: Path, agentkit_telemetry: TelemetryCapture
) -> None:
    configure_logging("INFO", "json", log_file)
    log = logging.getLogger("app")
    expected: dict[str, tuple[str, str]] = {}

    async def handle(n: int) -> None:
        rid = f"req-{n}"
        with request_id(rid), tracer().start_as_current_span(f"request {n}") as span:
            expected[rid] = ids(span)
            await asyncio.sleep(0)  # let every other task run in between
            log.info("step 1")
            await asyncio.sleep(0.001 * (n % 3))
            log.info("step 2")

    async def main() -> None:
        await asyncio.gather(*(handle(n) for n in range(100)))

    asyncio.run(main())
    records = lines(log_file)
    assert len(records) == 200
    seen: dict[str, set[tuple[str, str]]] = {}
    for line in records:
        seen.setdefault(line["request_id"], set()).add((line["trace_id"], line["span_id"]))
    assert seen.keys() == expected.keys()
    for rid, pairs in seen.items():
        assert pairs == {expected[rid]}, rid
    assert len({trace_id for trace_id, _ in expected.values()}) == 100


def test_100_concurrent_threads_log_their_own_ids(
    log_file: Path, agentkit_telemetry: TelemetryCapture
) -> None:
    configure_logging("INFO", "json", log_file)
    log = logging.getLogger("app")
    expected: dict[str, tuple[str, str]] = {}
    barrier = threading.Barrier(10)

    def handle(n: int) -> None:
        rid = f"t-{n}"
        with request_id(rid), tracer().start_as_current_span(f"job {n}") as span:
            expected[rid] = ids(span)
            if n < 10:
                barrier.wait(timeout=10)  # make the first ten really overlap
            log.info("working")

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(handle, range(100)))
    records = lines(log_file)
    assert len(records) == 100
    for line in records:
        assert (line["trace_id"], line["span_id"]) == expected[line["request_id"]]
    assert {line["request_id"] for line in records} == set(expected)


def test_work_handed_to_threads_keeps_the_callers_ids(
    log_file: Path, agentkit_telemetry: TelemetryCapture
) -> None:
    configure_logging("INFO", "json", log_file)
    log = logging.getLogger("app")

    def in_thread() -> str | None:
        log.info("in the worker")
        return get_request_id()

    async def main() -> None:
        with request_id("async-1"), tracer().start_as_current_span("parent"):
            assert await run_in_executor(None, in_thread) == "async-1"

    asyncio.run(main())
    pool = wrap_executor(ThreadPoolExecutor(max_workers=2))
    try:
        with request_id("pool-1"), tracer().start_as_current_span("parent2") as span:
            pool.submit(in_thread).result()
    finally:
        pool.shutdown()
    first, second = lines(log_file)
    assert first["request_id"] == "async-1"
    assert "trace_id" in first
    assert second["request_id"] == "pool-1"
    assert second["trace_id"] == ids(span)[0]


# -- enrichment for the app's own handlers -----------------------------------------


def test_context_filter_feeds_percent_style_formatters(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter(
            "%(levelname)s %(message)s trace=%(trace_id)s span=%(span_id)s "
            "req=%(request_id)s resp=%(gen_ai_response_id)s svc=%(service_name)s"
        )
    )
    logger = logging.getLogger("own")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        assert enrich_handlers(logger) == 1
        assert enrich_handlers(logger) == 0  # idempotent: no second filter
        assert sum(isinstance(f, ContextFilter) for f in handler.filters) == 1
        logger.info("outside")
        with tracer().start_as_current_span("chat x") as span, request_id("r-1"):
            span.set_attribute("gen_ai.response.id", "resp-1")
            logger.info("inside")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    outside, inside = stream.getvalue().splitlines()
    assert outside == "INFO outside trace= span= req= resp= svc=test-service"
    trace_id, span_id = ids(span)
    assert inside == (
        f"INFO inside trace={trace_id} span={span_id} req=r-1 resp=resp-1 svc=test-service"
    )
    reset_logging()
    assert not any(isinstance(f, ContextFilter) for f in handler.filters)


def test_configure_logging_can_enrich_existing_root_handlers(tmp_path: Path) -> None:
    stream = io.StringIO()
    app_handler = logging.StreamHandler(stream)
    app_handler.setFormatter(logging.Formatter("%(request_id)s|%(message)s"))
    logging.getLogger().addHandler(app_handler)
    configure_logging("INFO", "json", tmp_path / "a.log", enrich_existing=True)
    with request_id("rq"):
        logging.getLogger("app").info("both")
    assert stream.getvalue() == "rq|both\n"  # the app's handler kept, and enriched
    assert lines(tmp_path / "a.log")[0]["request_id"] == "rq"


def test_queue_handler_keeps_the_ids_of_the_logging_thread(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    """Formatting happens on the listener's thread; the ids are captured before."""
    q: queue.Queue[logging.LogRecord] = queue.Queue()
    stream = io.StringIO()
    sink = logging.StreamHandler(stream)
    sink.setFormatter(JsonFormatter())
    listener = logging.handlers.QueueListener(q, sink)
    queue_handler = logging.handlers.QueueHandler(q)
    queue_handler.addFilter(ContextFilter())
    logger = logging.getLogger("queued")
    logger.addHandler(queue_handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    listener.start()
    try:
        with tracer().start_as_current_span("s") as span, request_id("q-1"):
            logger.info("through a queue")
    finally:
        listener.stop()
        logger.removeHandler(queue_handler)
        logger.propagate = True
    line = json.loads(stream.getvalue())
    assert (line["trace_id"], line["span_id"]) == ids(span)
    assert line["request_id"] == "q-1"
    assert line["message"] == "through a queue"
    assert "service_name" not in line  # enrichment attributes are not extras


# -- configure_logging: destinations, idempotency, settings --------------------------


def test_stdout_is_the_default_and_follows_sys_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    logging.getLogger("app").info("to stdout")
    out = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["message"] for line in out] == ["to stdout"]


def test_stderr_destination(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(file="stderr", fmt="text")
    logging.getLogger("app").info("to stderr")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "app: to stderr" in captured.err


def test_configure_logging_twice_installs_one_handler(log_file: Path, tmp_path: Path) -> None:
    configure_logging("INFO", "json", log_file)
    configure_logging("INFO", "json", log_file)
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_otel_agentkit_managed", False)]
    assert len(ours) == 1
    logging.getLogger("app").info("once")
    assert [line["message"] for line in lines(log_file)] == ["once"]

    # A later call with another target replaces, it does not add.
    other = tmp_path / "other.log"
    configure_logging("INFO", "text", other, root="svc")
    assert not any(getattr(h, "_otel_agentkit_managed", False) for h in root.handlers)
    logging.getLogger("svc.part").info("moved")
    assert [line["message"] for line in lines(log_file)] == ["once"]
    assert "svc.part: moved" in other.read_text(encoding="utf-8")


def test_existing_handler_on_the_same_stream_is_replaced_others_kept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    same = logging.StreamHandler(sys.stdout)
    same.setFormatter(logging.Formatter("PLAIN %(message)s"))
    elsewhere_stream = io.StringIO()
    elsewhere = logging.StreamHandler(elsewhere_stream)
    root.addHandler(same)
    root.addHandler(elsewhere)
    configure_logging("INFO", "json")
    assert same not in root.handlers
    assert elsewhere in root.handlers
    logging.getLogger("app").info("one line")
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert json.loads(out[0])["message"] == "one line"
    assert elsewhere_stream.getvalue() == "one line\n"


def test_level_from_arguments_env_and_fallback() -> None:
    assert resolve_logging_settings(environ={}).level == logging.INFO
    assert resolve_logging_settings(environ={"LOG_LEVEL": "debug"}).level == logging.DEBUG
    env = {"LOG_LEVEL": "debug", "AGENTKIT_LOG_LEVEL": "error"}
    assert resolve_logging_settings(environ=env).level == logging.ERROR
    assert resolve_logging_settings("warning", environ=env).level == logging.WARNING
    assert resolve_logging_settings(15, environ={}).level == 15
    assert resolve_logging_settings(environ={"AGENTKIT_LOG_LEVEL": "25"}).level == 25
    assert resolve_logging_settings(environ={"AGENTKIT_LOG_LEVEL": "WARN"}).level == logging.WARNING


def test_format_and_file_from_env() -> None:
    s = resolve_logging_settings(environ={})
    assert (s.fmt, s.file) == ("json", None)
    s = resolve_logging_settings(
        environ={"AGENTKIT_LOG_FORMAT": "TEXT", "AGENTKIT_LOG_FILE": "/var/log/app.log"}
    )
    assert (s.fmt, s.file) == ("text", "/var/log/app.log")
    assert resolve_logging_settings(environ={"AGENTKIT_LOG_FILE": "stdout"}).file is None
    assert resolve_logging_settings(environ={"AGENTKIT_LOG_FILE": "-"}).file is None
    assert resolve_logging_settings(environ={"AGENTKIT_LOG_FILE": "stderr"}).file == "stderr"
    assert resolve_logging_settings(fmt="json", environ={"AGENTKIT_LOG_FORMAT": "text"}).fmt == (
        "json"
    )


@pytest.mark.parametrize(
    ("kwargs", "environ", "message"),
    [
        ({}, {"AGENTKIT_LOG_LEVEL": "loud"}, "AGENTKIT_LOG_LEVEL='loud': unknown log level"),
        ({}, {"LOG_LEVEL": "verbose"}, "LOG_LEVEL='verbose': unknown log level"),
        ({}, {"AGENTKIT_LOG_LEVEL": "notset"}, "AGENTKIT_LOG_LEVEL='notset': unknown log level"),
        ({"level": "chatty"}, {}, "level='chatty': unknown log level"),
        ({"level": -5}, {}, "level=-5: a log level number cannot be negative"),
        ({}, {"AGENTKIT_LOG_FORMAT": "xml"}, "AGENTKIT_LOG_FORMAT='xml': unknown log format"),
        ({"fmt": "yaml"}, {}, "fmt='yaml': unknown log format; expected json or text"),
    ],
)
def test_invalid_settings_name_the_variable_and_value(
    kwargs: dict[str, Any], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        configure_logging(environ=environ, **kwargs)
    assert str(info.value).startswith(message)


def test_unwritable_file_names_the_variable_and_changes_nothing(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    missing = tmp_path / "no-such-dir" / "app.log"
    with pytest.raises(ConfigurationError) as info:
        configure_logging(environ={"AGENTKIT_LOG_FILE": str(missing)})
    assert info.value.setting == "AGENTKIT_LOG_FILE"
    assert str(missing) in str(info.value)
    assert "cannot open the log file" in str(info.value)
    assert root.handlers == before


# -- noisy third-party loggers --------------------------------------------------


def test_noisy_loggers_default_to_warning(log_file: Path) -> None:
    logging.getLogger("openai").setLevel(logging.DEBUG)  # the app's own choice is kept
    configure_logging("DEBUG", "json", log_file)
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("urllib3.connectionpool").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("werkzeug").level == logging.WARNING
    assert logging.getLogger("qdrant_client").level == logging.WARNING  # an instrumented library
    assert logging.getLogger("openai").level == logging.DEBUG
    logging.getLogger("httpx").info("HTTP Request: POST https://api/ 200")
    logging.getLogger("httpx").warning("retrying")
    logging.getLogger("app").debug("mine")
    assert [line["message"] for line in lines(log_file)] == ["retrying", "mine"]

    reset_logging()
    assert logging.getLogger("httpx").level == logging.NOTSET


def test_noisy_level_never_below_the_root_level_and_configurable(log_file: Path) -> None:
    configure_logging("ERROR", "json", log_file)
    assert logging.getLogger("httpx").level == logging.ERROR
    configure_logging("DEBUG", "json", log_file, noisy_level="INFO", noisy_loggers=["grpc"])
    assert logging.getLogger("grpc").level == logging.INFO
    assert logging.getLogger("httpx").level == logging.NOTSET  # no longer in the list
    configure_logging("DEBUG", "json", log_file, noisy_level=None)
    assert logging.getLogger("grpc").level == logging.NOTSET


def test_reconfiguring_keeps_a_level_the_app_set_in_between(log_file: Path) -> None:
    configure_logging("INFO", "json", log_file)
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # the app changes its mind
    configure_logging("INFO", "json", log_file)
    assert logging.getLogger("httpx").level == logging.DEBUG
    reset_logging()
    assert logging.getLogger("httpx").level == logging.DEBUG


# -- structlog ------------------------------------------------------------------------


def test_structlog_processor_with_real_structlog(agentkit_telemetry: TelemetryCapture) -> None:
    import structlog

    from otel_agentkit.logs import structlog_processor

    out = io.StringIO()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog_processor,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    try:
        log = structlog.get_logger()
        log.info("outside")
        with tracer().start_as_current_span("chat m") as span, request_id("sl-1"):
            span.set_attribute("gen_ai.response.id", "resp-s")
            log.info("inside", user="u")
            log.info("explicit", request_id="given")
    finally:
        structlog.reset_defaults()
    outside, inside, explicit = (json.loads(line) for line in out.getvalue().splitlines())
    assert outside == {"event": "outside", "level": "info"}
    trace_id, span_id = ids(span)
    assert inside == {
        "event": "inside",
        "level": "info",
        "user": "u",
        "trace_id": trace_id,
        "span_id": span_id,
        "request_id": "sl-1",
        "gen_ai.response.id": "resp-s",
    }
    assert explicit["request_id"] == "given"


# -- request events ---------------------------------------------------------------


def test_request_events(log_file: Path, agentkit_telemetry: TelemetryCapture) -> None:
    configure_logging("INFO", "json", log_file)
    with request_id("req-9"), tracer().start_as_current_span("GET /chat") as span:
        log_request_started("GET", "/chat", client="10.0.0.1")
        log_request_completed("GET", "/chat", 200, 12.34567, user_agent="curl", name="clash")
    log_request_completed("POST", "/x", 503, 1.0, request_id="explicit")
    started, completed, other = lines(log_file)
    trace_id, span_id = ids(span)
    assert started["logger"] == REQUEST_LOGGER_NAME
    assert started["message"] == started["event"] == "request_started"
    assert (started["method"], started["route"], started["request_id"]) == ("GET", "/chat", "req-9")
    assert started["client"] == "10.0.0.1"
    assert (started["trace_id"], started["span_id"]) == (trace_id, span_id)
    assert completed["event"] == "request_completed"
    assert completed["status"] == 200
    assert completed["latency_ms"] == 12.346
    assert completed["user_agent"] == "curl"
    assert completed["name_"] == "clash"  # a LogRecord attribute name is renamed, not fatal
    assert completed["request_id"] == "req-9"
    assert other["request_id"] == "explicit"
    assert other["status"] == 503
    assert "trace_id" not in other


def test_request_events_respect_the_logger_level(log_file: Path) -> None:
    configure_logging("INFO", "json", log_file)
    logging.getLogger(REQUEST_LOGGER_NAME).setLevel(logging.WARNING)
    try:
        log_request_started("GET", "/")
        log_request_completed("GET", "/", 200, 1.0)
    finally:
        logging.getLogger(REQUEST_LOGGER_NAME).setLevel(logging.NOTSET)
    assert log_file.read_text(encoding="utf-8") == ""


def test_the_filter_never_breaks_the_logging_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Filters run outside the handler's error handling: an internal failure must not escape."""

    def broken() -> str:  # stands in for any internal failure (no real one is reachable)
        raise RuntimeError("internal")

    monkeypatch.setattr("otel_agentkit.logs._service_name", broken)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s svc=%(service_name)s"))
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("robust")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("still logged")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert stream.getvalue() == "still logged svc=\n"


def test_importing_logs_loads_neither_the_sdk_nor_structlog() -> None:
    import subprocess

    code = (
        "import sys, otel_agentkit.logs; "
        "print(sorted(m for m in sys.modules "
        "if m.startswith(('opentelemetry.sdk', 'structlog', 'grpc'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
