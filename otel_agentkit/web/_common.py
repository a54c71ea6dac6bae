"""What the Flask and FastAPI integrations share, with no framework import.

- request-id validation and generation;
- the per-request flow (:class:`RequestObserver`): request id in the
  ContextVar and on the server span, the optional hook, the
  ``request_started`` / ``request_completed`` events, the request metrics;
- ``agentkit.http.requests`` / ``agentkit.http.errors`` counters and the
  observable process metrics, created once per meter provider;
- ``/metrics`` and ``/health`` bodies;
- adapters to the sibling modules (``otel_agentkit.logs``,
  ``otel_agentkit.health``, the decorators' metric helpers), imported lazily;
  when a module or name is absent the adapter does the minimal thing itself.

Every internal error here is logged at debug level and swallowed: the
instrumentation must never break a request.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import re
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import Token
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

from opentelemetry import metrics, trace

from otel_agentkit import _content, _providers, _sanitize, semconv
from otel_agentkit._instruments import create_counter
from otel_agentkit._version import __version__
from otel_agentkit.context import reset_request_id, set_request_id

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Counter, Meter, MeterProvider, Observation

    from otel_agentkit.telemetry import Telemetry

__all__ = [
    "AttributeValue",
    "RequestHook",
    "RequestObserver",
    "WebConfig",
    "error_body",
    "health_response",
    "health_response_async",
    "is_valid_request_id",
    "liveness_response",
    "metrics_response",
    "resolve_request_id",
    "status_class",
]

#: Logger for the request events, rejected request ids and unhandled exceptions.
LOGGER_NAME: Final = "otel_agentkit.http"
_log = logging.getLogger(LOGGER_NAME)
_debug = logging.getLogger("otel_agentkit.web")

AttributeValue = str | bool | int | float
#: ``hook(request) -> Mapping[str, AttributeValue] | None``; for FastAPI it may be a
#: coroutine function.
RequestHook = Callable[[Any], Any]


class _DerivedPath(str):
    """Default of ``liveness_path``: ``<health_path>/live``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<health_path>/live"


#: Sentinel default for ``liveness_path`` (compared by identity).
DERIVED_LIVENESS_PATH: Final = _DerivedPath("<health_path>/live")


def liveness_path_for(health_path: str | None, liveness_path: str | None) -> str | None:
    """Resolve the ``liveness_path`` argument against ``health_path``."""
    if liveness_path is DERIVED_LIVENESS_PATH:
        return f"{health_path.rstrip('/')}/live" if health_path else None
    return liveness_path


REQUEST_STARTED: Final = "request_started"
#: Fields of the request events that a hook cannot override.
_EVENT_FIELDS: Final = frozenset({"event", "method", "route", "status", "latency_ms", "request_id"})
REQUEST_COMPLETED: Final = "request_completed"

# ---------------------------------------------------------------------------
# Request ids
# ---------------------------------------------------------------------------

_REQUEST_ID_RE: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_LOGGED_PREFIX: Final = 64


def is_valid_request_id(value: str) -> bool:
    """1-128 characters of ``[A-Za-z0-9._:-]`` (ASCII only, no whitespace)."""
    return _REQUEST_ID_RE.fullmatch(value) is not None


def _escaped(value: str) -> str:
    """A log-safe rendering of an untrusted value: ASCII-escaped and truncated."""
    shown = ascii(value[:_LOGGED_PREFIX])
    if len(value) > _LOGGED_PREFIX:
        shown += f"... ({len(value)} characters)"
    return shown


def resolve_request_id(incoming: str | None) -> str:
    """The incoming id when it is valid; otherwise a new UUID4.

    A present but invalid value is logged (escaped and truncated, never raw)
    at WARNING on ``otel_agentkit.http``.
    """
    if incoming is not None and _REQUEST_ID_RE.fullmatch(incoming) is not None:
        return incoming
    generated = str(uuid.uuid4())
    if incoming is not None:
        _log.warning(
            "rejected incoming request id %s; using %s",
            _escaped(incoming),
            generated,
            extra={"event": "request_id_rejected"},
        )
    return generated


def status_class(status: int) -> str:
    """``"2xx"`` for 200 ... ``"5xx"``; ``"other"`` outside 100-599."""
    if 100 <= status <= 599:
        return f"{status // 100}xx"
    return "other"


