"""``configure()``, ``shutdown()`` and the :class:`Telemetry` handle.

Importing this module does not import the OpenTelemetry SDK, nor the
settings parser; calling :func:`configure` does.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from otel_agentkit import _providers, semconv
from otel_agentkit import logs as _logs
from otel_agentkit.errors import AgentkitError

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

    from otel_agentkit.telemetry._exportstats import ExportStats
    from otel_agentkit.telemetry._setup import Built
    from otel_agentkit.telemetry.settings import Settings

__all__ = [
    "ShutdownReport",
    "Telemetry",
    "clear_multiprocess_dir",
    "configure",
    "get_telemetry",
    "shutdown",
]

_log = logging.getLogger("otel_agentkit")
_lock = threading.RLock()
_current: Telemetry | None = None
_atexit_registered = False


@dataclass(frozen=True)
class ShutdownReport:
    """What :meth:`Telemetry.shutdown` flushed within its deadline, and what it dropped."""

    #: Seconds the shutdown took.
    seconds: float
    #: The deadline it had, in seconds.
    timeout: float
    #: Signals (``traces``, ``metrics``, ``logs``) still flushing when the deadline passed.
    unfinished: tuple[str, ...] = ()
    #: Signal -> spans or log records handed to an OTLP exporter and not delivered
    #: (the collector refused them, or they were still queued at the deadline).
    dropped: Mapping[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when everything was flushed in time and nothing was dropped."""
        return not self.unfinished and not any(self.dropped.values())


