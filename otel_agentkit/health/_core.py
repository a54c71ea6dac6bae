"""Check results, the registry of checks, its TTL cache and the aggregated report."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import inspect
import json
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Literal, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode

from otel_agentkit import _providers, semconv
from otel_agentkit._version import __version__
from otel_agentkit.errors import ConfigurationError
from otel_agentkit.health import _telemetry
from otel_agentkit.health._redact import redact_text

__all__ = [
    "DEGRADED",
    "ERROR",
    "OK",
    "CheckFunction",
    "CheckResult",
    "HealthRegistry",
    "HealthReport",
    "Status",
    "aggregate_status",
]

_log = logging.getLogger("otel_agentkit.health")

#: A check's or a report's status.
Status = Literal["ok", "degraded", "error"]
OK: Final = "ok"
DEGRADED: Final = "degraded"
ERROR: Final = "error"
_STATUSES: Final = frozenset({OK, DEGRADED, ERROR})

#: Details longer than this are cut (they end up in JSON, spans and logs).
MAX_DETAIL_CHARS: Final = 500

_EMPTY: Mapping[str, Any] = MappingProxyType({})

#: Tasks running async checks: referenced here so they are not garbage-collected mid-run.
_background: set[asyncio.Task[None]] = set()


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one health check.

    Build one with :meth:`ok`, :meth:`degraded` or :meth:`error`. ``latency_ms``
    is filled in by the registry (how long the check took); ``data`` carries
    structured extras (e.g. the model list) that are not part of the JSON
    response unless asked for.
    """

    status: Status
    detail: str = ""
    latency_ms: float | None = None
    data: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValueError(
                f"CheckResult status must be one of 'ok', 'degraded', 'error', not {self.status!r}"
            )

    @classmethod
    def ok(cls, detail: str = "", *, data: Mapping[str, Any] | None = None) -> CheckResult:
        """The dependency works."""
        return cls(OK, detail, data=MappingProxyType(dict(data)) if data else _EMPTY)

    @classmethod
    def degraded(cls, detail: str = "", *, data: Mapping[str, Any] | None = None) -> CheckResult:
        """The dependency works but is impaired (slow, near a limit, partly down)."""
        return cls(DEGRADED, detail, data=MappingProxyType(dict(data)) if data else _EMPTY)

    @classmethod
    def error(cls, detail: str = "", *, data: Mapping[str, Any] | None = None) -> CheckResult:
        """The dependency does not work."""
        return cls(ERROR, detail, data=MappingProxyType(dict(data)) if data else _EMPTY)

    def to_dict(self, *, include_data: bool = False) -> dict[str, Any]:
        """``{"status", "detail", "latency_ms"}`` (plus ``"data"`` if asked and present)."""
        out: dict[str, Any] = {
            "status": self.status,
            "detail": self.detail,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 3),
        }
        if include_data and self.data:
            out["data"] = dict(self.data)
        return out


#: A health check: a sync or async callable taking no arguments.
CheckFunction = Callable[[], CheckResult | Awaitable[CheckResult]]
F = TypeVar("F", bound=CheckFunction)