_KNOWN_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY"}
)


def normalize_method(method: str) -> str:
    """The method, or ``_OTHER`` for a non-standard one (bounded metric cardinality)."""
    return method if method in _KNOWN_METHODS else "_OTHER"


def error_body(message: Any, request_id: str | None) -> dict[str, Any]:
    """The JSON body of an error response: ``{"error": ..., "request_id": ...}``."""
    return {"error": message, "request_id": request_id}


INTERNAL_ERROR_MESSAGE: Final = "internal server error"

# ---------------------------------------------------------------------------
# Excluded URLs (same matching the official instrumentations use)
# ---------------------------------------------------------------------------


def path_pattern(path: str) -> str:
    """A regex matching a full request URL whose path is exactly ``path``."""
    return r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*" + re.escape(path.rstrip("/")) + r"/?(?:\?.*)?$"


def build_excluded_urls(
    framework_env: str, own_paths: Iterable[str | None], extra: str | Sequence[str] | None
) -> str:
    """Comma-separated exclusion regexes for the official instrumentor and for us.

    Our ``/metrics`` and ``/health`` paths, then ``extra`` (the caller's
    ``excluded_urls``), then the standard environment variables
    ``OTEL_PYTHON_<FRAMEWORK>_EXCLUDED_URLS`` / ``OTEL_PYTHON_EXCLUDED_URLS``
    (passing an explicit list to the instrumentor would otherwise hide them).
    """
    patterns = [path_pattern(p) for p in own_paths if p]
    if isinstance(extra, str):
        patterns.extend(p.strip() for p in extra.split(",") if p.strip())
    elif extra is not None:
        patterns.extend(p for p in extra if p)
    env = os.environ.get(
        f"OTEL_PYTHON_{framework_env}_EXCLUDED_URLS", os.environ.get("OTEL_PYTHON_EXCLUDED_URLS")
    )
    if env:
        patterns.extend(p.strip() for p in env.split(",") if p.strip())
    return ",".join(patterns)


class ExcludeList:
    """Regex search over the full request URL, like ``opentelemetry.util.http``."""

    def __init__(self, patterns: str) -> None:
        parts = [p for p in patterns.split(",") if p]
        self._regex = re.compile("|".join(parts)) if parts else None

    def url_disabled(self, url: str) -> bool:
        """True when ``url`` matches one of the patterns."""
        return self._regex is not None and self._regex.search(url) is not None


# ---------------------------------------------------------------------------
# Stable HTTP semantic conventions for the official instrumentations
# ---------------------------------------------------------------------------


def use_stable_http_semconv() -> None:
    """Make the contrib HTTP instrumentations emit the stable conventions.

    Without ``OTEL_SEMCONV_STABILITY_OPT_IN`` they still emit the old
    ``http.server.duration`` (ms). When the user has not chosen, opt the HTTP
    signal in to the stable names (``http.server.request.duration`` in s,
    ``http.route``, ``http.request.method``); an explicit choice is respected.
    """
    try:
        from opentelemetry.instrumentation._semconv import (
            OTEL_SEMCONV_STABILITY_OPT_IN,
            _OpenTelemetrySemanticConventionStability,
            _OpenTelemetryStabilitySignalType,
            _StabilityMode,
        )

        stability = _OpenTelemetrySemanticConventionStability
        stability._initialize()  # type: ignore[no-untyped-call]
        if os.environ.get(OTEL_SEMCONV_STABILITY_OPT_IN, "").strip():
            return
        mapping = stability._OTEL_SEMCONV_STABILITY_SIGNAL_MAPPING
        if mapping.get(_OpenTelemetryStabilitySignalType.HTTP) is _StabilityMode.DEFAULT:
            mapping[_OpenTelemetryStabilitySignalType.HTTP] = _StabilityMode.HTTP
    except Exception:  # private contrib API: if it moved, keep its default
        _debug.debug("could not opt in to stable HTTP semantic conventions", exc_info=True)


# ---------------------------------------------------------------------------
# Instruments: once per meter provider
# ---------------------------------------------------------------------------


@dataclass
class _Instruments:
    meter: Meter
    requests: Counter
    errors: Counter