class Telemetry:
    """What :func:`configure` installed: providers, resource and the Prometheus endpoint.

    Returned by :func:`configure` (the same object on every call) and by
    :func:`get_telemetry`.
    """

    def __init__(self, settings: Settings, built: Built, *, installed: bool) -> None:
        self.settings: Settings = settings
        self.resource: Resource = built.resource
        self.tracer_provider: TracerProvider = built.tracer_provider
        self.meter_provider: MeterProvider = built.meter_provider
        self.logger_provider: LoggerProvider = built.logger_provider
        #: True when these providers are the process-wide OpenTelemetry globals.
        self.installed_globally: bool = installed
        #: Outcomes of the OTLP exports (read by ``otel_agentkit.health.otlp_export_check``).
        self.export_stats: ExportStats = built.export_stats
        self._counted = built.counted
        self._prometheus_reader = built.prometheus_reader
        self._registry: Any = None
        self._log_handler = built.log_handler
        self._server: Any = None
        self._thread: Any = None
        self._port: int | None = None
        self._shut_down = False
        self._shutdown_lock = threading.Lock()

    # -- Prometheus ---------------------------------------------------------

    @property
    def prometheus_enabled(self) -> bool:
        """Whether a Prometheus pull reader is part of the meter provider."""
        return self._prometheus_reader is not None

    @property
    def prometheus_port(self) -> int | None:
        """The port the standalone ``/metrics`` server listens on, if it runs."""
        return self._port

    @property
    def prometheus_url(self) -> str | None:
        """``http://host:port/metrics`` of the standalone server, if it runs."""
        if self._port is None:
            return None
        host = self.settings.prometheus_host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._port}/metrics"

    def render_metrics(self, accept: str | None = None) -> tuple[bytes, str]:
        """Render the Prometheus exposition for a web framework's ``/metrics`` route.

        Returns ``(body, content_type)``; OpenMetrics when ``accept`` asks for it
        (histogram buckets and counters then carry exemplars: the trace and span
        id of a recorded measurement), the Prometheus text format otherwise.
        """
        if self._prometheus_reader is None:
            raise AgentkitError(
                "the Prometheus metrics exporter is not enabled; add 'prometheus' to "
                "metrics_exporter / OTEL_METRICS_EXPORTER"
            )
        from prometheus_client.exposition import choose_encoder

        from otel_agentkit.telemetry._prometheus import served

        encoder, content_type = choose_encoder(accept or "")
        return encoder(served(self._registry)), content_type

    @property
    def metrics_multiprocess_dir(self) -> str | None:
        """The shared directory of multi-process mode, or None when it is off.

        When set, ``render_metrics()`` and the standalone server show the
        metrics of every process writing there, merged.
        """
        if self._prometheus_reader is None:
            return None
        return self.settings.metrics_multiprocess_dir

    # -- lifecycle ----------------------------------------------------------

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export everything buffered now; True when every provider flushed in time."""
        results = [
            self.tracer_provider.force_flush(timeout_millis),
            self.meter_provider.force_flush(timeout_millis),
            self.logger_provider.force_flush(timeout_millis),
        ]
        return all(results)

    def shutdown(self, timeout: float | None = None) -> ShutdownReport:
        """Flush and stop exporters, the ``/metrics`` server and the log bridge. Idempotent.

        The three signals are flushed in parallel, and the whole takes at most
        ``timeout`` seconds (default: the ``shutdown_timeout`` setting, 5 s), so
        a collector that is down or slow cannot hold the process past its
        orchestrator's grace period. What could not be delivered is returned
        (and logged as a warning); what was still exporting at the deadline is
        left to daemon threads that end with the process.
        """
        started = time.monotonic()
        limit = self.settings.shutdown_timeout if timeout is None else timeout
        with self._shutdown_lock:
            if self._shut_down:
                return ShutdownReport(0.0, limit)
            self._shut_down = True
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self._port = None
        deadline = started + limit
        threads = [
            _stop_in_thread(signal, stop)
            for signal, stop in (
                ("traces", self.tracer_provider.shutdown),
                ("metrics", lambda: self.meter_provider.shutdown(timeout_millis=limit * 1000)),
                ("logs", self.logger_provider.shutdown),
            )
        ]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        report = ShutdownReport(
            seconds=time.monotonic() - started,
            timeout=limit,
            unfinished=tuple(t.name.rpartition(" ")[2] for t in threads if t.is_alive()),
            dropped=self._dropped(),
        )
        if not report.complete:
            _log.warning(
                "otel-agentkit: shutdown after %.1f s (deadline %.1f s): %s",
                report.seconds,
                limit,
                _describe_losses(report),
            )
        from otel_agentkit import _instruments

        _instruments.set_cardinality_limit(None)
        if self.installed_globally:
            from otel_agentkit.telemetry import _globals

            _globals.reset()
        return report

    def _dropped(self) -> dict[str, int]:
        """Signal -> items the OTLP pipelines received and did not deliver."""
        delivered = self.export_stats.snapshot()
        received: dict[str, int] = {}
        for signal, processor in self._counted:
            received[signal] = received.get(signal, 0) + processor.received
        return {
            signal: max(0, count - (delivered[signal].delivered if signal in delivered else 0))
            for signal, count in received.items()
        }

    def _start(self, registry: Any) -> None:
        from otel_agentkit.telemetry import _setup

        self._registry = registry
        if self._prometheus_reader is not None and self.settings.prometheus_server:
            started = _setup.start_prometheus_server(self.settings, registry)
            if started is not None:
                self._server, self._thread, self._port = started
        if self._log_handler is not None:
            from otel_agentkit.telemetry._logbridge import is_bridge

            root = logging.getLogger()
            if any(
                is_bridge(h, self.logger_provider, via_proxy=self.installed_globally)
                for h in root.handlers
            ):
                # Another handler already feeds this provider: a second one
                # would export every record twice.
                _log.info(
                    "otel-agentkit: the root logger already sends records to OpenTelemetry; "
                    "not adding a second bridge"
                )
                self._log_handler = None
            else:
                root.addHandler(self._log_handler)

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"Telemetry(service_name={s.service_name!r}, traces={list(s.traces_exporters)}, "
            f"metrics={list(s.metrics_exporters)}, logs={list(s.logs_exporters)}, "
            f"prometheus_url={self.prometheus_url!r})"
        )


def configure(
    service_name: str | None = None,
    *,
    service_version: str | None = None,
    environment: str | None = None,
    resource_attributes: Mapping[str, str] | None = None,
    otlp_endpoint: str | None = None,
    otlp_protocol: str | None = None,
    otlp_headers: Mapping[str, str] | None = None,
    otlp_compression: str | None = None,
    otlp_timeout: float | None = None,
    traces_exporter: str | Sequence[str] | None = None,
    metrics_exporter: str | Sequence[str] | None = None,
    logs_exporter: str | Sequence[str] | None = None,
    prometheus_host: str | None = None,
    prometheus_port: int | None = None,
    prometheus_server: bool | None = None,
    prometheus_registry: Any = None,
    sampler: str | None = None,
    sampler_arg: float | None = None,
    metric_export_interval: float | None = None,
    metrics_multiprocess_dir: str | os.PathLike[str] | None = None,
    metrics_cardinality_limit: int | None = None,
    shutdown_timeout: float | None = None,
    span_processors: Sequence[SpanProcessor] = (),
    metric_readers: Sequence[MetricReader] = (),
    log_processors: Sequence[LogRecordProcessor] = (),
    log_level: str | int | None = None,
    log_format: str | None = None,
    log_file: str | os.PathLike[str] | None = None,
) -> Telemetry:
    """Build and install tracer, meter and logger providers with exporters.

    Every argument is optional; an argument left as ``None`` is taken from the
    standard OpenTelemetry environment variable (``OTEL_SERVICE_NAME``,
    ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_TRACES_EXPORTER``, ...) or the
    documented ``AGENTKIT_*`` one, else from the default. See
    ``docs/configuration.md`` for the full table.

    Args:
        service_name: ``service.name`` of the resource.
        service_version: ``service.version`` (env ``AGENTKIT_SERVICE_VERSION``).
        environment: ``deployment.environment.name`` (env ``AGENTKIT_ENVIRONMENT``).
        resource_attributes: extra resource attributes, merged over
            ``OTEL_RESOURCE_ATTRIBUTES``.
        otlp_endpoint: base URL of an OTLP receiver (Jaeger, a Collector, ...),
            e.g. ``http://localhost:4317``. Setting it turns OTLP export on for
            every signal unless the exporter lists say otherwise.
        otlp_protocol: ``grpc`` or ``http/protobuf`` (default).
        otlp_headers: headers sent with every export (e.g. auth); never logged.
        otlp_compression: ``gzip`` or ``none`` (``deflate`` for HTTP too).
        otlp_timeout: export timeout in seconds.
        traces_exporter: ``otlp``, ``console``, ``none``, or a list of them.
        metrics_exporter: ``prometheus``, ``otlp``, ``console``, ``none``, or a list.
        logs_exporter: ``otlp``, ``console``, ``none``, or a list.
        prometheus_host: address the standalone ``/metrics`` server binds to.
        prometheus_port: its port (0 picks a free one; see
            :attr:`Telemetry.prometheus_port`).
        prometheus_server: start the standalone server (default True); False
            when a web app serves ``/metrics`` itself.
        prometheus_registry: a ``prometheus_client.CollectorRegistry`` to
            register with instead of the global ``REGISTRY``.
        sampler: an ``OTEL_TRACES_SAMPLER`` name (default ``parentbased_always_on``).
        sampler_arg: the ratio for the ``*traceidratio`` samplers.
        metric_export_interval: seconds between pushes of OTLP/console metrics.
        metrics_multiprocess_dir: a directory shared by the worker processes of
            a pre-fork server (gunicorn/uvicorn ``--workers N``); turns on
            multi-process mode: each process writes its metrics there and a
            Prometheus scrape of any of them shows all of them merged (env
            ``AGENTKIT_METRICS_MULTIPROC_DIR``, else ``PROMETHEUS_MULTIPROC_DIR``).
            It must exist and be writable. See :func:`clear_multiprocess_dir`.
        metrics_cardinality_limit: the most distinct attribute sets each
            otel-agentkit instrument keeps (env
            ``AGENTKIT_METRICS_CARDINALITY_LIMIT``, default 2000); points with
            a new set past it go to one series labelled
            ``otel.metric.overflow=true``.
        shutdown_timeout: seconds :func:`shutdown` may take in all (env
            ``AGENTKIT_SHUTDOWN_TIMEOUT``, default 5); the three signals are
            flushed in parallel within it.
        span_processors: extra span processors to add to the tracer provider.
        metric_readers: extra metric readers to add to the meter provider.
        log_processors: extra log record processors to add to the logger provider.
        log_level: with ``log_format`` / ``log_file``, also set up logging
            through :func:`otel_agentkit.logs.configure_logging` (JSON or text
            lines with trace, span and request ids). Done when any of the three
            is given or ``AGENTKIT_LOG_LEVEL`` / ``AGENTKIT_LOG_FORMAT`` /
            ``AGENTKIT_LOG_FILE`` is set; ``shutdown()`` leaves it in place.
        log_format: ``json`` or ``text``.
        log_file: a path to append log lines to (default stdout).

    Returns:
        The :class:`Telemetry` handle. A second call warns and returns the same
        handle without installing anything new.

    Raises:
        ConfigurationError: a setting has a value that cannot be used; the
            message names the setting and the value. Nothing is installed.
    """
    global _current, _atexit_registered
    with _lock:
        if _current is not None:
            warnings.warn(
                "otel_agentkit.configure() was already called; returning the existing "
                "Telemetry and ignoring the new arguments (call shutdown() first to reconfigure)",
                RuntimeWarning,
                stacklevel=2,
            )
            return _current

        from otel_agentkit.telemetry.settings import resolve_settings

        settings = resolve_settings(
            service_name,
            service_version=service_version,
            environment=environment,
            resource_attributes=resource_attributes,
            otlp_endpoint=otlp_endpoint,
            otlp_protocol=otlp_protocol,
            otlp_headers=otlp_headers,
            otlp_compression=otlp_compression,
            otlp_timeout=otlp_timeout,
            traces_exporter=traces_exporter,
            metrics_exporter=metrics_exporter,
            logs_exporter=logs_exporter,
            prometheus_host=prometheus_host,
            prometheus_port=prometheus_port,
            prometheus_server=prometheus_server,
            sampler=sampler,
            sampler_arg=sampler_arg,
            metric_export_interval=metric_export_interval,
            metrics_multiprocess_dir=metrics_multiprocess_dir,
            shutdown_timeout=shutdown_timeout,
            metrics_cardinality_limit=metrics_cardinality_limit,
        )

        log_handler: logging.Handler | None = None
        if (
            log_level is not None
            or log_format is not None
            or log_file is not None
            or any(os.environ.get(name, "").strip() for name in _logs.ENV_LOG_SETTINGS)
        ):
            log_settings = _logs.resolve_logging_settings(
                log_level, log_format, log_file, arg_names=("log_level", "log_format", "log_file")
            )
            log_handler = _logs._make_handler(log_settings)

        from otel_agentkit.telemetry import _globals, _setup

        try:
            built = _setup.build(
                settings,
                span_processors=span_processors,
                metric_readers=metric_readers,
                log_processors=log_processors,
                prometheus_registry=prometheus_registry,
            )
        except BaseException:
            if log_handler is not None:
                log_handler.close()  # the log file was opened early, to fail before installing
            raise
        taken = [] if settings.disabled else _providers.installed()
        telemetry = Telemetry(settings, built, installed=not settings.disabled and not taken)
        try:
            telemetry._start(prometheus_registry)
        except BaseException:
            telemetry.installed_globally = False
            telemetry.shutdown()
            if log_handler is not None:
                log_handler.close()
            raise
        if taken:
            _log.warning(
                "otel-agentkit: a global %s was already installed by another library; "
                "leaving it in place, so instrumentations report there, not to %r",
                "/".join(taken),
                telemetry,
            )
        elif not settings.disabled:
            _globals.install(built.tracer_provider, built.meter_provider, built.logger_provider)
        from otel_agentkit import _instruments

        _instruments.set_cardinality_limit(settings.metrics_cardinality_limit)
        _current = telemetry
        if log_handler is not None:
            service = _providers.resource_attribute(semconv.SERVICE_NAME, built.tracer_provider)
            _logs._install(log_handler, log_settings, service_name=service)
        if not _atexit_registered:
            atexit.register(shutdown)
            _atexit_registered = True
        _log.debug("otel-agentkit configured: %r", telemetry)
        return telemetry


def _stop_in_thread(signal: str, stop: Any) -> threading.Thread:
    """Run one provider's ``shutdown`` on a daemon thread (abandoned at the deadline)."""

    def run() -> None:
        try:
            stop()
        except Exception:  # never let a flaky exporter break the host's exit
            _log.debug("%s provider shutdown failed", signal, exc_info=True)

    thread = threading.Thread(target=run, name=f"otel-agentkit shutdown {signal}", daemon=True)
    thread.start()
    return thread


