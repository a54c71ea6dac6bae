"""Multi-process (pre-fork) Prometheus metrics: one state file per process, merged at scrape.

Under gunicorn / uvicorn ``--workers N`` each worker has its own meter
provider, so the stock pull reader would answer a scrape with whichever
worker the connection reached. In multi-process mode every process instead:

- writes its cumulative metric state (what the SDK's collect returns) to
  ``metrics-<pid>-<token>.json`` in a shared directory, atomically (temp file
  + ``os.replace``), every :data:`WRITE_INTERVAL_S` seconds and at shutdown;
- answers a scrape by collecting its own state fresh, reading every other
  process's file and merging them, then translating the merged data with the
  stock exporter's translator, so names, units, suffixes and labels are exactly
  those of the single-process reader.

Merge rules (after prometheus/client_python's multiprocess mode):

- monotonic sums (counters) and histograms: summed per identical
  (scope, metric, attributes) over every file, dead processes included, so a
  worker restart never makes a counter go backwards;
- non-monotonic sums (up-down counters; exported as gauges): summed over live
  processes only (a dead worker's in-flight requests or memory are gone);
- gauges: the most recently observed value among live processes.

Files of processes that exited more than :data:`STALE_S` seconds ago are
folded into an archive file by the next scrape (:func:`compact`), so worker
churn does not make scrapes slower and slower.

A process is live when its pid exists (``os.kill(pid, 0)``) and its file is the
newest one for that pid (a reused pid does not revive an old file). The file
name carries a per-process random token, so a child forked after
``configure()`` (gunicorn ``--preload``) writes its own file, never its
parent's: the pid is checked at every write. The parent snapshots its state
just before a fork and the child subtracts it from its counters and
histograms, so what the parent recorded is not counted again per child.

The format is plain JSON (never pickle: anyone who can write the directory
must not be able to run code in the scraping process). Unreadable, partial or
foreign files are skipped with a debug log; a scrape never fails because of one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import secrets
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

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
    HistogramDataPoint,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    PeriodicExportingMetricReader,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

__all__ = [
    "ARCHIVE_NAME",
    "FILE_PREFIX",
    "STALE_S",
    "WRITE_INTERVAL_S",
    "MultiprocessCollector",
    "MultiprocessMetricReader",
    "clear_directory",
    "compact",
    "merge",
    "read_states",
]

_log = logging.getLogger("otel_agentkit")

#: Seconds between two writes of a process's state file.
WRITE_INTERVAL_S: Final = 1.0
#: Every state file starts with this; :func:`clear_directory` removes only these.
FILE_PREFIX: Final = "metrics-"
_SUFFIX: Final = ".json"
_FORMAT: Final = 1
#: Where the counters and histograms of long-exited processes are kept (pid 0: never live).
ARCHIVE_NAME: Final = f"{FILE_PREFIX}0-archive{_SUFFIX}"
#: Lock file that keeps two processes from compacting at once.
LOCK_NAME: Final = ".metrics-compact.lock"
#: An exited process's file is folded into the archive once it is this many seconds old.
STALE_S: Final = 30.0
_ABSORBED_KEEP_S: Final = 3600.0

_CUMULATIVE: Final = AggregationTemporality.CUMULATIVE


# -- serialisation ------------------------------------------------------------


def _number_points(points: Any) -> list[dict[str, Any]]:
    """Sum and gauge points as JSON: attributes, start and time stamps, value."""
    return [
        {
            "a": _attrs_to_json(p.attributes),
            "s": p.start_time_unix_nano,
            "t": p.time_unix_nano,
            "v": p.value,
        }
        for p in points
    ]


def _attrs_to_json(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    if not attributes:
        return {}
    return {k: list(v) if isinstance(v, tuple | list) else v for k, v in attributes.items()}


def _attrs_from_json(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError("attributes are not an object")
    return {str(k): tuple(v) if isinstance(v, list) else v for k, v in raw.items()}


def _metric_to_json(metric: Metric) -> dict[str, Any] | None:
    data = metric.data
    out: dict[str, Any] = {
        "name": metric.name,
        "description": metric.description or "",
        "unit": metric.unit or "",
    }
    if isinstance(data, Sum):
        if data.aggregation_temporality != _CUMULATIVE:
            return None
        out["type"] = "counter" if data.is_monotonic else "updown"
        out["points"] = _number_points(data.data_points)
    elif isinstance(data, Gauge):
        out["type"] = "gauge"
        out["points"] = _number_points(data.data_points)
    elif isinstance(data, Histogram):
        if data.aggregation_temporality != _CUMULATIVE:
            return None
        out["type"] = "histogram"
        out["points"] = [
            {
                "a": _attrs_to_json(p.attributes),
                "s": p.start_time_unix_nano,
                "t": p.time_unix_nano,
                "count": p.count,
                "sum": p.sum,
                "bounds": list(p.explicit_bounds),
                "counts": list(p.bucket_counts),
                "min": p.min,
                "max": p.max,
            }
            for p in data.data_points
        ]
    else:  # exponential histograms: not produced by our Views, not supported here
        return None
    return out


def to_json(metrics_data: MetricsData, pid: int) -> dict[str, Any]:
    """The JSON document one process writes for ``metrics_data``."""
    scopes = []
    for rm in metrics_data.resource_metrics:
        for sm in rm.scope_metrics:
            converted = [m for m in map(_metric_to_json, sm.metrics) if m is not None]
            if not converted:
                continue
            scopes.append(
                {
                    "name": sm.scope.name,
                    "version": sm.scope.version or "",
                    "schema_url": sm.scope.schema_url or "",
                    "attributes": _attrs_to_json(sm.scope.attributes),
                    "metrics": converted,
                }
            )
    return {"format": _FORMAT, "pid": pid, "written": time.time_ns(), "scopes": scopes}


# -- one process's state --------------------------------------------------------


@dataclass
class ProcessState:
    """The parsed contents of one state file (or of this process's own memory)."""

    pid: int
    written: int
    scopes: list[dict[str, Any]]
    source: str
    live: bool = True
    absorbed: dict[str, int] = field(default_factory=dict)
    """Archive only: names of the files folded into it, with when they were."""


def _parse(document: Any, source: str) -> ProcessState:
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise ValueError("not an otel-agentkit metrics state file (unknown format)")
    pid, written, scopes = document.get("pid"), document.get("written"), document.get("scopes")
    if not isinstance(pid, int) or not isinstance(written, int) or not isinstance(scopes, list):
        raise ValueError("pid, written or scopes missing")
    absorbed = document.get("absorbed", {})
    if not isinstance(absorbed, dict):
        raise ValueError("absorbed is not an object")
    return ProcessState(pid=pid, written=written, scopes=scopes, source=source, absorbed=absorbed)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _state_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.iterdir()
        if p.name.startswith(FILE_PREFIX) and p.name.endswith(_SUFFIX)
    )


