"""Build SDK providers, Views, exporters and the Prometheus server from Settings.

Imported only when :func:`otel_agentkit.configure` runs: this is where the
OpenTelemetry SDK and the exporters are loaded.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    ConsoleLogRecordExporter,
    LogRecordExporter,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)

from otel_agentkit import semconv
from otel_agentkit._version import __version__
from otel_agentkit.errors import ConfigurationError
from otel_agentkit.telemetry import _components
from otel_agentkit.telemetry._exportstats import ExportStats, track
from otel_agentkit.telemetry._logbridge import OTelLogHandler
from otel_agentkit.telemetry.settings import SAMPLERS, OtlpSettings, Settings, Signal

_log = logging.getLogger("otel_agentkit")


def build_resource(settings: Settings) -> Resource:
    """The resource every signal carries: service name/version/instance, environment."""
    attributes: dict[str, str] = dict(settings.resource_attributes)
    attributes[semconv.SERVICE_NAME] = settings.service_name
    if settings.service_version:
        attributes[semconv.SERVICE_VERSION] = settings.service_version
    if settings.environment:
        attributes[semconv.DEPLOYMENT_ENVIRONMENT_NAME] = settings.environment
    attributes.setdefault(semconv.SERVICE_INSTANCE_ID, str(uuid.uuid4()))
    attributes.setdefault("telemetry.distro.name", "otel-agentkit")
    attributes.setdefault("telemetry.distro.version", __version__)
    return Resource.create(attributes)


class _CountingBatchSpanProcessor(BatchSpanProcessor):
    """A batch span processor that counts the spans handed to it (``shutdown()`` reports drops)."""

    received = 0

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None and span.context.trace_flags.sampled:
            self.received += 1  # a rare lost increment under threads only blurs a report
        super().on_end(span)


class _CountingBatchLogRecordProcessor(BatchLogRecordProcessor):
    """A batch log processor that counts the records handed to it."""

    received = 0

    def on_emit(self, log_record: Any) -> None:
        self.received += 1
        super().on_emit(log_record)


def build_views() -> list[View]:
    """Views that give each GenAI/DB/HTTP histogram its semconv bucket boundaries."""
    return [
        View(
            instrument_name=name,
            aggregation=ExplicitBucketHistogramAggregation(boundaries=list(spec.buckets)),
        )
        for name, spec in semconv.HISTOGRAMS.items()
    ]


def build_sampler(settings: Settings) -> Sampler:
    """Map the validated sampler name and argument to an SDK sampler."""
    if settings.sampler not in SAMPLERS:
        return _components.sampler(settings.sampler, settings.sampler_arg, settings.sampler_source)
    ratio = 1.0 if settings.sampler_arg is None else float(settings.sampler_arg)
    samplers: dict[str, Sampler] = {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "traceidratio": TraceIdRatioBased(ratio),
        "parentbased_always_on": ParentBased(ALWAYS_ON),
        "parentbased_always_off": ParentBased(ALWAYS_OFF),
        "parentbased_traceidratio": ParentBased(TraceIdRatioBased(ratio)),
    }
    return samplers[settings.sampler]


def _otlp_kwargs(otlp: OtlpSettings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "endpoint": otlp.endpoint,
        "headers": dict(otlp.headers),
        "timeout": otlp.timeout,
    }
    if otlp.protocol == "grpc":
        import grpc

        kwargs["insecure"] = otlp.insecure
        kwargs["compression"] = (
            grpc.Compression.Gzip if otlp.compression == "gzip" else grpc.Compression.NoCompression
        )
    else:
        from opentelemetry.exporter.otlp.proto.http import Compression

        kwargs["compression"] = Compression(otlp.compression)
    return kwargs


def _otlp_exporter(signal: Signal, otlp: OtlpSettings) -> Any:
    kwargs = _otlp_kwargs(otlp)
    if otlp.protocol == "grpc":
        if signal == "traces":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            return OTLPSpanExporter(**kwargs)
        if signal == "metrics":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

            return OTLPMetricExporter(**kwargs)
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        return OTLPLogExporter(**kwargs)
    if signal == "traces":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpSpanExporter,
        )

        return HttpSpanExporter(**kwargs)
    if signal == "metrics":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter as HttpMetricExporter,
        )

        return HttpMetricExporter(**kwargs)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import (
        OTLPLogExporter as HttpLogExporter,
    )

    return HttpLogExporter(**kwargs)


@dataclass
class Built:
    """Everything :func:`build` made, before anything is installed globally."""

    resource: Resource
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    prometheus_reader: MetricReader | None = None
    log_handler: logging.Handler | None = None
    span_exporters: list[SpanExporter] = field(default_factory=list)
    export_stats: ExportStats = field(default_factory=ExportStats)
    #: (signal, batch processor counting what it received) of each OTLP export pipeline.
    counted: list[tuple[str, Any]] = field(default_factory=list)


def build(
    settings: Settings,
    *,
    span_processors: Sequence[SpanProcessor] = (),
    metric_readers: Sequence[MetricReader] = (),
    log_processors: Sequence[LogRecordProcessor] = (),
    prometheus_registry: Any = None,
) -> Built:
    """Create providers and exporters for ``settings`` without installing them."""
    resource = build_resource(settings)
    export_stats = ExportStats()  # outcomes of OTLP exports, for the health check

    counted: list[tuple[str, Any]] = []
    # shutdown_on_exit=False: our atexit shutdown() flushes all three within its deadline;
    # the SDK's own exit handlers would flush again, one signal after another, unbounded.
    tracer_provider = TracerProvider(
        resource=resource, sampler=build_sampler(settings), shutdown_on_exit=False
    )
    span_exporters: list[SpanExporter] = []
    for name in settings.traces_exporters:
        if name == "tree":  # printed as each trace ends, not up to 5 s later by a batch
            from otel_agentkit.telemetry.tree import TreeSpanExporter

            tree = TreeSpanExporter()
            span_exporters.append(tree)
            tracer_provider.add_span_processor(SimpleSpanProcessor(tree))
            continue
        if name == "console":
            console = ConsoleSpanExporter()
            span_exporters.append(console)
            tracer_provider.add_span_processor(BatchSpanProcessor(console))
            continue
        exporter: SpanExporter = (
            track("traces", _otlp_exporter("traces", settings.otlp["traces"]), export_stats)
            if name == "otlp"
            else _components.exporter("traces", name, settings.exporter_sources["traces"])
        )
        span_exporters.append(exporter)
        span_processor = _CountingBatchSpanProcessor(exporter)
        counted.append(("traces", span_processor))
        tracer_provider.add_span_processor(span_processor)
    for processor in span_processors:
        tracer_provider.add_span_processor(processor)

    readers: list[MetricReader] = list(metric_readers)
    prometheus_reader: MetricReader | None = None
    interval_ms = settings.metric_export_interval * 1000
    for name in settings.metrics_exporters:
        if name == "prometheus":
            if settings.metrics_multiprocess_dir is not None:
                from otel_agentkit.telemetry._multiproc import MultiprocessMetricReader

                prometheus_reader = MultiprocessMetricReader(
                    settings.metrics_multiprocess_dir, resource, prometheus_registry
                )
                readers.append(prometheus_reader)
                continue

            from otel_agentkit.telemetry._prometheus import PrometheusReader

            if prometheus_registry is None:
                from prometheus_client import REGISTRY

                prometheus_registry = REGISTRY
            prometheus_reader = PrometheusReader(prometheus_registry)
            readers.append(prometheus_reader)
            continue
        metric_exporter: MetricExporter | MetricReader = (
            ConsoleMetricExporter()
            if name == "console"
            else track("metrics", _otlp_exporter("metrics", settings.otlp["metrics"]), export_stats)
            if name == "otlp"
            else _components.exporter("metrics", name, settings.exporter_sources["metrics"])
        )
        if isinstance(metric_exporter, MetricReader):  # a pull exporter from an entry point
            readers.append(metric_exporter)
            continue
        readers.append(
            PeriodicExportingMetricReader(metric_exporter, export_interval_millis=interval_ms)
        )
    # Multi-process mode counts measurements through the exemplar filter (to write
    # only when something was recorded); otherwise the SDK's default filter.
    exemplar_filter = getattr(prometheus_reader, "exemplar_filter", None)
    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=readers,
        views=build_views(),
        exemplar_filter=exemplar_filter,
        shutdown_on_exit=False,
    )

    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    for name in settings.logs_exporters:
        if name == "console":
            logger_provider.add_log_record_processor(
                BatchLogRecordProcessor(ConsoleLogRecordExporter())
            )
            continue
        log_exporter: LogRecordExporter = (
            track("logs", _otlp_exporter("logs", settings.otlp["logs"]), export_stats)
            if name == "otlp"
            else _components.exporter("logs", name, settings.exporter_sources["logs"])
        )
        log_processor_ = _CountingBatchLogRecordProcessor(log_exporter)
        counted.append(("logs", log_processor_))
        logger_provider.add_log_record_processor(log_processor_)
    for log_processor in log_processors:
        logger_provider.add_log_record_processor(log_processor)
    handler = OTelLogHandler(logger_provider) if settings.logs_exporters or log_processors else None

    return Built(
        resource=resource,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        prometheus_reader=prometheus_reader,
        log_handler=handler,
        span_exporters=span_exporters,
        export_stats=export_stats,
        counted=counted,
    )


def start_prometheus_server(
    settings: Settings, registry: Any = None
) -> tuple[Any, Any, int] | None:
    """Serve ``/metrics`` on a daemon thread; return (server, thread, bound port).

    In multi-process mode a port already in use is expected (another worker
    of the same server bound it first and serves the merged metrics of all of
    them): None is returned instead of raising.
    """
    from prometheus_client import start_http_server

    from otel_agentkit.telemetry._prometheus import served

    try:
        server, thread = start_http_server(
            settings.prometheus_port,
            addr=settings.prometheus_host,
            registry=served(registry),
        )
    except OSError as exc:
        import errno
        import socket

        if settings.metrics_multiprocess_dir is not None and exc.errno == errno.EADDRINUSE:
            _log.info(
                "otel-agentkit: %s:%s is taken, presumably by another worker; it serves "
                "the merged metrics of every process writing to %s",
                settings.prometheus_host,
                settings.prometheus_port,
                settings.metrics_multiprocess_dir,
            )
            return None
        reason = exc.strerror or str(exc)
        if isinstance(exc, socket.gaierror):
            raise ConfigurationError(
                settings.prometheus_host_source,
                settings.prometheus_host,
                f"cannot resolve the host to serve /metrics on: {reason}",
            ) from None
        raise ConfigurationError(
            settings.prometheus_port_source,
            settings.prometheus_port,
            f"cannot serve /metrics on {settings.prometheus_host}:{settings.prometheus_port}: "
            f"{reason}; choose another port (prometheus_port= or "
            "OTEL_EXPORTER_PROMETHEUS_PORT; 0 picks a free one), or prometheus_server=False "
            "(AGENTKIT_PROMETHEUS_SERVER=false) when the app serves /metrics itself",
        ) from None
    return server, thread, int(server.server_address[1])