def _describe_losses(report: ShutdownReport) -> str:
    parts = [f"{count} {signal} not delivered" for signal, count in report.dropped.items() if count]
    if report.unfinished:
        parts.append(f"still exporting: {', '.join(report.unfinished)}")
    return "; ".join(parts)


def get_telemetry() -> Telemetry | None:
    """The handle :func:`configure` returned, or None before it ran / after shutdown."""
    return _current


def shutdown(timeout: float | None = None) -> ShutdownReport | None:
    """Flush and stop everything :func:`configure` started, within one deadline.

    ``timeout`` (seconds) overrides the ``shutdown_timeout`` setting (env
    ``AGENTKIT_SHUTDOWN_TIMEOUT``, default 5). Returns what was dropped (see
    :class:`ShutdownReport`), or None when nothing was configured. Safe to call twice.
    """
    global _current
    with _lock:
        telemetry, _current = _current, None
    if telemetry is not None:
        return telemetry.shutdown(timeout)
    return None


def clear_multiprocess_dir(path: str | os.PathLike[str]) -> int:
    """Delete the metric state files in a multi-process directory; return how many.

    Call it once when the server starts, before any worker runs (gunicorn's
    ``on_starting`` hook), so counters restart from zero with the new
    deployment instead of adding to the last one. Files of processes that
    exited are otherwise kept on purpose: their counters stay in the sums, so
    a worker restart never makes a counter go backwards. Only files this
    package wrote are removed (``metrics-*.json``); other files, such as
    ``prometheus_client``'s ``*.db`` files, are left alone.

    Raises:
        ConfigurationError: ``path`` is not an existing directory.
    """
    from otel_agentkit.errors import ConfigurationError
    from otel_agentkit.telemetry._multiproc import clear_directory

    if not os.path.isdir(path):
        raise ConfigurationError("path", os.fspath(path), "not an existing directory")
    return clear_directory(path)
