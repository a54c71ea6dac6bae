"""Count the outcome of every OTLP export, for the ``otlp_export_check`` health check.

The SDK's exporters log a failed export and return ``FAILURE``; nothing keeps
a count a health check could read. :func:`track` wraps an exporter so each
``export()`` result (or exception) is recorded in an :class:`ExportStats`
before being passed through untouched. ``configure()`` wraps the OTLP
exporters it creates; the stats are ``Telemetry.export_stats``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["ExportStats", "SignalExportStats", "track"]


@dataclass(frozen=True, slots=True)
class SignalExportStats:
    """Export outcomes of one signal since ``configure()``."""

    signal: str
    exports: int = 0
    failures: int = 0
    #: Failed exports since the last successful one.
    consecutive_failures: int = 0
    #: ``time.monotonic()`` of the last success / failure, if any.
    last_success: float | None = None
    last_failure: float | None = None
    #: Exception type of the last failure that raised (``None`` for a plain FAILURE result).
    last_error: str | None = None
    #: Items (spans, log records) in the exports that succeeded.
    delivered: int = 0


class ExportStats:
    """Thread-safe per-signal export counters."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._stats: dict[str, SignalExportStats] = {}

    def watch(self, signal: str) -> None:
        """Report ``signal`` (with zero exports) from now on."""
        with self._lock:
            self._stats.setdefault(signal, SignalExportStats(signal))

    def record(self, signal: str, ok: bool, error: str | None = None, items: int = 0) -> None:
        """Count one export of ``signal`` (of ``items`` spans or log records)."""
        now = self._clock()
        with self._lock:
            s = self._stats.get(signal) or SignalExportStats(signal)
            if ok:
                s = SignalExportStats(
                    signal,
                    s.exports + 1,
                    s.failures,
                    0,
                    now,
                    s.last_failure,
                    s.last_error,
                    s.delivered + items,
                )
            else:
                s = SignalExportStats(
                    signal,
                    s.exports + 1,
                    s.failures + 1,
                    s.consecutive_failures + 1,
                    s.last_success,
                    now,
                    error,
                    s.delivered,
                )
            self._stats[signal] = s

    def snapshot(self) -> dict[str, SignalExportStats]:
        """The current counters per watched signal."""
        with self._lock:
            return dict(self._stats)


class _TrackedSpanExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, stats: ExportStats) -> None:
        self._inner = inner
        self._stats = stats

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self._inner.export(spans)
        except Exception as exc:
            self._stats.record("traces", False, type(exc).__name__)
            raise
        self._stats.record("traces", result is SpanExportResult.SUCCESS, items=len(spans))
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


class _TrackedMetricExporter(MetricExporter):
    def __init__(self, inner: MetricExporter, stats: ExportStats) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self._inner = inner
        self._stats = stats

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        try:
            result = self._inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        except Exception as exc:
            self._stats.record("metrics", False, type(exc).__name__)
            raise
        self._stats.record("metrics", result is MetricExportResult.SUCCESS)
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._inner.shutdown(timeout_millis=timeout_millis, **kwargs)


class _TrackedLogExporter(LogRecordExporter):
    def __init__(self, inner: LogRecordExporter, stats: ExportStats) -> None:
        self._inner = inner
        self._stats = stats

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        try:
            result = self._inner.export(batch)
        except Exception as exc:
            self._stats.record("logs", False, type(exc).__name__)
            raise
        self._stats.record("logs", result is LogRecordExportResult.SUCCESS, items=len(batch))
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def track(signal: str, exporter: Any, stats: ExportStats) -> Any:
    """``exporter`` wrapped so each export of ``signal`` is counted in ``stats``."""
    stats.watch(signal)
    if signal == "traces":
        return _TrackedSpanExporter(exporter, stats)
    if signal == "metrics":
        return _TrackedMetricExporter(exporter, stats)
    return _TrackedLogExporter(exporter, stats)