_instruments_lock = threading.Lock()
_last: tuple[Any, _Instruments] | None = None
_by_provider: weakref.WeakKeyDictionary[Any, _Instruments] = weakref.WeakKeyDictionary()


def instruments(meter_provider: MeterProvider | None = None) -> _Instruments | None:
    """Counters for ``meter_provider`` (default: the current global), created once.

    The first call for a provider also registers the observable process
    metrics on it. Returns None while the provider is one of the API's
    placeholders (binding instruments to the proxy would pin them to whichever
    provider comes first; a no-op one records nothing).
    """
    global _last
    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    last = _last
    if last is not None and last[0] is provider:
        return last[1]
    if not _providers.is_real(provider):
        return None
    with _instruments_lock:
        found = _by_provider.get(provider)
        if found is None:
            meter = provider.get_meter(semconv.SCOPE_NAME, __version__)
            found = _Instruments(
                meter=meter,
                requests=create_counter(
                    meter,
                    semconv.AGENTKIT_HTTP_REQUESTS,
                    semconv.UNIT_REQUESTS,
                    "HTTP requests served, by route, method and status class.",
                ),
                errors=create_counter(
                    meter,
                    semconv.AGENTKIT_HTTP_ERRORS,
                    semconv.UNIT_ERRORS,
                    "HTTP responses with a 4xx or 5xx status, by route.",
                ),
            )
            _register_process_metrics(meter)
            _by_provider[provider] = found
        _last = (provider, found)
    return found


def _register_process_metrics(meter: Meter) -> None:
    meter.create_observable_up_down_counter(
        semconv.PROCESS_MEMORY_USAGE,
        callbacks=[_observe_memory],
        unit=semconv.UNIT_BYTES,
        description="The amount of physical memory in use (resident set size).",
    )
    meter.create_observable_counter(
        semconv.PROCESS_CPU_TIME,
        callbacks=[_observe_cpu],
        unit=semconv.UNIT_SECONDS,
        description="Total CPU seconds broken down by mode.",
    )
    meter.create_observable_up_down_counter(
        semconv.PROCESS_OPEN_FILE_DESCRIPTOR_COUNT,
        callbacks=[_observe_fds],
        unit=semconv.UNIT_FILE_DESCRIPTORS,
        description="Number of open file descriptors.",
    )


def _observation(value: float, attributes: Mapping[str, str] | None = None) -> Observation:
    from opentelemetry.metrics import Observation

    return Observation(value, attributes)


def resident_memory_bytes() -> int | None:
    """Current resident set size (Linux ``/proc``); None where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def open_file_descriptors() -> int | None:
    """Number of open file descriptors (``/proc/self/fd`` or ``/dev/fd``); None if unknown."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(folder))
        except OSError:
            continue
    return None


def _observe_memory(options: CallbackOptions) -> Iterable[Observation]:
    rss = resident_memory_bytes()
    return [] if rss is None else [_observation(rss)]


def _observe_cpu(options: CallbackOptions) -> Iterable[Observation]:
    times = os.times()
    return [
        _observation(times.user, {semconv.CPU_MODE: semconv.CPU_MODE_USER}),
        _observation(times.system, {semconv.CPU_MODE: semconv.CPU_MODE_SYSTEM}),
    ]


def _observe_fds(options: CallbackOptions) -> Iterable[Observation]:
    count = open_file_descriptors()
    return [] if count is None or sys.platform == "win32" else [_observation(count)]


# ---------------------------------------------------------------------------
# ADAPTER: request events through otel_agentkit.logs when it offers them
# ---------------------------------------------------------------------------

_UNSET: Final = object()
_logs_functions: Any = _UNSET

#: LogRecord attribute names; an ``extra`` key equal to one makes logging raise.
_RESERVED_RECORD_ATTRS: Final = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
}


def _find_logs_functions() -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    try:
        logs = importlib.import_module("otel_agentkit.logs")
    except ImportError:
        return None
    started = getattr(logs, "log_request_started", None)
    completed = getattr(logs, "log_request_completed", None)
    if callable(started) and callable(completed):
        return started, completed
    return None


def _logs() -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    global _logs_functions
    if _logs_functions is _UNSET:
        _logs_functions = _find_logs_functions()
    return cast("tuple[Callable[..., Any], Callable[..., Any]] | None", _logs_functions)


