"""HealthRegistry: results, aggregation, TTL cache, timeouts, single flight, redaction, spans."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import datetime

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import otel_agentkit
from otel_agentkit import semconv
from otel_agentkit.errors import ConfigurationError
from otel_agentkit.health import (
    CheckResult,
    HealthRegistry,
    HealthReport,
    Status,
    aggregate_status,
    redact_text,
    redact_url,
)
from otel_agentkit.testing import TelemetryCapture, capture_telemetry
from tests.health_helpers import FakeClock


class Counted:
    """A sync check that counts its calls and can be made to block."""

    def __init__(self, result: CheckResult | None = None, *, block: float = 0.0) -> None:
        self.calls = 0
        self.result = result or CheckResult.ok("fine")
        self.block = block
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self) -> CheckResult:
        with self._lock:
            self.calls += 1
        if self.block:
            self.release.wait(self.block)
        return self.result


class CountedAsync:
    """An async check that counts its calls, optionally sleeps, notes cancellation."""

    def __init__(self, result: CheckResult | None = None, *, sleep: float = 0.0) -> None:
        self.calls = 0
        self.cancelled = False
        self.result = result or CheckResult.ok("fine")
        self.sleep = sleep

    async def __call__(self) -> CheckResult:
        self.calls += 1
        try:
            if self.sleep:
                await asyncio.sleep(self.sleep)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return self.result


# ---------------------------------------------------------------------------
# CheckResult and aggregation
# ---------------------------------------------------------------------------


def test_check_result_constructors_and_validation() -> None:
    assert CheckResult.ok("3 models").status == "ok"
    assert CheckResult.degraded("slow").status == "degraded"
    failed = CheckResult.error("down", data={"code": 7})
    assert (failed.status, failed.detail, failed.data["code"]) == ("error", "down", 7)
    assert failed.to_dict() == {"status": "error", "detail": "down", "latency_ms": None}
    assert failed.to_dict(include_data=True)["data"] == {"code": 7}
    with pytest.raises(ValueError, match="'ok', 'degraded', 'error', not 'fine'"):
        CheckResult("fine")  # type: ignore[arg-type]


# (status, critical) of each check -> overall status
AGGREGATION_TABLE: list[tuple[list[tuple[Status, bool]], Status]] = [
    ([], "ok"),
    ([("ok", True), ("ok", False)], "ok"),
    ([("degraded", True)], "degraded"),
    ([("degraded", False)], "degraded"),
    ([("error", False)], "degraded"),
    ([("error", False), ("ok", True)], "degraded"),
    ([("error", True)], "error"),
    ([("ok", True), ("error", True)], "error"),
    ([("degraded", True), ("error", True), ("error", False)], "error"),
    ([("degraded", False), ("error", False)], "degraded"),
]


@pytest.mark.parametrize(("pairs", "expected"), AGGREGATION_TABLE)
def test_aggregation_table(pairs: list[tuple[Status, bool]], expected: Status) -> None:
    assert aggregate_status(pairs) == expected
    health = HealthRegistry()
    for i, (status, critical) in enumerate(pairs):
        result = CheckResult(status, f"check {i}")
        health.add(f"c{i}", lambda r=result: r, critical=critical)
    report = health.run_sync()
    assert report.status == expected
    assert report.http_status == (503 if expected == "error" else 200)
    assert asyncio.run(health.run(force=True)).status == expected


def test_report_json_shape() -> None:
    health = HealthRegistry(version="2.5.0")
    health.add("model", lambda: CheckResult.ok("2 models", data={"models": ["a", "b"]}))
    health.add("disk", lambda: CheckResult.degraded("900 MiB free"), critical=False)
    report = health.run_sync()
    body = json.loads(report.to_json())
    assert set(body) == {"status", "version", "checks", "timestamp"}
    assert body["status"] == "degraded"
    assert body["version"] == "2.5.0"
    assert list(body["checks"]) == ["model", "disk"]
    assert set(body["checks"]["model"]) == {"status", "detail", "latency_ms"}
    assert body["checks"]["model"]["detail"] == "2 models"
    assert body["checks"]["disk"] == {
        "status": "degraded",
        "detail": "900 MiB free",
        "latency_ms": body["checks"]["disk"]["latency_ms"],
    }
    assert body["checks"]["model"]["latency_ms"] >= 0
    assert body["timestamp"].endswith("Z")
    stamp = datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")).timestamp()
    assert abs(stamp - time.time()) < 60
    assert report.to_dict(include_data=True)["checks"]["model"]["data"] == {"models": ["a", "b"]}
    assert report.critical == frozenset({"model"})


def test_version_defaults_to_service_version_then_package_version() -> None:
    health = HealthRegistry()
    assert health.live().version == otel_agentkit.__version__
    otel_agentkit.configure(
        "svc",
        service_version="9.9.1",
        traces_exporter="none",
        metrics_exporter="none",
        logs_exporter="none",
    )
    assert health.live().version == "9.9.1"
    assert health.run_sync().to_dict()["version"] == "9.9.1"


def test_live_runs_no_checks() -> None:
    check = Counted(CheckResult.error("down"))
    health = HealthRegistry()
    health.add("db", check)
    live = health.live()
    assert isinstance(live, HealthReport)
    assert (live.status, live.http_status, dict(live.checks)) == ("ok", 200, {})
    assert live.to_dict()["checks"] == {}
    assert check.calls == 0
    assert health.run_sync().http_status == 503


# ---------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------


def test_decorator_returns_function_and_registers() -> None:
    health = HealthRegistry()

    @health.check("model-server", critical=True, ttl=10.0, timeout=1.0)
    async def model_server() -> CheckResult:
        return CheckResult.ok("3 models")

    assert asyncio.run(model_server()).detail == "3 models"
    assert health.names == ["model-server"]
    health.remove("model-server")
    assert health.names == []


def test_registration_errors_name_the_problem() -> None:
    health = HealthRegistry()
    health.add("a", lambda: CheckResult.ok())
    with pytest.raises(ValueError, match="'a' is already registered"):
        health.add("a", lambda: CheckResult.ok())
    with pytest.raises(ValueError, match="non-empty name"):
        health.add(" ", lambda: CheckResult.ok())
    with pytest.raises(TypeError, match="must be callable"):
        health.add("b", "not a function")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"ttl=-1"):
        health.add("c", lambda: CheckResult.ok(), ttl=-1)
    with pytest.raises(ConfigurationError, match=r"timeout=0"):
        health.add("d", lambda: CheckResult.ok(), timeout=0)
    with pytest.raises(ConfigurationError, match="default_timeout"):
        HealthRegistry(default_timeout=float("inf"))


# ---------------------------------------------------------------------------
# Running: sync/async, failures
# ---------------------------------------------------------------------------


def test_sync_and_async_checks_under_run_and_run_sync() -> None:
    health = HealthRegistry(default_ttl=0)
    sync_check, async_check = Counted(), CountedAsync(CheckResult.degraded("warm"))
    health.add("sync", sync_check)
    health.add("async", async_check)
    for report in (health.run_sync(), asyncio.run(health.run())):
        assert report.checks["sync"].status == "ok"
        assert report.checks["async"].status == "degraded"
        assert report.status == "degraded"
    assert (sync_check.calls, async_check.calls) == (2, 2)


def test_sync_checks_run_in_threads_concurrently() -> None:
    barrier = threading.Barrier(3, timeout=5)
    health = HealthRegistry(default_timeout=5)

    def meet() -> CheckResult:
        barrier.wait()  # only returns when all three checks run at the same time
        return CheckResult.ok()

    for name in ("a", "b", "c"):
        health.add(name, meet)
    assert health.run_sync().status == "ok"
    health.invalidate()
    barrier.reset()
    assert asyncio.run(health.run()).status == "ok"


def test_exceptions_and_wrong_return_types_become_errors() -> None:
    health = HealthRegistry()

    def boom() -> CheckResult:
        raise RuntimeError("connection pool exhausted")

    async def aboom() -> CheckResult:
        raise KeyError("models")

    health.add("boom", boom)
    health.add("aboom", aboom)
    health.add("wrong", lambda: "ok")  # type: ignore[arg-type, return-value]
    for report in (health.run_sync(force=True), asyncio.run(health.run(force=True))):
        assert report.checks["boom"].status == "error"
        assert report.checks["boom"].detail == "RuntimeError: connection pool exhausted"
        assert report.checks["aboom"].detail == "KeyError: 'models'"
        assert report.checks["wrong"].detail == "check 'wrong' returned str, expected a CheckResult"
        assert report.status == "error"


def test_long_details_are_truncated() -> None:
    health = HealthRegistry()
    health.add("chatty", lambda: CheckResult.degraded("x" * 5000))
    detail = health.run_sync().checks["chatty"].detail
    assert len(detail) == 500
    assert detail.endswith("...")


# ---------------------------------------------------------------------------
# Timeouts
# ---------------------------------------------------------------------------


def test_hung_sync_check_times_out_without_hanging_the_caller() -> None:
    hung = Counted(block=30)
    health = HealthRegistry(default_timeout=0.2)
    health.add("hung", hung)
    health.add("fine", lambda: CheckResult.ok())
    try:
        start = time.perf_counter()
        report = health.run_sync()
        assert time.perf_counter() - start < 10  # far below the 30 s the check blocks
        assert report.checks["hung"].status == "error"
        assert report.checks["hung"].detail == "timeout"
        assert report.checks["fine"].status == "ok"
        assert report.status == "error"
        start = time.perf_counter()
        report = asyncio.run(health.run(force=True))
        assert time.perf_counter() - start < 10
        # The first thread is still stuck: no second thread is piled onto it.
        assert report.checks["hung"].detail == "timeout (the previous run has not finished)"
        assert hung.calls == 1
    finally:
        hung.release.set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the thread ends once released ...
        report = health.run_sync(force=True)
        if report.checks["hung"].status == "ok":
            break
        time.sleep(0.02)
    assert report.checks["hung"].status == "ok"  # ... and the check runs normally again
    assert hung.calls == 2


def test_hung_async_check_times_out_and_is_cancelled() -> None:
    slow = CountedAsync(sleep=30)
    health = HealthRegistry(default_timeout=0.2)
    health.add("slow", slow)

    async def main() -> HealthReport:
        report = await health.run()
        await asyncio.sleep(0)  # let the cancellation reach the check
        return report

    start = time.perf_counter()
    report = asyncio.run(main())
    assert time.perf_counter() - start < 10
    assert (report.checks["slow"].status, report.checks["slow"].detail) == ("error", "timeout")
    assert slow.cancelled
    # run_sync drives async checks on a private loop in a thread, with the same bound.
    slow.cancelled = False
    report = health.run_sync(force=True)
    assert report.checks["slow"].detail == "timeout"
    assert report.checks["slow"].latency_ms is not None
    assert report.checks["slow"].latency_ms >= 200


def test_per_check_timeout_overrides_default() -> None:
    health = HealthRegistry(default_timeout=0.1)
    health.add("patient", CountedAsync(sleep=0.3), timeout=5)
    health.add("impatient", CountedAsync(sleep=0.3))
    report = asyncio.run(health.run())
    assert report.checks["patient"].status == "ok"
    assert report.checks["impatient"].detail == "timeout"


# ---------------------------------------------------------------------------
# TTL cache (fake clock)
# ---------------------------------------------------------------------------


def test_results_are_cached_for_the_ttl() -> None:
    clock = FakeClock()
    check = Counted()
    health = HealthRegistry(default_ttl=30.0, clock=clock)
    health.add("db", check)
    first = health.run_sync()
    clock.advance(29.9)
    second = health.run_sync()
    assert asyncio.run(health.run()).checks["db"] is second.checks["db"]
    assert check.calls == 1
    assert second.checks["db"] is first.checks["db"]
    clock.advance(0.2)
    health.run_sync()
    assert check.calls == 2
    asyncio.run(health.run())
    assert check.calls == 2
    clock.advance(30.0)
    asyncio.run(health.run())
    assert check.calls == 3


def test_per_check_ttl_zero_ttl_force_and_invalidate() -> None:
    clock = FakeClock()
    short, long_, never = Counted(), Counted(), Counted()
    health = HealthRegistry(default_ttl=30.0, clock=clock)
    health.add("short", short, ttl=5.0)
    health.add("long", long_)
    health.add("never", never, ttl=0)
    health.run_sync()
    clock.advance(6)
    health.run_sync()
    assert (short.calls, long_.calls, never.calls) == (2, 1, 2)
    health.run_sync(force=True)
    assert (short.calls, long_.calls, never.calls) == (3, 2, 3)
    health.invalidate("long")
    health.run_sync()
    assert (short.calls, long_.calls, never.calls) == (3, 3, 4)


def test_errors_are_cached_too() -> None:
    clock = FakeClock()
    check = Counted(CheckResult.error("down"))
    health = HealthRegistry(default_ttl=10, clock=clock)
    health.add("db", check)
    assert health.run_sync().status == "error"
    assert health.run_sync().status == "error"
    assert check.calls == 1


# ---------------------------------------------------------------------------
# Single flight: concurrent callers share one run
# ---------------------------------------------------------------------------


def test_no_stampede_from_50_threads() -> None:
    check = Counted(block=0.3)  # slow enough that every caller arrives mid-refresh
    health = HealthRegistry(default_timeout=5)
    health.add("model", check)
    barrier = threading.Barrier(50)
    reports: list[HealthReport] = []
    lock = threading.Lock()

    def request() -> None:
        barrier.wait()
        report = health.run_sync()
        with lock:
            reports.append(report)

    threads = [threading.Thread(target=request) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(reports) == 50
    assert check.calls == 1
    assert len({id(r.checks["model"]) for r in reports}) == 1


def test_no_stampede_from_50_coroutines() -> None:
    check = CountedAsync(sleep=0.2)
    health = HealthRegistry(default_timeout=5)
    health.add("model", check)

    async def main() -> list[HealthReport]:
        return await asyncio.gather(*(health.run() for _ in range(50)))

    reports = asyncio.run(main())
    assert check.calls == 1
    assert {r.checks["model"].status for r in reports} == {"ok"}


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_threads_and_event_loops_share_one_refresh(kind: str) -> None:
    check = Counted(block=0.4) if kind == "sync" else CountedAsync(sleep=0.4)
    health = HealthRegistry(default_timeout=5)
    health.add("model", check)
    statuses: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def sync_caller() -> None:
        barrier.wait()
        status = health.run_sync().status
        with lock:
            statuses.append(status)

    def loop_caller() -> None:  # each thread runs its own event loop
        barrier.wait()

        async def many() -> list[HealthReport]:
            return await asyncio.gather(*(health.run() for _ in range(5)))

        reports = asyncio.run(many())
        with lock:
            statuses.extend(r.status for r in reports)

    threads = [threading.Thread(target=sync_caller) for _ in range(10)]
    threads += [threading.Thread(target=loop_caller) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert statuses == ["ok"] * 60
    assert check.calls == 1


def test_a_cancelled_caller_does_not_cancel_the_shared_refresh() -> None:
    clock = FakeClock()
    check = CountedAsync(sleep=0.2)
    health = HealthRegistry(default_timeout=5, clock=clock)
    health.add("model", check)

    async def main() -> HealthReport:
        first = asyncio.ensure_future(health.run())
        await asyncio.sleep(0.05)
        first.cancel()  # e.g. the client hung up
        with pytest.raises(asyncio.CancelledError):
            await first
        return await health.run()

    report = asyncio.run(main())
    assert report.checks["model"].status == "ok"
    assert check.calls == 1
    assert not check.cancelled


# ---------------------------------------------------------------------------
# Redaction
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://user:hunter22@db:5432/x", "http://[REDACTED]@db:5432/x"),
        ("https://tok@host/v1", "https://[REDACTED]@host/v1"),
        ("http://h/x?api_key=abc123&model=llama3", "http://h/x?api_key=[REDACTED]&model=llama3"),
        ("http://h/x?token=t0k3n", "http://h/x?token=[REDACTED]"),
        (
            "http://h/x?key=k&KEY=k2&signature=s",
            "http://h/x?key=[REDACTED]&KEY=[REDACTED]&signature=[REDACTED]",
        ),
        (
            "http://h/x?client_secret=s&x-api-key=k",
            "http://h/x?client_secret=[REDACTED]&x-api-key=[REDACTED]",
        ),
        ("http://h/x?model=llama3", "http://h/x?model=llama3"),
        ("http://h:11434/api/tags", "http://h:11434/api/tags"),
        ("not a url", "not a url"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text_masks_urls_tokens_and_known_secrets() -> None:
    text = (
        "GET http://admin:pw1234@10.0.0.5:8000/v1/models?api_key=sk-live-abcdef failed; "
        "sent Authorization: Bearer sk-live-abcdef and key sk-other-999999"
    )
    out = redact_text(text, secrets=["sk-other-999999", None, ""])
    for secret in ("pw1234", "sk-live-abcdef", "sk-other-999999", "admin"):
        assert secret not in out
    assert "http://[REDACTED]@10.0.0.5:8000/v1/models?api_key=[REDACTED]" in out
    assert "Authorization: [REDACTED]" in out


def test_redact_text_applies_the_shared_content_redaction() -> None:
    """An API key a check never saw (echoed by a server) and user patterns are masked too."""
    from otel_agentkit import _content

    echoed = "upstream said: invalid key sk-proj-ABCDEFGHIJKLMNOPQRSTUV"
    assert "sk-proj-ABCDEFGHIJKLMNOPQRSTUV" not in redact_text(echoed)
    _content.set_redaction([r"tenant-\d+"])
    try:
        assert "tenant-42" not in redact_text("quota exceeded for tenant-42")
    finally:
        _content.set_redaction()
    assert "tenant-42" in redact_text("quota exceeded for tenant-42")


def test_registry_redacts_every_detail() -> None:
    health = HealthRegistry()
    health.add(
        "user-check",
        lambda: CheckResult.error("cannot reach https://bob:s3cr3tpw@vec.internal/?token=abc999"),
    )

    def raises() -> CheckResult:
        raise ConnectionError("POST http://h/v1?api_key=sk-abcdef123 with Bearer sk-abcdef123")

    health.add("raises", raises)
    report = health.run_sync()
    text = report.to_json()
    for secret in ("bob", "s3cr3tpw", "abc999", "sk-abcdef123"):
        assert secret not in text
    assert "https://[REDACTED]@vec.internal/?token=[REDACTED]" in report.checks["user-check"].detail


# ---------------------------------------------------------------------------
# Telemetry: gauge and spans
# ---------------------------------------------------------------------------


def _gauge(capture: TelemetryCapture, name: str) -> str:
    """The state the gauge reports for check ``name``: the one point at 1 (a state set)."""
    points = capture.metric_points("agentkit.health.status", {"agentkit.health.check": name})
    assert sorted(p.attributes["agentkit.health.state"] for p in points) == [
        "degraded",
        "error",
        "ok",
    ], points
    (current,) = [p for p in points if p.value == 1.0]
    assert all(p.value == 0.0 for p in points if p is not current)
    return str(current.attributes["agentkit.health.state"])


def test_status_gauge_is_a_state_set_per_check(agentkit_telemetry: TelemetryCapture) -> None:
    clock = FakeClock()
    state = {"db": CheckResult.ok()}
    health = HealthRegistry(clock=clock)
    health.add("db", lambda: state["db"])
    health.add("cache", lambda: CheckResult.degraded("slow"), critical=False)
    health.add("model", lambda: CheckResult.error("down"))
    health.run_sync()
    assert _gauge(agentkit_telemetry, "db") == "ok"
    assert _gauge(agentkit_telemetry, "cache") == "degraded"
    assert _gauge(agentkit_telemetry, "model") == "error"
    state["db"] = CheckResult.error("gone")
    clock.advance(31)
    asyncio.run(health.run())
    assert _gauge(agentkit_telemetry, "db") == "error"
    points = agentkit_telemetry.metric_points(
        "agentkit.health.status", {"agentkit.health.check": "db"}
    )
    for point in points:
        assert set(point.attributes) <= semconv.METRIC_ATTRIBUTE_ALLOWLIST
        assert point.attributes["agentkit.health.critical"] == "true"
    cache = agentkit_telemetry.metric_points(
        "agentkit.health.status", {"agentkit.health.check": "cache"}
    )
    assert {p.attributes["agentkit.health.critical"] for p in cache} == {"false"}


def test_gauge_follows_a_new_meter_provider() -> None:
    health = HealthRegistry(default_ttl=0)
    health.add("db", lambda: CheckResult.degraded("slow"))
    health.run_sync()  # no provider installed yet: nothing registered on the API's proxy
    for _ in range(2):  # two captures = two different global meter providers
        with capture_telemetry() as capture:
            health.run_sync()
            assert _gauge(capture, "db") == "degraded"


def test_one_span_per_check_run(agentkit_telemetry: TelemetryCapture) -> None:
    clock = FakeClock()
    health = HealthRegistry(clock=clock, default_timeout=0.2)
    tracer = trace.get_tracer("test")

    def sync_check() -> CheckResult:
        with tracer.start_as_current_span("inner sync"):
            return CheckResult.ok("fine")

    async def async_check() -> CheckResult:
        with tracer.start_as_current_span("inner async"):
            return CheckResult.degraded("meh")

    health.add("sync", sync_check)
    health.add("async", async_check)
    health.add("slow", CountedAsync(sleep=5))
    health.add("broken", lambda: CheckResult.error("http://u:pw9999@h/ down"))

    with tracer.start_as_current_span("GET /health") as parent:
        asyncio.run(health.run())
    parent_id = parent.get_span_context().span_id

    ok_span = agentkit_telemetry.span("health_check sync")
    assert ok_span.attributes is not None
    assert ok_span.attributes[semconv.AGENTKIT_HEALTH_CHECK] == "sync"
    assert ok_span.attributes[semconv.AGENTKIT_HEALTH_STATUS_ATTR] == "ok"
    assert ok_span.parent is not None
    assert ok_span.parent.span_id == parent_id
    assert ok_span.status.status_code == StatusCode.UNSET

    for check, inner in (("sync", "inner sync"), ("async", "inner async")):
        outer = agentkit_telemetry.span(f"health_check {check}")
        child = agentkit_telemetry.span(inner)
        assert child.parent is not None
        assert child.parent.span_id == outer.get_span_context().span_id

    slow = agentkit_telemetry.span("health_check slow")
    assert slow.status.status_code == StatusCode.ERROR
    assert slow.attributes is not None
    assert slow.attributes[semconv.ERROR_TYPE] == "timeout"
    broken = agentkit_telemetry.span("health_check broken")
    assert broken.status.description is not None
    assert "pw9999" not in broken.status.description

    asyncio.run(health.run())  # all cached: no new spans
    assert len(agentkit_telemetry.spans_named("health_check sync")) == 1


def test_gauge_in_prometheus_exposition() -> None:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    telemetry = otel_agentkit.configure(
        "svc",
        traces_exporter="none",
        metrics_exporter="prometheus",
        logs_exporter="none",
        prometheus_server=False,
        prometheus_registry=registry,
    )
    health = HealthRegistry()
    health.add("model-server", lambda: CheckResult.degraded("slow"))
    health.run_sync()
    body, _ = telemetry.render_metrics()
    from prometheus_client.parser import text_string_to_metric_families

    samples = [
        sample
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == "agentkit_health_status"
    ]
    assert sorted(
        (s.labels["agentkit_health_check"], s.labels["agentkit_health_state"], s.value)
        for s in samples
    ) == [
        ("model-server", "degraded", 1.0),
        ("model-server", "error", 0.0),
        ("model-server", "ok", 0.0),
    ]


def test_sync_wait_is_bounded_by_exactly_the_check_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The caller waits the check's timeout, not a second more.

    How long a thread waited cannot be told from outside without a timing
    bound, so the wait itself is observed: ``Future.result`` still waits for
    real, and the test records the timeout it was given. The clock the
    registry reads stands still, so what remains of the deadline is exact.
    """
    import concurrent.futures

    now = 1000.0
    monkeypatch.setattr(time, "perf_counter", lambda: now)
    waits: list[float | None] = []
    real_result = concurrent.futures.Future.result

    def result(self: concurrent.futures.Future[object], timeout: float | None = None) -> object:
        waits.append(timeout)
        return real_result(self, timeout)

    monkeypatch.setattr(concurrent.futures.Future, "result", result)
    hung = Counted(block=30)
    health = HealthRegistry(default_timeout=0.25)
    health.add("hung", hung)
    try:
        report = health.run_sync()
    finally:
        hung.release.set()
    assert waits[0] == 0.25
    assert (report.checks["hung"].status, report.checks["hung"].detail) == ("error", "timeout")
    assert report.checks["hung"].data == {"timeout_s": 0.25}