def aggregate_status(results: Iterable[tuple[Status, bool]]) -> Status:
    """Overall status from ``(status, critical)`` pairs.

    ``error`` if a critical check errors; ``degraded`` if any check is degraded
    or a non-critical check errors; ``ok`` otherwise (also when there are no checks).
    """
    overall: Status = OK
    for status, critical in results:
        if status == ERROR and critical:
            return ERROR
        if status != OK:
            overall = DEGRADED
    return overall


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The result of :meth:`HealthRegistry.run` (or :meth:`HealthRegistry.live`)."""

    #: Aggregated status, see :func:`aggregate_status`.
    status: Status
    #: Result per check name, in registration order.
    checks: Mapping[str, CheckResult]
    #: Service version the report carries (``None`` if unknown).
    version: str | None
    #: When the report was made, seconds since the epoch.
    timestamp: float
    #: Names of the critical checks.
    critical: frozenset[str] = frozenset()

    @property
    def http_status(self) -> int:
        """200 for ``ok`` and ``degraded``, 503 for ``error``."""
        return 503 if self.status == ERROR else 200

    def to_dict(self, *, include_data: bool = False) -> dict[str, Any]:
        """The response JSON: ``status``, ``version``, ``checks``, ``timestamp`` (ISO 8601 UTC)."""
        stamp = datetime.fromtimestamp(self.timestamp, UTC).isoformat(timespec="milliseconds")
        return {
            "status": self.status,
            "version": self.version,
            "checks": {
                name: result.to_dict(include_data=include_data)
                for name, result in self.checks.items()
            },
            "timestamp": stamp.replace("+00:00", "Z"),
        }

    def to_json(self, *, include_data: bool = False) -> str:
        """:meth:`to_dict` serialized as compact JSON."""
        return json.dumps(
            self.to_dict(include_data=include_data), separators=(",", ":"), default=str
        )


class _Check:
    """A registered check and its cache state (guarded by the registry lock)."""

    __slots__ = (
        "critical",
        "expires",
        "flight",
        "fn",
        "is_async",
        "name",
        "result",
        "running",
        "timeout",
        "ttl",
    )

    def __init__(
        self, name: str, fn: CheckFunction, *, critical: bool, ttl: float, timeout: float
    ) -> None:
        self.name = name
        self.fn = fn
        self.critical = critical
        self.ttl = ttl
        self.timeout = timeout
        self.is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
        )
        self.result: CheckResult | None = None
        self.expires = -math.inf
        self.flight: _Flight | None = None
        #: True while a thread still runs this check (it may outlive its timeout).
        self.running = False


class _Flight:
    """One run of one check, shared by every caller that wants its result."""

    def __init__(self, registry: HealthRegistry, check: _Check) -> None:
        self.registry = registry
        self.check = check
        self.future: concurrent.futures.Future[CheckResult] = concurrent.futures.Future()
        self.started = time.perf_counter()
        self.deadline = self.started + check.timeout
        self.span: Span | None = None
        self._final: CheckResult | None = None  # set once, under the registry lock

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.perf_counter())

    def resolve(self, result: CheckResult, *, cache: bool = True) -> None:
        """Settle the run with ``result`` (first call wins): cache, notify, end the span."""
        registry = self.registry
        check = self.check
        latency_ms = (time.perf_counter() - self.started) * 1000.0
        detail = redact_text(result.detail)
        if len(detail) > MAX_DETAIL_CHARS:
            detail = detail[: MAX_DETAIL_CHARS - 3] + "..."
        final = CheckResult(result.status, detail, latency_ms, result.data)
        with registry._lock:
            if self._final is not None:
                return
            self._final = final
            if cache:
                check.result = final
                check.expires = registry._clock() + check.ttl
            if check.flight is self:
                check.flight = None
            span, self.span = self.span, None
        try:
            self.future.set_result(final)
        except concurrent.futures.InvalidStateError:  # pragma: no cover - defensive
            _log.debug("health check %r: result already set", check.name)
        _end_span(span, final)
        try:
            _telemetry.ensure_gauge()
        except Exception:
            _log.debug("health gauge registration failed", exc_info=True)


def _timeout_result(check: _Check) -> CheckResult:
    return CheckResult.error("timeout", data={"timeout_s": check.timeout})


def _coerce(name: str, value: object) -> CheckResult:
    if isinstance(value, CheckResult):
        return value
    return CheckResult.error(
        f"check {name!r} returned {type(value).__name__}, expected a CheckResult"
    )


def _from_exception(exc: BaseException) -> CheckResult:
    message = str(exc)
    detail = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return CheckResult.error(detail, data={"exception": type(exc).__qualname__})


def _start_span(check: _Check) -> Span | None:
    try:
        tracer = _telemetry.get_tracer()
        return tracer.start_span(
            f"{semconv.AGENTKIT_HEALTH_CHECK_SPAN} {check.name}",
            kind=SpanKind.INTERNAL,
            attributes={semconv.AGENTKIT_HEALTH_CHECK: check.name},
        )
    except Exception:
        _log.debug("could not start a health check span", exc_info=True)
        return None


def _end_span(span: Span | None, result: CheckResult) -> None:
    if span is None:
        return
    try:
        if span.is_recording():
            span.set_attribute(semconv.AGENTKIT_HEALTH_STATUS_ATTR, result.status)
            if result.status == ERROR:
                error_type = "timeout" if result.detail == "timeout" else "health_check_failed"
                exception = result.data.get("exception")
                if isinstance(exception, str):
                    error_type = exception
                span.set_attribute(semconv.ERROR_TYPE, error_type)
                span.set_status(StatusCode.ERROR, result.detail)
        span.end()
    except Exception:
        _log.debug("could not end a health check span", exc_info=True)


class HealthRegistry:
    """Named health checks, run concurrently with per-check timeouts and a TTL cache.

    ::

        health = HealthRegistry(default_ttl=30.0, default_timeout=2.0)

        @health.check("model-server", critical=True, ttl=10.0, timeout=1.0)
        async def model_server() -> CheckResult:
            return CheckResult.ok("3 models")

        health.add("disk", disk_check(path="/", min_free_bytes=1 << 30))

        report = await health.run()     # or health.run_sync() from sync code
        report.status, report.http_status, report.to_dict()

    Sync checks run in threads, async checks on the caller's event loop
    (:meth:`run`) or on a private loop in a thread (:meth:`run_sync`). A check
    that does not finish within its timeout reports ``error`` with detail
    ``"timeout"``; the caller never waits longer than the timeout. A result is
    cached for its check's TTL, and callers that arrive while a check is being
    refreshed, from any thread or event loop, share that one run.

    Args:
        default_ttl: seconds a result stays cached, for checks registered
            without ``ttl``.
        default_timeout: seconds a check may take, for checks registered
            without ``timeout``.
        version: the ``version`` reported; by default the ``service.version``
            of the installed tracer provider's resource (the ``service_version``
            given to :func:`otel_agentkit.configure`), else otel-agentkit's version.
        clock: monotonic clock for the TTL cache (inject a fake one in tests).
    """

    def __init__(
        self,
        *,
        default_ttl: float = 30.0,
        default_timeout: float = 2.0,
        version: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.default_ttl = _valid_ttl("default_ttl", default_ttl)
        self.default_timeout = _valid_timeout("default_timeout", default_timeout)
        self.version = version
        self._clock = clock
        self._lock = threading.Lock()
        self._checks: dict[str, _Check] = {}
        _telemetry.track(self)

    # -- registration ---------------------------------------------------------

    def check(
        self,
        name: str,
        *,
        critical: bool = True,
        ttl: float | None = None,
        timeout: float | None = None,
    ) -> Callable[[F], F]:
        """Decorator form of :meth:`add`; returns the function unchanged."""

        def register(fn: F) -> F:
            self.add(name, fn, critical=critical, ttl=ttl, timeout=timeout)
            return fn

        return register

    def add(
        self,
        name: str,
        check: CheckFunction,
        *,
        critical: bool = True,
        ttl: float | None = None,
        timeout: float | None = None,
    ) -> None:
        """Register ``check`` (a sync or async callable returning a :class:`CheckResult`).

        Args:
            name: unique name; the key in the report and the gauge's
                ``agentkit.health.check`` attribute.
            check: the callable. Anything it raises becomes an ``error`` result.
            critical: whether an ``error`` from this check makes the whole
                report ``error`` (HTTP 503). A non-critical error only degrades it.
            ttl: seconds to cache its result (default ``default_ttl``; 0 disables).
            timeout: seconds it may take (default ``default_timeout``).

        Raises:
            ValueError: the name is empty or already registered.
            ConfigurationError: ``ttl`` or ``timeout`` is not a usable number.
            TypeError: ``check`` is not callable.
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a health check needs a non-empty name, got {name!r}")
        if not callable(check):
            raise TypeError(f"health check {name!r} must be callable, got {type(check).__name__}")
        entry = _Check(
            name,
            check,
            critical=bool(critical),
            ttl=self.default_ttl if ttl is None else _valid_ttl("ttl", ttl),
            timeout=self.default_timeout if timeout is None else _valid_timeout("timeout", timeout),
        )
        with self._lock:
            if name in self._checks:
                raise ValueError(f"a health check named {name!r} is already registered")
            self._checks[name] = entry

    def remove(self, name: str) -> None:
        """Unregister the check called ``name``; ``KeyError`` if there is none."""
        with self._lock:
            del self._checks[name]

    @property
    def names(self) -> list[str]:
        """Registered check names, in registration order."""
        with self._lock:
            return list(self._checks)

    def invalidate(self, name: str | None = None) -> None:
        """Forget cached results (of one check, or all) so the next run refreshes them."""
        with self._lock:
            for entry in self._checks.values():
                if name is None or entry.name == name:
                    entry.expires = -math.inf

    # -- running --------------------------------------------------------------

    async def run(self, *, force: bool = False) -> HealthReport:
        """Run every check whose cached result has expired, concurrently, and report.

        ``force=True`` ignores the cache (a refresh already under way is still
        shared). Never raises for a failing check; waits at most the longest
        check timeout.
        """
        entries = self._snapshot()
        loop = asyncio.get_running_loop()
        got = [self._begin(entry, force, loop) for entry in entries]
        flights = [item for item in got if isinstance(item, _Flight)]
        settled = iter(await asyncio.gather(*map(_wait_async, flights)) if flights else ())
        results = [item if isinstance(item, CheckResult) else next(settled) for item in got]
        return self._report(entries, results)

    def run_sync(self, *, force: bool = False) -> HealthReport:
        """:meth:`run` for sync code (Flask, Django, a thread pool); safe from many threads."""
        entries = self._snapshot()
        got = [self._begin(entry, force, None) for entry in entries]
        return self._report(entries, [_wait_sync(item) for item in got])

    def live(self) -> HealthReport:
        """A liveness report (``/health/live``): always ``ok``, runs no dependency checks."""
        return HealthReport(OK, MappingProxyType({}), self._version(), time.time())

    # -- internals --------------------------------------------------------------

    def _snapshot(self) -> list[_Check]:
        with self._lock:
            return list(self._checks.values())

    def _latest_statuses(self) -> list[tuple[str, str, bool]]:
        with self._lock:
            return [
                (e.name, e.result.status, e.critical) for e in self._checks.values() if e.result
            ]

    def _version(self) -> str:
        if self.version is not None:
            return self.version
        return _providers.resource_attribute(semconv.SERVICE_VERSION) or __version__

    def _report(self, entries: list[_Check], results: list[CheckResult]) -> HealthReport:
        checks = {entry.name: result for entry, result in zip(entries, results, strict=True)}
        status = aggregate_status(
            (result.status, entry.critical) for entry, result in zip(entries, results, strict=True)
        )
        return HealthReport(
            status,
            MappingProxyType(checks),
            self._version(),
            time.time(),
            frozenset(entry.name for entry in entries if entry.critical),
        )

    def _acquire(
        self, entry: _Check, force: bool
    ) -> tuple[CheckResult | None, _Flight | None, bool]:
        """Under the lock: a fresh cached result, or the run to join (and whether we lead it)."""
        with self._lock:
            if not force and entry.result is not None and self._clock() < entry.expires:
                return entry.result, None, False
            if entry.flight is not None:
                return None, entry.flight, False
            flight = _Flight(self, entry)
            entry.flight = flight
        span = _start_span(entry)  # outside the lock: span processors are foreign code
        with self._lock:
            final = flight._final
            if final is None:
                flight.span = span
        if final is not None:  # settled (timed out) before the span existed
            _end_span(span, final)
        return None, flight, True

    def _start_in_thread(self, flight: _Flight) -> None:
        check = flight.check
        with self._lock:
            busy = check.running
            check.running = True
        if busy:
            # The thread of an earlier run is still stuck past its timeout: do not
            # pile another thread onto a hung dependency.
            flight.resolve(CheckResult.error("timeout (the previous run has not finished)"))
            return
        ctx = contextvars.copy_context()
        thread = threading.Thread(
            target=ctx.run,
            args=(_thread_main, flight),
            name=f"agentkit-health-{check.name}",
            daemon=True,  # a hung dependency must not keep the process alive at exit
        )
        try:
            thread.start()
        except Exception as exc:  # e.g. "can't start new thread" under resource pressure
            with self._lock:
                check.running = False
            flight.resolve(_from_exception(exc))

    def _begin(
        self, entry: _Check, force: bool, loop: asyncio.AbstractEventLoop | None
    ) -> CheckResult | _Flight:
        """A fresh cached result, or the run to wait for (started here if nobody leads one).

        Async checks run as a task on ``loop`` when there is one; everything
        else runs in a thread.
        """
        try:
            cached, flight, leader = self._acquire(entry, force)
            if cached is not None:
                return cached
            assert flight is not None
            if leader:
                if entry.is_async and loop is not None:
                    task = loop.create_task(
                        _drive_async(flight), name=f"agentkit-health-{entry.name}"
                    )
                    _background.add(task)  # the loop keeps only a weak reference
                    task.add_done_callback(_background.discard)
                else:
                    self._start_in_thread(flight)
            return flight
        except Exception as exc:  # a bug of ours must not take /health down
            _log.debug("health check %r could not start", entry.name, exc_info=True)
            return _from_exception(exc)


