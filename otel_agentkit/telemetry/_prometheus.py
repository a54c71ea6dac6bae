"""The Prometheus pull path: SDK metrics as ``prometheus_client`` families, with exemplars.

:func:`families` translates collected ``MetricsData`` the way the stock
OpenTelemetry Prometheus exporter does (same metric names, unit suffixes,
``otel_scope_*`` labels and ``target_info``), and adds what the stock one
cannot write: each histogram bucket and counter carries the trace id and span
id of a measurement the SDK's exemplar reservoir kept. ``prometheus_client``
writes them when the scraper asks for OpenMetrics
(``Accept: application/openmetrics-text``) and leaves them out of the plain
text format, which is otherwise unchanged.

:class:`PrometheusReader` is the single-process reader: a scrape collects
once and translates that one collection (an earlier ``force_flush()`` cannot
make a scrape show a series twice). :class:`ServedRegistry` is what the
``/metrics`` endpoints serve: the registry minus the families that would say
the same thing twice under two names (see :data:`DUPLICATES`).
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final

from opentelemetry.exporter.prometheus._mapping import (
    map_unit,
    sanitize_attribute,
    sanitize_full_name,
)
from opentelemetry.sdk.metrics import (
    Counter,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics import (
    Histogram as HistogramInstrument,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    MetricReader,
    MetricsData,
    Sum,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.core import (
    Metric as PromMetric,
)
from prometheus_client.samples import Exemplar as PromExemplar

from otel_agentkit import semconv

__all__ = ["DUPLICATES", "PrometheusReader", "ServedRegistry", "families"]

_log = logging.getLogger("otel_agentkit")

_CUMULATIVE: Final = AggregationTemporality.CUMULATIVE
#: Every instrument kind, cumulative: what a Prometheus reader needs.
CUMULATIVE_TEMPORALITY: Final[dict[type, AggregationTemporality]] = {
    Counter: _CUMULATIVE,
    UpDownCounter: _CUMULATIVE,
    HistogramInstrument: _CUMULATIVE,
    ObservableCounter: _CUMULATIVE,
    ObservableUpDownCounter: _CUMULATIVE,
    ObservableGauge: _CUMULATIVE,
}

#: Metrics that ``/metrics`` shows once although two sources report them.
#: ``prometheus_client``'s default process collector repeats otel-agentkit's
#: ``process.memory.usage`` and ``process.cpu.time`` (which work in
#: multi-process mode and are on the dashboard): its families are left out.
#: The OpenTelemetry ``process.unix.file_descriptor.count`` would be
#: ``process_unix_file_descriptor_count``, a ``_count`` name Prometheus keeps
#: for histograms: ``process_open_fds`` reports the same count and stays.
DUPLICATES: Final = {
    "otel": frozenset({semconv.PROCESS_OPEN_FILE_DESCRIPTOR_COUNT}),
    "prometheus_client": frozenset({"process_resident_memory_bytes", "process_cpu_seconds"}),
}

_TARGET_INFO: Final = "target"
_SCOPE_NAME: Final = "otel_scope_name"
_SCOPE_VERSION: Final = "otel_scope_version"
_SCOPE_SCHEMA_URL: Final = "otel_scope_schema_url"


def _label_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _exemplar(exemplar: Any) -> PromExemplar | None:
    """An OpenTelemetry exemplar as an OpenMetrics one (trace and span id), if it has a trace."""
    trace_id, span_id = exemplar.trace_id, exemplar.span_id
    if not trace_id or not span_id:
        return None
    return PromExemplar(
        {"trace_id": f"{trace_id:032x}", "span_id": f"{span_id:016x}"},
        exemplar.value,
        exemplar.time_unix_nano / 1e9,
    )


def _bucket_exemplars(exemplars: Sequence[Any], bounds: Sequence[float]) -> dict[int, PromExemplar]:
    """Bucket index -> the latest exemplar whose value falls in that bucket."""
    by_bucket: dict[int, tuple[int, PromExemplar]] = {}
    for exemplar in exemplars:
        converted = _exemplar(exemplar)
        if converted is None:
            continue
        index = bisect.bisect_left(bounds, exemplar.value)  # bucket i holds (b[i-1], b[i]]
        seen = by_bucket.get(index)
        if seen is None or exemplar.time_unix_nano >= seen[0]:
            by_bucket[index] = (exemplar.time_unix_nano, converted)
    return {index: pair[1] for index, pair in by_bucket.items()}


def _latest_exemplar(exemplars: Sequence[Any]) -> PromExemplar | None:
    best = None
    for exemplar in exemplars:
        newer = best is None or exemplar.time_unix_nano >= best.time_unix_nano
        if newer and _exemplar(exemplar) is not None:
            best = exemplar
    return None if best is None else _exemplar(best)


class _Family:
    """The points of one Prometheus family, gathered before labels are known."""

    __slots__ = ("description", "kind", "name", "rows", "unit")

    def __init__(self, kind: str, name: str, description: str, unit: str) -> None:
        self.kind = kind
        self.name = name
        self.description = description
        self.unit = unit
        self.rows: list[tuple[dict[str, str], Any]] = []

    def build(self) -> PromMetric:
        keys = sorted({key for labels, _ in self.rows for key in labels})
        family: PromMetric
        if self.kind == "histogram":
            family = HistogramMetricFamily(self.name, self.description, labels=keys, unit=self.unit)
            for labels, point in self.rows:
                bounds = point.explicit_bounds
                exemplars = _bucket_exemplars(point.exemplars or (), bounds)
                buckets: list[Any] = []
                total = 0
                for index, count in enumerate(point.bucket_counts):
                    total += count
                    le = f"{bounds[index]}" if index < len(bounds) else "+Inf"
                    exemplar = exemplars.get(index)
                    buckets.append((le, total) if exemplar is None else (le, total, exemplar))
                family.add_metric([labels.get(k, "") for k in keys], buckets, point.sum)
        elif self.kind == "counter":
            family = CounterMetricFamily(self.name, self.description, labels=keys, unit=self.unit)
            for labels, point in self.rows:
                family.add_metric(
                    [labels.get(k, "") for k in keys],
                    point.value,
                    exemplar=_latest_exemplar(point.exemplars or ()),
                )
        else:
            family = GaugeMetricFamily(self.name, self.description, labels=keys, unit=self.unit)
            for labels, point in self.rows:
                family.add_metric([labels.get(k, "") for k in keys], point.value)
        return family


def _target_info(data: MetricsData) -> PromMetric | None:
    attributes: dict[str, str] = {}
    for resource_metrics in data.resource_metrics:
        for key, value in resource_metrics.resource.attributes.items():
            attributes[sanitize_attribute(key)] = _label_value(value)
    if not attributes:
        return None
    info = InfoMetricFamily(_TARGET_INFO, "Target metadata", labels=list(attributes))
    info.add_metric(list(attributes), attributes)
    return info


def families(data: MetricsData, *, target_info: bool = True) -> list[PromMetric]:
    """Prometheus families for ``data``: the stock exporter's names and labels, plus exemplars.

    Up-down counters (non-monotonic cumulative sums) become gauges, as the
    OpenTelemetry compatibility specification asks; delta data and
    exponential histograms are skipped (a Prometheus reader never gets them).
    """
    skip = DUPLICATES["otel"]
    gathered: dict[tuple[str, str, str, str], _Family] = {}
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope
            scope_labels = {
                sanitize_attribute("otel_scope_" + k): _label_value(v)
                for k, v in (scope.attributes or {}).items()
            }
            scope_labels[_SCOPE_NAME] = scope.name or ""
            scope_labels[_SCOPE_VERSION] = scope.version or ""
            scope_labels[_SCOPE_SCHEMA_URL] = scope.schema_url or ""
            for metric in scope_metrics.metrics:
                if metric.name in skip:
                    continue
                points = metric.data
                if isinstance(points, Histogram):
                    kind = "histogram"
                elif isinstance(points, Sum):
                    kind = "counter" if points.is_monotonic else "gauge"
                elif isinstance(points, Gauge):
                    kind = "gauge"
                else:
                    continue
                if isinstance(points, Sum | Histogram) and (
                    points.aggregation_temporality != _CUMULATIVE
                ):
                    continue
                name = sanitize_full_name(metric.name)
                description = metric.description or ""
                unit = map_unit(metric.unit or "")
                key = (kind, name, description, unit)
                family = gathered.get(key)
                if family is None:
                    family = gathered[key] = _Family(kind, name, description, unit)
                rows = family.rows
                for point in points.data_points:
                    labels = dict(scope_labels)
                    for attribute, value in (point.attributes or {}).items():
                        labels[sanitize_attribute(attribute)] = _label_value(value)
                    rows.append((labels, point))
    built: list[PromMetric] = []
    if target_info:
        info = _target_info(data)
        if info is not None:
            built.append(info)
    for family in gathered.values():
        try:
            built.append(family.build())
        except ValueError:  # a name prometheus_client refuses: leave that family out
            _log.debug("otel-agentkit: cannot expose %s", family.name, exc_info=True)
    return built


class MetricsCollector:
    """A ``prometheus_client`` collector that translates what ``snapshot()`` returns."""

    def __init__(self, snapshot: Callable[[], MetricsData | None]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[PromMetric]:
        """Collect now and yield the translated families; never fails a scrape."""
        try:
            data = self._snapshot()
        except Exception:
            _log.debug("otel-agentkit: collecting metrics for a scrape failed", exc_info=True)
            return
        if data is not None:
            yield from families(data)

    def describe(self) -> Sequence[PromMetric]:
        """Nothing up front: keeps the registry from collecting at registration."""
        return []


class PrometheusReader(MetricReader):
    """Pull reader for one process: each scrape collects once and serves that collection.

    Registers its collector with ``registry`` (a ``CollectorRegistry``).
    """

    def __init__(self, registry: Any) -> None:
        super().__init__(preferred_temporality=dict(CUMULATIVE_TEMPORALITY))
        self._registry = registry
        self._lock = threading.Lock()
        self._latest: MetricsData | None = None
        self.collector = MetricsCollector(self.snapshot)
        registry.register(self.collector)

    def _receive_metrics(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> None:
        # Replaced, never queued: a force_flush() between two scrapes collects
        # too, and the next scrape must show each series once.
        if metrics_data is not None:
            self._latest = metrics_data

    def snapshot(self) -> MetricsData | None:
        """Collect now and return that collection."""
        with self._lock:
            self.collect()
            return self._latest

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Stop serving: unregister the collector."""
        with contextlib.suppress(KeyError):
            self._registry.unregister(self.collector)


class _Filtered:
    """``collect()`` of a registry (or restricted registry) minus the duplicate families."""

    def __init__(self, source: Any) -> None:
        self._source = source

    def collect(self) -> Iterable[PromMetric]:
        skip = DUPLICATES["prometheus_client"]
        return (m for m in self._source.collect() if m.name not in skip)


class ServedRegistry(_Filtered):
    """What otel-agentkit's ``/metrics`` endpoints serve: ``registry`` without duplicates.

    The OpenTelemetry metrics are registered in ``registry`` (so anything else
    serving it shows them too); this view leaves out the ``prometheus_client``
    families listed in :data:`DUPLICATES`.
    """

    def restricted_registry(self, names: Iterable[str]) -> _Filtered:
        """The ``name[]`` filter of ``prometheus_client``'s HTTP server, duplicates still out."""
        return _Filtered(self._source.restricted_registry(names))


def served(registry: Any) -> ServedRegistry:
    """The view of ``registry`` (None: the global ``REGISTRY``) that ``/metrics`` serves."""
    if registry is None:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    return ServedRegistry(registry)