def _fallback_event(event: str, fields: Mapping[str, Any]) -> None:
    extra: dict[str, Any] = {"event": event}
    for key, value in fields.items():
        if value is not None:
            extra[f"{key}_" if key in _RESERVED_RECORD_ATTRS else key] = value
    _log.info(event, extra=extra)


def emit_request_started(
    method: str, route: str | None, request_id: str, fields: Mapping[str, Any]
) -> None:
    """Log ``request_started`` (method, route template, request_id, hook fields).

    Calls ``otel_agentkit.logs.log_request_started(method, route, request_id,
    **fields)`` when that exists; otherwise logs an INFO record on
    ``otel_agentkit.http`` whose ``extra`` carries ``event`` and the fields.
    """
    try:
        functions = _logs()
        if functions is not None:
            functions[0](method, route, request_id, **fields)
            return
        if not _log.isEnabledFor(logging.INFO):
            return
        _fallback_event(
            REQUEST_STARTED, {**fields, "method": method, "route": route, "request_id": request_id}
        )
    except Exception:
        _debug.debug("emitting request_started failed", exc_info=True)


def emit_request_completed(
    method: str,
    route: str | None,
    status: int,
    latency_ms: float,
    request_id: str,
    fields: Mapping[str, Any],
) -> None:
    """Log ``request_completed`` (method, route, status, latency_ms, request_id, hook fields).

    Calls ``otel_agentkit.logs.log_request_completed(method, route, status,
    latency_ms, request_id, **fields)`` when that exists; otherwise the same
    INFO record as :func:`emit_request_started`.
    """
    try:
        functions = _logs()
        if functions is not None:
            functions[1](method, route, status, latency_ms, request_id, **fields)
            return
        if not _log.isEnabledFor(logging.INFO):
            return
        _fallback_event(
            REQUEST_COMPLETED,
            {
                **fields,
                "method": method,
                "route": route,
                "status": status,
                "latency_ms": round(latency_ms, 3),
                "request_id": request_id,
            },
        )
    except Exception:
        _debug.debug("emitting request_completed failed", exc_info=True)


# ---------------------------------------------------------------------------
# /metrics and /health bodies
# ---------------------------------------------------------------------------

_TEXT: Final = "text/plain; charset=utf-8"
_JSON: Final = "application/json"

NOT_CONFIGURED: Final = (
    "metrics are not configured: call otel_agentkit.configure() with the 'prometheus' "
    "metrics exporter (the default) before serving /metrics\n"
)


def metrics_response(telemetry: Telemetry | None, accept: str | None) -> tuple[int, bytes, str]:
    """``(status, body, content_type)`` for ``GET /metrics``.

    503 with a plain-text reason when ``configure()`` has not run or the
    Prometheus exporter is off; OpenMetrics when ``accept`` asks for it.
    """
    from otel_agentkit.errors import AgentkitError
    from otel_agentkit.telemetry import get_telemetry

    current = telemetry if telemetry is not None else get_telemetry()
    if current is None:
        return 503, NOT_CONFIGURED.encode(), _TEXT
    try:
        body, content_type = current.render_metrics(accept)
    except AgentkitError as exc:
        return 503, f"{exc}\n".encode(), _TEXT
    return 200, body, content_type


_OK_BODY: Final = {"status": "ok"}


def _report_result(report: Any) -> tuple[int, dict[str, Any]]:
    """ADAPTER: a health report duck-typed on ``http_status`` and ``to_dict()``."""
    status = int(getattr(report, "http_status", 200))
    to_dict = getattr(report, "to_dict", None)
    body = dict(to_dict()) if callable(to_dict) else {"status": "ok" if status < 400 else "down"}
    return status, body


def health_response(health: Any) -> tuple[int, dict[str, Any]]:
    """``(status, body)`` for ``GET /health`` from a sync framework.

    ``health`` is duck-typed: ``run_sync()`` is preferred; a ``run()`` whose
    result is awaitable is driven with ``asyncio.run``. None answers 200
    ``{"status": "ok"}`` (the process serves requests).
    """
    if health is None:
        return 200, dict(_OK_BODY)
    run_sync = getattr(health, "run_sync", None)
    if callable(run_sync):
        return _report_result(run_sync())
    result = health.run()
    if inspect.isawaitable(result):
        import asyncio

        async def _await() -> Any:
            return await result

        result = asyncio.run(_await())
    return _report_result(result)