def read_states(
    directory: str | os.PathLike[str], *, skip: str | None = None
) -> list[ProcessState]:
    """Parse every state file in ``directory`` (except the file named ``skip``).

    Unreadable or malformed files are skipped with a debug log. ``live`` is set
    on each state: the pid exists and this is its newest file.
    """
    states: list[ProcessState] = []
    for path in _state_files(Path(directory)):
        if path.name in (skip, ARCHIVE_NAME):
            continue
        state = _read(path)
        if state is not None:
            states.append(state)
    # The archive is read last, by name: a file compacted into it while we
    # read was either read above (and is dropped here, being in ``absorbed``)
    # or deleted after the archive that holds it was renamed into place.
    archive = _read(Path(directory) / ARCHIVE_NAME)
    if archive is not None:
        states = [s for s in states if s.source not in archive.absorbed]
    newest: dict[int, int] = {}
    for state in states:
        newest[state.pid] = max(newest.get(state.pid, state.written), state.written)
    alive: dict[int, bool] = {}
    for state in states:
        if state.pid not in alive:
            alive[state.pid] = _pid_alive(state.pid)
        state.live = alive[state.pid] and state.written == newest[state.pid]
    if archive is not None:
        archive.live = False
        states.append(archive)
    return states


def _read(path: Path) -> ProcessState | None:
    try:
        with path.open("rb") as handle:
            return _parse(json.load(handle), path.name)
    except FileNotFoundError:  # removed between listing and reading (or no archive yet)
        return None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        _log.debug("otel-agentkit: skipping metrics state file %s: %s", path, exc)
        return None