def _attach_span(flight: _Flight) -> object | None:
    if flight.span is None:
        return None
    return otel_context.attach(trace.set_span_in_context(flight.span))


def _detach(token: object | None) -> None:
    if token is not None:
        otel_context.detach(token)  # type: ignore[arg-type]


def _thread_main(flight: _Flight) -> None:
    """Run a check in a worker thread (sync checks, and async ones under run_sync)."""
    check = flight.check
    token = _attach_span(flight)
    try:
        value: object = check.fn()
        if inspect.isawaitable(value):
            result = asyncio.run(_bounded(check, value, flight.remaining()))
        else:
            result = _coerce(check.name, value)
    except BaseException as exc:
        result = _from_exception(exc)
    finally:
        _detach(token)
        with flight.registry._lock:
            check.running = False
    flight.resolve(result)


async def _bounded(check: _Check, awaitable: Awaitable[object], seconds: float) -> CheckResult:
    """Await a check's coroutine on a private loop, at most ``seconds``."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.add_done_callback(_consume)
        task.cancel()
        return _timeout_result(check)
    return _task_outcome(check, task)


def _task_outcome(check: _Check, task: asyncio.Future[Any]) -> CheckResult:
    if task.cancelled():
        return CheckResult.error("cancelled")
    exc = task.exception()
    return _from_exception(exc) if exc is not None else _coerce(check.name, task.result())


def _consume(task: asyncio.Future[Any]) -> None:
    """Retrieve a task's outcome so asyncio does not log 'exception never retrieved'."""
    if not task.cancelled():
        task.exception()