async def health_response_async(health: Any) -> tuple[int, dict[str, Any]]:
    """``(status, body)`` for ``GET /health`` from an async framework."""
    if health is None:
        return 200, dict(_OK_BODY)
    run = getattr(health, "run", None)
    if callable(run):
        result = run()
        if inspect.isawaitable(result):
            result = await result
        return _report_result(result)
    from starlette.concurrency import run_in_threadpool

    return _report_result(await run_in_threadpool(health.run_sync))


#: Liveness method names tried on the health object, in order.
_LIVENESS_METHODS: Final = ("live", "liveness")


def liveness_response(health: Any) -> tuple[int, dict[str, Any]]:
    """``(status, body)`` for ``GET /health/live``.

    Liveness never runs dependency checks: the process answering is the
    signal. When the health object offers a synchronous liveness method
    (``live()``, as ``HealthRegistry`` does, or ``liveness()``) its report is used.
    """
    if health is not None:
        for name in _LIVENESS_METHODS:
            method = getattr(health, name, None)
            if callable(method) and not inspect.iscoroutinefunction(method):
                result = method()
                if not inspect.isawaitable(result):
                    return _report_result(result)
    return 200, dict(_OK_BODY)


# ---------------------------------------------------------------------------
# Configuration and the per-request flow
# ---------------------------------------------------------------------------


@dataclass
class WebConfig:
    """What ``instrument_app`` resolved; shared by every request of one app."""

    request_id_header: str
    excluded: ExcludeList
    hook: RequestHook | None = None
    hook_metric_attributes: frozenset[str] = frozenset()
    telemetry: Telemetry | None = None
    error_handlers: bool = True
    _metric_keys: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self._metric_keys = semconv.METRIC_ATTRIBUTE_ALLOWLIST | self.hook_metric_attributes

    def meter_provider(self) -> MeterProvider | None:
        """The explicit provider (from ``telemetry=``), else None for the global."""
        return self.telemetry.meter_provider if self.telemetry is not None else None

    def clean_hook_result(self, result: Any) -> dict[str, AttributeValue]:
        """Keep str keys with str/bool/int/float values; drop (and debug-log) the rest.

        Keys that would shadow the events' own fields (``method``, ``route``,
        ``status``, ``latency_ms``, ``request_id``, ``event``) are dropped too.
        """
        if not result:
            return {}
        cleaned: dict[str, AttributeValue] = {}
        for key, value in dict(result).items():
            if key in _EVENT_FIELDS:
                _debug.debug("hook field %r dropped: the request events set it", key)
            elif isinstance(key, str) and isinstance(value, str | bool | int | float):
                cleaned[key] = value
            else:
                _debug.debug("hook field %r dropped: value must be str, bool, int or float", key)
        return cleaned

    def metric_fields(self, fields: Mapping[str, AttributeValue]) -> dict[str, AttributeValue]:
        """Hook fields allowed on metrics: allow-listed or declared by the app."""
        return {k: v for k, v in fields.items() if k in self._metric_keys}


#: Server span attributes the frameworks' instrumentations set from the request URL.
_URL_ATTRIBUTES = (semconv.URL_QUERY, semconv.URL_FULL, semconv.HTTP_TARGET, semconv.HTTP_URL)


def redact_url_attributes(span: Any) -> None:
    """Redact credentials in the URL attributes the framework's instrumentation set on ``span``.

    ``url.query`` holds ``api_key=...`` as the client sent it; it is replaced
    with its redacted form (:func:`otel_agentkit._content.redact`).
    """
    attributes = getattr(span, "attributes", None)
    if not attributes:
        return
    for key in _URL_ATTRIBUTES:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            redacted = _content.redact(value)
            if redacted != value:
                span.set_attribute(key, redacted)