def _compactable(states: Iterable[ProcessState], stale_s: float) -> list[ProcessState]:
    """Files of exited processes not rewritten for ``stale_s`` seconds (never the archive).

    Both conditions: a live process rewrites its file every second, so even a
    pid from another pid namespace (a directory shared across containers,
    which is not supported) is not folded away while its process runs.
    """
    cutoff = time.time_ns() - int(stale_s * 1e9)
    return [s for s in states if s.source != ARCHIVE_NAME and not s.live and s.written <= cutoff]


def compact(directory: str | os.PathLike[str], *, stale_s: float = STALE_S) -> int:
    """Fold the files of long-exited processes into the archive; return how many.

    Their counters and histograms are added to ``metrics-0-archive.json`` (up-down
    counters and gauges of exited processes count for nothing anyway), so a
    server whose workers restart often (gunicorn ``--max-requests``) keeps a
    bounded number of files to merge per scrape. One process compacts at a time
    (``flock`` on a lock file; the others skip); the archive lists the files it
    holds, so a file that survives a crash between the archive's rename and its
    deletion is never counted twice.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: files are kept, scrapes read them all
        return 0
    root = Path(directory)
    fd = os.open(root / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0
        states = read_states(root)
        victims = _compactable(states, stale_s)
        if not victims:
            return 0
        archive = next((s for s in states if s.source == ARCHIVE_NAME), None)
        folded = merge([*([archive] if archive else []), *victims], Resource.get_empty())
        document = to_json(folded, 0)
        now = time.time_ns()
        keep_after = now - int(_ABSORBED_KEEP_S * 1e9)
        absorbed = {
            name: when
            for name, when in (archive.absorbed if archive else {}).items()
            if isinstance(when, int) and when >= keep_after
        }
        absorbed.update((v.source, now) for v in victims)
        document["absorbed"] = absorbed
        _write_atomically(root / ARCHIVE_NAME, document)
        for victim in victims:
            with contextlib.suppress(FileNotFoundError):
                (root / victim.source).unlink()
        return len(victims)
    finally:
        os.close(fd)  # releases the lock


def _write_atomically(path: Path, document: dict[str, Any]) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(document, handle, separators=(",", ":"))
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


# -- merging -----------------------------------------------------------------------


def _freeze(value: Any) -> Any:
    return tuple(_freeze(v) for v in value) if isinstance(value, list | tuple) else value


def _key(attributes: Mapping[str, Any]) -> frozenset[tuple[str, Any]]:
    return frozenset((k, _freeze(v)) for k, v in attributes.items())


@dataclass
class _Point:
    attributes: dict[str, Any]
    start: int
    time: int
    value: float = 0
    count: int = 0
    sum: float = 0
    bounds: tuple[float, ...] = ()
    counts: list[int] = field(default_factory=list)
    min: float = math.inf
    max: float = -math.inf


@dataclass
class _Family:
    kind: str
    description: str
    unit: str
    points: dict[frozenset[tuple[str, Any]], _Point] = field(default_factory=dict)


_ScopeKey = tuple[str, str, str, frozenset[tuple[str, Any]]]


def _number(raw: Any, name: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"{name} is not a number")
    return raw


def _add_point(family: _Family, raw: Mapping[str, Any], state: ProcessState) -> None:
    attributes = _attrs_from_json(raw["a"])
    at = int(raw["t"])
    start = at if raw.get("s") is None else int(raw["s"])  # gauges have no start time
    key = _key(attributes)
    current = family.points.get(key)
    kind = family.kind
    if kind == "histogram":
        bounds = tuple(float(b) for b in raw["bounds"])
        counts = [int(c) for c in raw["counts"]]
        if len(counts) != len(bounds) + 1:
            raise ValueError("bucket counts do not match the bounds")
        count, total = int(raw["count"]), _number(raw["sum"], "sum")
        low, high = _number(raw["min"], "min"), _number(raw["max"], "max")
        if current is None:
            family.points[key] = _Point(
                attributes, start, at, 0, count, total, bounds, counts, low, high
            )
            return
        if bounds != current.bounds:
            _log.debug(
                "otel-agentkit: %s has other bucket bounds; skipping its point of %s",
                state.source,
                attributes,
            )
            return
        current.count += count
        current.sum += total
        current.counts = [a + b for a, b in zip(current.counts, counts, strict=True)]
        current.min, current.max = min(current.min, low), max(current.max, high)
    else:
        value = _number(raw["v"], "value")
        if current is None:
            family.points[key] = _Point(attributes, start, at, value)
            return
        if kind == "gauge":
            if at >= current.time:  # most recent observation wins
                current.value = value
        else:
            current.value += value
    current.start = min(current.start, start)
    current.time = max(current.time, at)


def merge(states: Iterable[ProcessState], resource: Resource) -> MetricsData:
    """Merge process states into one ``MetricsData`` (see the module docstring for the rules)."""
    scopes: dict[_ScopeKey, tuple[dict[str, Any], dict[str, _Family]]] = {}
    for state in states:
        try:
            _merge_state(scopes, state)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            _log.debug("otel-agentkit: skipping malformed metrics state %s: %s", state.source, exc)
    scope_metrics = []
    for (name, version, schema_url, _), (scope_attrs, families) in scopes.items():
        metrics = [_to_metric(metric_name, family) for metric_name, family in families.items()]
        scope_metrics.append(
            ScopeMetrics(
                scope=InstrumentationScope(name, version or None, schema_url or None, scope_attrs),
                metrics=[m for m in metrics if m is not None],
                schema_url=schema_url,
            )
        )
    return MetricsData(
        resource_metrics=[
            ResourceMetrics(resource=resource, scope_metrics=scope_metrics, schema_url="")
        ]
    )


def _merge_state(
    scopes: dict[_ScopeKey, tuple[dict[str, Any], dict[str, _Family]]], state: ProcessState
) -> None:
    # Validate the whole state before touching ``scopes``: a malformed file
    # must not leave half of itself in the merge.
    staged: list[tuple[_ScopeKey, dict[str, Any], dict[str, Any]]] = []
    for scope in state.scopes:
        scope_attrs = _attrs_from_json(scope.get("attributes") or {})
        key = (
            str(scope["name"]),
            str(scope.get("version") or ""),
            str(scope.get("schema_url") or ""),
            _key(scope_attrs),
        )
        for metric in scope["metrics"]:
            if metric["type"] not in ("counter", "updown", "gauge", "histogram"):
                raise ValueError(f"unknown metric type {metric['type']!r}")
            if not isinstance(metric["points"], list):
                raise ValueError("points is not a list")
            staged.append((key, scope_attrs, metric))
    for _, _, metric in staged:  # dry run on throwaway families
        trial = _Family(metric["type"], "", "")
        for raw in metric["points"]:
            _add_point(trial, raw, state)
    for key, scope_attrs, metric in staged:
        kind = metric["type"]
        if kind in ("updown", "gauge") and not state.live:
            continue  # a dead process's current values are gone with it
        _, families = scopes.setdefault(key, (scope_attrs, {}))
        family = families.get(metric["name"])
        if family is None:
            family = families[metric["name"]] = _Family(
                kind, str(metric["description"]), str(metric["unit"])
            )
        elif family.kind != kind:
            _log.debug(
                "otel-agentkit: %s reports %s as a %s, not a %s; skipped",
                state.source,
                metric["name"],
                kind,
                family.kind,
            )
            continue
        for raw in metric["points"]:
            _add_point(family, raw, state)


def _to_metric(name: str, family: _Family) -> Metric | None:
    points = list(family.points.values())
    data: Sum | Gauge | Histogram
    if family.kind == "histogram":
        data = Histogram(
            data_points=[
                HistogramDataPoint(
                    attributes=p.attributes,
                    start_time_unix_nano=p.start,
                    time_unix_nano=p.time,
                    count=p.count,
                    sum=p.sum,
                    bucket_counts=p.counts,
                    explicit_bounds=p.bounds,
                    min=p.min,
                    max=p.max,
                )
                for p in points
            ],
            aggregation_temporality=_CUMULATIVE,
        )
    else:
        numbers = [
            NumberDataPoint(
                attributes=p.attributes,
                start_time_unix_nano=p.start,
                time_unix_nano=p.time,
                value=p.value,
            )
            for p in points
        ]
        if family.kind == "gauge":
            data = Gauge(data_points=numbers)
        else:
            data = Sum(
                data_points=numbers,
                aggregation_temporality=_CUMULATIVE,
                is_monotonic=family.kind == "counter",
            )
    if not points:
        return None
    return Metric(name=name, description=family.description, unit=family.unit, data=data)


# -- writing -------------------------------------------------------------------------


def _subtract(document: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """``document`` minus ``baseline`` for counters and histograms (a forked child's own part).

    Up-down counters and gauges are left alone: an inherited up-down value
    (the parent's in-flight work) is rare and a gauge is observed afresh.
    """
    base: dict[tuple[Any, ...], dict[str, Any]] = {}
    for scope in baseline["scopes"]:
        scope_key = _scope_key(scope)
        for metric in scope["metrics"]:
            if metric["type"] in ("counter", "histogram"):
                for point in metric["points"]:
                    base[(scope_key, metric["name"], _key(_attrs_from_json(point["a"])))] = point
    if not base:
        return document
    scopes = []
    for scope in document["scopes"]:
        scope_key = _scope_key(scope)
        metrics = []
        for metric in scope["metrics"]:
            if metric["type"] in ("counter", "histogram"):
                points = []
                for point in metric["points"]:
                    old = base.get((scope_key, metric["name"], _key(_attrs_from_json(point["a"]))))
                    points.append(point if old is None else _minus(point, old))
                metric = {**metric, "points": points}
            metrics.append(metric)
        scopes.append({**scope, "metrics": metrics})
    return {**document, "scopes": scopes}


def _scope_key(scope: Mapping[str, Any]) -> tuple[Any, ...]:
    attributes = _key(_attrs_from_json(scope.get("attributes") or {}))
    return (scope["name"], scope.get("version") or "", scope.get("schema_url") or "", attributes)


def _minus(point: dict[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    if "v" in point:
        return {**point, "v": point["v"] - old["v"]}
    if point["bounds"] != old["bounds"]:
        return point
    return {
        **point,
        "count": point["count"] - old["count"],
        "sum": point["sum"] - old["sum"],
        "counts": [a - b for a, b in zip(point["counts"], old["counts"], strict=True)],
    }


class _FileExporter(MetricExporter):
    """Writes each collected state to this process's file; keeps the latest in memory."""

    def __init__(self, directory: str) -> None:
        super().__init__(
            preferred_temporality={
                Counter: _CUMULATIVE,
                UpDownCounter: _CUMULATIVE,
                HistogramInstrument: _CUMULATIVE,
                ObservableCounter: _CUMULATIVE,
                ObservableUpDownCounter: _CUMULATIVE,
                ObservableGauge: _CUMULATIVE,
            }
        )
        self.directory = directory
        self._lock = threading.Lock()
        self._pid = -1
        self._name = ""
        #: The last state written, as in the file.
        self.latest: dict[str, Any] | None = None
        #: The last state collected, before the fork baseline was taken off.
        self._latest_raw: dict[str, Any] | None = None
        #: In a forked child: the parent's state at the fork, inherited by the
        #: child's SDK and already counted in the parent's file.
        self._baseline: dict[str, Any] | None = None

    def after_fork_in_child(self) -> None:
        """Re-create the lock (the parent's writer may have held it) and keep the baseline."""
        self._lock = threading.Lock()
        self._baseline = self._latest_raw

    def file_name(self) -> str:
        """This process's file name; a new one (new token) after a fork."""
        pid = os.getpid()
        if pid != self._pid:  # first write in this process (or a child after fork)
            self._pid = pid
            self._name = f"{FILE_PREFIX}{pid}-{secrets.token_hex(4)}{_SUFFIX}"
            self.latest = None  # the parent's state is not this process's
        return self._name

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        with self._lock:
            name = self.file_name()
            raw = to_json(metrics_data, self._pid)
            document = raw if self._baseline is None else _subtract(raw, self._baseline)
            self._latest_raw, self.latest = raw, document
            path = Path(self.directory, name)
            try:
                _write_atomically(path, document)
            except (OSError, TypeError, ValueError):
                _log.debug("otel-agentkit: could not write %s", path, exc_info=True)
                return MetricExportResult.FAILURE
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


class MultiprocessMetricReader(PeriodicExportingMetricReader):
    """Writes this process's metrics to the shared directory and serves the merged view.

    Registers a :class:`MultiprocessCollector` with the Prometheus registry
    (the global ``REGISTRY`` unless one is given), so ``render_metrics()`` and
    the standalone ``/metrics`` server show every process's metrics.
    """

    def __init__(self, directory: str, resource: Resource, registry: Any = None) -> None:
        self._file_exporter = _FileExporter(directory)
        super().__init__(self._file_exporter, export_interval_millis=WRITE_INTERVAL_S * 1000)
        from prometheus_client import REGISTRY

        self.directory = directory
        self._registry = registry if registry is not None else REGISTRY
        self.collector = MultiprocessCollector(self, resource)
        self._registry.register(self.collector)
        if hasattr(os, "register_at_fork"):
            this = weakref.ref(self)

            def before() -> None:
                reader = this()
                if reader is not None:
                    reader._before_fork()

            def after_in_child() -> None:
                reader = this()
                if reader is not None:
                    reader._file_exporter.after_fork_in_child()

            os.register_at_fork(before=before, after_in_child=after_in_child)

    def _before_fork(self) -> None:
        """Snapshot this process's state: a forked child subtracts it from its own.

        The child's SDK starts with a copy of everything recorded here (gunicorn
        ``--preload``); without the snapshot each worker would report the
        master's counts again.
        """
        if self._shutdown:
            return
        try:
            self.collect()
        except Exception:
            _log.debug("otel-agentkit: snapshot before fork failed", exc_info=True)

    def own_state(self) -> ProcessState | None:
        """Collect now (writing this process's file) and return the fresh state."""
        try:
            self.collect()
        except Exception:
            _log.debug("otel-agentkit: collecting this process's metrics failed", exc_info=True)
        exporter = self._file_exporter
        document = exporter.latest
        if document is None or exporter._pid != os.getpid():
            return None
        return _parse(document, "this process")

    def merged(self, resource: Resource) -> MetricsData:
        """This process's fresh state merged with every other process's file."""
        own = self.own_state()
        skip = self._file_exporter._name if own is not None else None
        try:
            others = read_states(self.directory, skip=skip)
        except OSError as exc:
            _log.debug("otel-agentkit: cannot list %s: %s", self.directory, exc)
            others = []
        if _compactable(others, STALE_S):
            try:
                if compact(self.directory):
                    others = read_states(self.directory, skip=skip)
            except (OSError, ValueError):
                _log.debug("otel-agentkit: compacting %s failed", self.directory, exc_info=True)
        states = [own, *others] if own is not None else others
        return merge(states, resource)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Write the final state and unregister the collector."""
        with contextlib.suppress(KeyError):
            self._registry.unregister(self.collector)
        super().shutdown(timeout_millis, **kwargs)


class MultiprocessCollector:
    """A ``prometheus_client`` collector yielding the merged metrics of every process."""

    def __init__(self, reader: MultiprocessMetricReader, resource: Resource) -> None:
        self._reader = reader
        self._resource = resource
        # The stock reader's translator (private, but the one thing that keeps
        # names, units, suffixes and labels identical): fail at configure()
        # rather than at every scrape if a release moves it.
        try:
            from opentelemetry.exporter.prometheus import _CustomCollector
        except ImportError as exc:  # pragma: no cover - depends on the installed release
            raise ImportError(
                "otel-agentkit's multi-process metrics need the translator of "
                "opentelemetry-exporter-prometheus (_CustomCollector), which this "
                "release does not have"
            ) from exc
        self._translator_class: Any = _CustomCollector

    def collect(self) -> Iterator[Any]:
        """Merge and translate with the stock exporter's translator (same names and labels)."""
        try:
            data = self._reader.merged(self._resource)
        except Exception:  # never fail a scrape
            _log.debug("otel-agentkit: merging multi-process metrics failed", exc_info=True)
            return
        translator = self._translator_class()
        translator.add_metrics_data(data)
        yield from translator.collect()

    def describe(self) -> Sequence[Any]:
        """Nothing up front: keeps the registry from calling ``collect`` at registration."""
        return []


def clear_directory(directory: str | os.PathLike[str]) -> int:
    """Remove every state file (and leftover temp file) in ``directory``; return how many."""
    removed = 0
    for path in Path(directory).iterdir():
        name = path.name
        ours = name.startswith(FILE_PREFIX) and name.endswith(_SUFFIX)
        temp = name.startswith("." + FILE_PREFIX) and name.endswith(".tmp")
        if ours or temp or name == LOCK_NAME:
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
    return removed