async def _drive_async(flight: _Flight) -> None:
    """Run an async check on the current loop within its deadline and settle the flight."""
    check = flight.check
    token = _attach_span(flight)
    try:
        value = check.fn()
        if not inspect.isawaitable(value):
            flight.resolve(_coerce(check.name, value))
            return
        task = asyncio.ensure_future(value)
        done, _ = await asyncio.wait({task}, timeout=flight.remaining())
        if not done:
            task.add_done_callback(_consume)
            task.cancel()
            flight.resolve(_timeout_result(check))
        else:
            flight.resolve(_task_outcome(check, task), cache=not task.cancelled())
    except asyncio.CancelledError:
        # The loop is shutting down under us: answer the waiters, cache nothing.
        flight.resolve(CheckResult.error("cancelled"), cache=False)
        raise
    except Exception as exc:
        flight.resolve(_from_exception(exc))
    finally:
        _detach(token)


async def _wait_async(flight: _Flight) -> CheckResult:
    """Wait for a run from a coroutine, never past its deadline."""
    if flight.future.done():
        return flight.future.result()
    # Not asyncio.wrap_future: cancelling a wrapped future cancels the shared one,
    # so one caller hanging up would fail the run for everyone else.
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def wake(_: object) -> None:
        with contextlib.suppress(RuntimeError):  # that caller's loop has closed meanwhile
            loop.call_soon_threadsafe(_set_waiter, waiter)

    flight.future.add_done_callback(wake)
    done, _ = await asyncio.wait({waiter}, timeout=flight.remaining())
    if not done:
        flight.resolve(_timeout_result(flight.check))
    return flight.future.result()


def _set_waiter(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _wait_sync(flight: CheckResult | _Flight) -> CheckResult:
    """Wait for a run from a thread, never past its deadline."""
    if isinstance(flight, CheckResult):
        return flight
    try:
        return flight.future.result(timeout=flight.remaining())
    except concurrent.futures.TimeoutError:
        flight.resolve(_timeout_result(flight.check))
        return flight.future.result()


def _valid_ttl(setting: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigurationError(setting, value, "must be a number of seconds >= 0")
    return float(value)


def _valid_timeout(setting: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ConfigurationError(setting, value, "must be a finite number of seconds > 0")
    return float(value)