class RequestObserver:
    """One request's telemetry: start, hook fields, finish. Never raises."""

    __slots__ = (
        "_finished",
        "_start",
        "_token",
        "config",
        "fields",
        "method",
        "request_id",
        "route",
        "span",
        "tracked",
    )

    def __init__(
        self, config: WebConfig, request_id: str, method: str, route: str | None, tracked: bool
    ) -> None:
        self.config = config
        self.request_id = request_id
        self.method = method
        self.route = route
        #: False for excluded URLs (/metrics, /health): id only, no events or metrics.
        self.tracked = tracked
        self.fields: dict[str, AttributeValue] = {}
        self.span = trace.get_current_span()
        self._start = time.perf_counter()
        self._finished = False
        self._token: Token[str | None] | None = set_request_id(request_id)

    def started(self) -> None:
        """Tag the server span with the request id and log ``request_started``."""
        if not self.tracked:
            return
        try:
            if self.span.is_recording():
                self.span.set_attribute(semconv.AGENTKIT_REQUEST_ID, self.request_id)
                redact_url_attributes(self.span)
            emit_request_started(self.method, self.route, self.request_id, self.fields)
        except Exception:
            _debug.debug("request start telemetry failed", exc_info=True)

    def add_fields(self, result: Any) -> None:
        """Apply a hook's result: span attributes now, event and metrics at finish."""
        try:
            cleaned = self.config.clean_hook_result(result)
            if not cleaned:
                return
            self.fields.update(cleaned)
            if self.span.is_recording():
                self.span.set_attributes(cleaned)
        except Exception:
            _debug.debug("applying hook fields failed", exc_info=True)

    def call_hook_sync(self, request: Any) -> None:
        """Run the configured hook (sync frameworks); its errors are swallowed."""
        hook = self.config.hook
        if hook is None or not self.tracked:
            return
        try:
            result = hook(request)
            if inspect.isawaitable(result):
                _debug.debug("an async hook cannot run in a WSGI app; ignored")
                close = getattr(result, "close", None)
                if callable(close):
                    close()
                return
            self.add_fields(result)
        except Exception:
            _debug.debug("request hook raised; ignored", exc_info=True)

    async def call_hook_async(self, request: Any) -> None:
        """Run the configured hook (async frameworks); its errors are swallowed."""
        hook = self.config.hook
        if hook is None or not self.tracked:
            return
        try:
            result = hook(request)
            if inspect.isawaitable(result):
                result = await result
            self.add_fields(result)
        except Exception:
            _debug.debug("request hook raised; ignored", exc_info=True)

    def record_exception(self, exc: BaseException) -> None:
        """Log an unhandled exception server-side and mark the span as failed."""
        try:
            _log.error(
                "unhandled exception in %s %s",
                self.method,
                self.route or "(unmatched route)",
                exc_info=(type(exc), exc, exc.__traceback__),
                extra={"event": "request_failed"},
            )
            if self.span.is_recording():
                _sanitize.record_exception(
                    self.span, exc, escaped=False, status=type(exc).__qualname__
                )
        except Exception:
            _debug.debug("recording the exception failed", exc_info=True)

    def finish(self, status: int) -> None:
        """Record the request metrics and log ``request_completed`` (once)."""
        if self._finished:
            return
        self._finished = True
        if not self.tracked:
            return
        try:
            latency_ms = (time.perf_counter() - self._start) * 1000.0
            self._record_metrics(status)
            emit_request_completed(
                self.method, self.route, status, latency_ms, self.request_id, self.fields
            )
        except Exception:
            _debug.debug("request completion telemetry failed", exc_info=True)

    def close(self) -> None:
        """Restore the request id that was current before this request."""
        token, self._token = self._token, None
        if token is not None:
            try:
                reset_request_id(token)
            except ValueError:  # reset from another context (streamed body): just clear
                set_request_id(None)

    def _record_metrics(self, status: int) -> None:
        found = instruments(self.config.meter_provider())
        if found is None:
            return
        attributes: dict[str, AttributeValue] = self.config.metric_fields(self.fields)
        attributes[semconv.HTTP_REQUEST_METHOD] = normalize_method(self.method)
        attributes[semconv.AGENTKIT_HTTP_STATUS_CLASS] = status_class(status)
        if self.route is not None:
            attributes[semconv.HTTP_ROUTE] = self.route
        found.requests.add(1, attributes)
        if status >= 400:
            found.errors.add(1, attributes)


def framework_missing(framework: str, extra: str, exc: ImportError) -> ImportError:
    """An ImportError that says which extra to install."""
    return ImportError(
        f"otel_agentkit.web.{framework} needs {framework} and its OpenTelemetry "
        f"instrumentation: pip install 'otel-agentkit[{extra}]' ({exc})"
    )
