"""Multi-process (pre-fork) Prometheus metrics: one state file per process, merged at scrape.

Under gunicorn / uvicorn ``--workers N`` each worker has its own meter
provider, so the stock pull reader would answer a scrape with whichever
worker the connection reached. In multi-process mode every process instead:

- keeps its cumulative metric state in ``metrics-<pid>-<token>.json`` in a
  shared directory. The file is a snapshot line followed by update lines:
  each write appends only the points that changed since the last one (JSON,
  one line per write), and the file is rewritten as one fresh snapshot
  (temp file + ``os.replace``) once the updates outgrow it;
- writes only when something was recorded: a change counter, bumped by every
  measurement (through the SDK's exemplar filter hook), is checked every
  :data:`WRITE_INTERVAL_S` seconds, and an idle process does not even collect.
  Observable instruments (process CPU and memory) are refreshed every
  :data:`REFRESH_S` seconds, and at every scrape by the scraping process;
- answers a scrape by collecting its own state fresh, reading the other
  processes' files (each parsed file is kept and re-read only when its size or
  mtime changes, from where it was read up to), merging them, and translating
  the result with :func:`otel_agentkit.telemetry._prometheus.families`, so
  names, units, suffixes, labels and exemplars are those of the
  single-process reader.

Merge rules (after prometheus/client_python's multiprocess mode):

- monotonic sums (counters) and histograms: summed per identical
  (scope, metric, attributes) over every file, dead processes included, so a
  worker restart never makes a counter go backwards;
- non-monotonic sums (up-down counters; exported as gauges): summed over live
  processes only (a dead worker's in-flight requests or memory are gone);
- gauges: the most recently observed value among live processes;
- exemplars: kept with their points; the latest per bucket is served.

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

from opentelemetry.context import Context
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    AlwaysOnExemplarFilter,
    ExemplarFilter,
    TraceBasedExemplarFilter,
)
from opentelemetry.sdk.metrics import (
    Exemplar as _SdkExemplar,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricReader,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.metrics.view import Aggregation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.util.types import Attributes

from otel_agentkit.telemetry._prometheus import CUMULATIVE_TEMPORALITY, families

__all__ = [
    "ARCHIVE_NAME",
    "FILE_PREFIX",
    "REFRESH_S",
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

#: Seconds between two checks for new measurements (and a write, if there were any).
WRITE_INTERVAL_S: Final = 1.0
#: An idle process still collects this often, for its observable instruments.
REFRESH_S: Final = 60.0
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
#: A file is rewritten as one snapshot once its update lines outgrow the snapshot
#: (and are at least this many bytes): readers then parse little per scrape.
_MIN_UPDATES_BYTES: Final = 64 * 1024

_CUMULATIVE: Final = AggregationTemporality.CUMULATIVE


# -- serialisation ------------------------------------------------------------


def _exemplars_to_json(exemplars: Sequence[Any]) -> list[list[Any]]:
    """Exemplars with a trace as ``[value, time, trace id hex, span id hex]``."""
    return [
        [e.value, e.time_unix_nano, f"{e.trace_id:032x}", f"{e.span_id:016x}"]
        for e in exemplars
        if e.trace_id and e.span_id
    ]


def _number_points(points: Any, exemplars: bool) -> list[dict[str, Any]]:
    """Sum and gauge points as JSON: attributes, start and time stamps, value."""
    out = []
    for p in points:
        point = {
            "a": _attrs_to_json(p.attributes),
            "s": p.start_time_unix_nano,
            "t": p.time_unix_nano,
            "v": p.value,
        }
        if exemplars and p.exemplars:
            point["ex"] = _exemplars_to_json(p.exemplars)
        out.append(point)
    return out


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
        out["points"] = _number_points(data.data_points, data.is_monotonic)
    elif isinstance(data, Gauge):
        out["type"] = "gauge"
        out["points"] = _number_points(data.data_points, False)
    elif isinstance(data, Histogram):
        if data.aggregation_temporality != _CUMULATIVE:
            return None
        out["type"] = "histogram"
        points = []
        for p in data.data_points:
            point = {
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
            if p.exemplars:
                point["ex"] = _exemplars_to_json(p.exemplars)
            points.append(point)
        out["points"] = points
    else:  # exponential histograms: not produced by our Views, not supported here
        return None
    return out


def to_json(metrics_data: MetricsData, pid: int) -> dict[str, Any]:
    """The JSON document (a snapshot) one process writes for ``metrics_data``."""
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
    now = time.time_ns()
    return {"format": _FORMAT, "pid": pid, "started": now, "written": now, "scopes": scopes}


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
    started: int = 0
    """When the process's file was first written: of two files of one pid, the newer is live."""


def _parse(document: Any, source: str) -> ProcessState:
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise ValueError("not an otel-agentkit metrics state file (unknown format)")
    pid, written, scopes = document.get("pid"), document.get("written"), document.get("scopes")
    if not isinstance(pid, int) or not isinstance(written, int) or not isinstance(scopes, list):
        raise ValueError("pid, written or scopes missing")
    absorbed = document.get("absorbed", {})
    if not isinstance(absorbed, dict):
        raise ValueError("absorbed is not an object")
    started = document.get("started", written)
    if not isinstance(started, int):
        raise ValueError("started is not an integer")
    return ProcessState(
        pid=pid, written=written, scopes=scopes, source=source, absorbed=absorbed, started=started
    )


def _apply_update(state: ProcessState, update: Any) -> None:
    """Replace (or add) the points an update line carries; advance ``written``."""
    if not isinstance(update, dict) or not isinstance(update.get("scopes"), list):
        raise ValueError("malformed update line")
    written = update.get("written")
    if not isinstance(written, int):
        raise ValueError("update without a time")
    by_scope = {_scope_id(s): s for s in state.scopes}
    for scope in update["scopes"]:
        current = by_scope.get(_scope_id(scope))
        if current is None:
            state.scopes.append(scope)
            by_scope[_scope_id(scope)] = scope
            continue
        metrics = {m["name"]: m for m in current["metrics"]}
        for metric in scope["metrics"]:
            existing = metrics.get(metric["name"])
            if existing is None:
                current["metrics"].append(metric)
                metrics[metric["name"]] = metric
                continue
            positions = {_key(p["a"]): i for i, p in enumerate(existing["points"])}
            for point in metric["points"]:
                at = positions.get(_key(point["a"]))
                if at is None:
                    existing["points"].append(point)
                else:
                    existing["points"][at] = point
    state.written = written


def _scope_id(scope: Mapping[str, Any]) -> str:
    return json.dumps(
        [scope["name"], scope.get("version") or "", scope.get("schema_url") or "",
         scope.get("attributes") or {}],
        sort_keys=True,
    )  # fmt: skip


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


@dataclass
class _Parsed:
    """One file as last read: its stat signature, how far it was read, the state so far."""

    signature: tuple[int, int, int]
    offset: int
    state: ProcessState | None
    head: bytes = b""
    """The file's first bytes (its snapshot's pid and times): a replaced file that got
    the old one's inode number back still differs here."""


_HEAD_BYTES: Final = 128


class FileCache:
    """Parsed state files, re-read only when their size or mtime changes.

    A file that only grew (update lines appended) is read from where the last
    read stopped; a replaced one (new inode: a fresh snapshot) from the start.
    """

    def __init__(self) -> None:
        self._files: dict[str, _Parsed] = {}

    def read(self, path: Path) -> ProcessState | None:
        """The state in ``path`` now, or None if it is gone or unreadable (logged)."""
        try:
            with path.open("rb") as handle:
                stat = os.fstat(handle.fileno())
                signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
                cached = self._files.get(path.name)
                if cached is not None and cached.signature == signature:
                    return cached.state
                head = handle.read(_HEAD_BYTES)
                if (
                    cached is not None
                    and cached.state is not None
                    and cached.signature[0] == stat.st_ino
                    and cached.offset <= stat.st_size
                    and cached.head == head
                ):
                    handle.seek(cached.offset)
                    state, offset = cached.state, cached.offset
                else:
                    handle.seek(0)
                    state, offset = None, 0
                data = handle.read(max(0, stat.st_size - offset))
        except FileNotFoundError:  # removed between listing and reading (or no archive yet)
            self._files.pop(path.name, None)
            return None
        except OSError as exc:
            _log.debug("otel-agentkit: skipping metrics state file %s: %s", path, exc)
            return None
        try:
            state, used = _parse_lines(data, state, path.name)
        except (ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
            _log.debug("otel-agentkit: skipping metrics state file %s: %s", path, exc)
            self._files[path.name] = _Parsed(signature, stat.st_size, None)
            return None
        self._files[path.name] = _Parsed(signature, offset + used, state, head)
        return state

    def forget_missing(self, names: Iterable[str]) -> None:
        """Drop the cached files not in ``names`` (deleted or compacted away)."""
        keep = set(names)
        for name in [n for n in self._files if n not in keep]:
            del self._files[name]


def _parse_lines(
    data: bytes, state: ProcessState | None, source: str
) -> tuple[ProcessState | None, int]:
    """Apply the complete lines of ``data`` to ``state``; return it and the bytes used.

    The first line of a file is a snapshot; later lines are updates. Text after
    the last newline is an append still in progress (read next time), unless
    it is the whole file: a snapshot written without its newline (the format
    of earlier versions).
    """
    used = pos = 0
    while True:
        newline = data.find(b"\n", pos)
        if newline < 0:
            rest = data[pos:]
            if state is None and rest.strip():
                state, used = _parse(json.loads(rest), source), len(data)
            return state, used
        line = data[pos:newline]
        pos = newline + 1
        if line.strip():
            document = json.loads(line)
            if state is None:
                state = _parse(document, source)
            else:
                _apply_update(state, document)
        used = pos


def read_states(
    directory: str | os.PathLike[str],
    *,
    skip: str | None = None,
    cache: FileCache | None = None,
) -> list[ProcessState]:
    """Parse every state file in ``directory`` (except the file named ``skip``).

    Unreadable or malformed files are skipped with a debug log. ``live`` is set
    on each state: the pid exists and this is its newest file. With ``cache``,
    files unchanged since the last call are not read again.
    """
    cache = cache if cache is not None else FileCache()
    paths = _state_files(Path(directory))
    cache.forget_missing(p.name for p in paths)
    states: list[ProcessState] = []
    for path in paths:
        if path.name in (skip, ARCHIVE_NAME):
            continue
        state = cache.read(path)
        if state is not None:
            states.append(state)
    # The archive is read last, by name: a file compacted into it while we
    # read was either read above (and is dropped here, being in ``absorbed``)
    # or deleted after the archive that holds it was renamed into place.
    archive = cache.read(Path(directory) / ARCHIVE_NAME)
    if archive is not None:
        states = [s for s in states if s.source not in archive.absorbed]
    newest: dict[int, int] = {}
    for state in states:
        newest[state.pid] = max(newest.get(state.pid, state.started), state.started)
    alive: dict[int, bool] = {}
    for state in states:
        if state.pid not in alive:
            alive[state.pid] = _pid_alive(state.pid)
        state.live = alive[state.pid] and state.started == newest[state.pid]
    if archive is not None:
        archive.live = False
        states.append(archive)
    return states


def _compactable(states: Iterable[ProcessState], stale_s: float) -> list[ProcessState]:
    """Files of exited processes not written to for ``stale_s`` seconds (never the archive)."""
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


def _write_atomically(path: Path, document: dict[str, Any]) -> int:
    """Write ``document`` as one line (and its newline) in place of ``path``; return its size."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    text = json.dumps(document, separators=(",", ":")) + "\n"
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return len(text.encode())


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
    exemplars: list[Any] = field(default_factory=list)


@dataclass
class _Family:
    kind: str
    description: str
    unit: str
    points: dict[frozenset[tuple[str, Any]], _Point] = field(default_factory=dict)


_ScopeKey = tuple[str, str, str, frozenset[tuple[str, Any]]]
#: ``source`` of this process's own state: written by this code, not checked twice.
_OWN: Final = "this process"


def _number(raw: Any, name: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"{name} is not a number")
    return raw


def _exemplars(raw: Any) -> list[Any]:
    """Exemplars of a point (``[value, time, trace hex, span hex]`` each), checked."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError("exemplars are not a list")
    out = []
    for item in raw:
        value, at, trace_id, span_id = item
        out.append(
            _SdkExemplar(
                {}, _number(value, "exemplar"), int(at), int(span_id, 16), int(trace_id, 16)
            )
        )
    return out


def _add_point(family: _Family, raw: Mapping[str, Any], state: ProcessState) -> None:
    attributes = _attrs_from_json(raw["a"])
    at = int(raw["t"])
    start = at if raw.get("s") is None else int(raw["s"])  # gauges have no start time
    key = _key(attributes)
    current = family.points.get(key)
    kind = family.kind
    exemplars = _exemplars(raw.get("ex"))
    if kind == "histogram":
        bounds = tuple(float(b) for b in raw["bounds"])
        counts = [int(c) for c in raw["counts"]]
        if len(counts) != len(bounds) + 1:
            raise ValueError("bucket counts do not match the bounds")
        count, total = int(raw["count"]), _number(raw["sum"], "sum")
        low, high = _number(raw["min"], "min"), _number(raw["max"], "max")
        if current is None:
            family.points[key] = _Point(
                attributes, start, at, 0, count, total, bounds, counts, low, high, exemplars
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
        current.exemplars.extend(exemplars)
    else:
        value = _number(raw["v"], "value")
        if current is None:
            family.points[key] = _Point(attributes, start, at, value, exemplars=exemplars)
            return
        if kind == "gauge":
            if at >= current.time:  # most recent observation wins
                current.value = value
        else:
            current.value += value
            current.exemplars.extend(exemplars)
    current.start = min(current.start, start)
    current.time = max(current.time, at)


_Merged = dict[_ScopeKey, tuple[dict[str, Any], dict[str, _Family]]]


def _merge_into(scopes: _Merged, states: Iterable[ProcessState]) -> None:
    for state in states:
        try:
            _merge_state(scopes, state)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            _log.debug("otel-agentkit: skipping malformed metrics state %s: %s", state.source, exc)


def _metrics_data(scopes: _Merged, resource: Resource) -> MetricsData:
    scope_metrics = []
    for (name, version, schema_url, _), (scope_attrs, families_) in scopes.items():
        metrics = [_to_metric(metric_name, family) for metric_name, family in families_.items()]
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


def merge(states: Iterable[ProcessState], resource: Resource) -> MetricsData:
    """Merge process states into one ``MetricsData`` (see the module docstring for the rules)."""
    scopes: _Merged = {}
    _merge_into(scopes, states)
    return _metrics_data(scopes, resource)


def _copy_point(p: _Point) -> _Point:
    return _Point(
        p.attributes, p.start, p.time, p.value, p.count, p.sum, p.bounds,
        list(p.counts), p.min, p.max, list(p.exemplars),
    )  # fmt: skip


def _copy_merged(scopes: _Merged) -> _Merged:
    """A copy that merging more states into leaves ``scopes`` as it was."""
    return {
        key: (
            attrs,
            {
                name: _Family(
                    family.kind,
                    family.description,
                    family.unit,
                    {k: _copy_point(p) for k, p in family.points.items()},
                )
                for name, family in families_.items()
            },
        )
        for key, (attrs, families_) in scopes.items()
    }


def _merge_state(scopes: _Merged, state: ProcessState) -> None:
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
    for _, _, metric in staged if state.source != _OWN else ():  # dry run on throwaway families
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
                    exemplars=p.exemplars,
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
                exemplars=p.exemplars,
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


def _same(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether a point says nothing new (its time stamp aside)."""
    if "v" in new:
        return bool(old.get("v") == new["v"])
    return bool(old.get("count") == new["count"] and old.get("sum") == new["sum"])


class _FileWriter:
    """This process's state file: a snapshot, then one appended line per write of what changed.

    Keeps the state as written (:attr:`latest`): a point that did not change
    keeps the exemplars it was written with.
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._pid = -1
        self._name = ""
        self._started = 0
        #: The state as in the file (points that did not change keep their exemplars).
        self.latest: dict[str, Any] | None = None
        #: (scope, metric, attributes) -> the point as last written.
        self._written: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._snapshot_bytes = 0
        self._update_bytes = 0
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
            self._started = time.time_ns()
            self.latest = None  # the parent's state is not this process's
            self._written = {}
        return self._name

    def own_pid(self) -> int:
        """The pid the state in :attr:`latest` belongs to."""
        return self._pid

    def write(self, metrics_data: MetricsData) -> bool:
        """Record ``metrics_data``: append what changed, or write a fresh snapshot."""
        with self._lock:
            name = self.file_name()
            raw = to_json(metrics_data, self._pid)
            document = raw if self._baseline is None else _subtract(raw, self._baseline)
            document["started"] = self._started
            self._latest_raw = raw
            path = Path(self.directory, name)
            try:
                changes = self._changes(document)
                if self.latest is None or self._update_bytes > max(
                    _MIN_UPDATES_BYTES, self._snapshot_bytes
                ):
                    self._snapshot_bytes = _write_atomically(path, document)
                    self._update_bytes = 0
                elif changes:
                    line = json.dumps(
                        {"written": document["written"], "scopes": changes}, separators=(",", ":")
                    )
                    with open(path, "a", encoding="utf-8") as handle:
                        handle.write(line + "\n")  # one write: readers see whole lines
                    self._update_bytes += len(line) + 1
            except (OSError, TypeError, ValueError):
                _log.debug("otel-agentkit: could not write %s", path, exc_info=True)
                self.latest = None  # the next write is a full snapshot
                return False
            self.latest = document
        return True

    def _changes(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        """The scopes of ``document`` cut to the points that changed; unchanged points are
        replaced in ``document`` by what was written (with its exemplars)."""
        written = self._written
        changed_scopes = []
        for scope in document["scopes"]:
            scope_key = _scope_key(scope)
            changed_metrics = []
            for metric in scope["metrics"]:
                points = metric["points"]
                changed = []
                for index, point in enumerate(points):
                    key = (scope_key, metric["name"], _key(point["a"]))
                    old = written.get(key)
                    if old is not None and _same(old, point):
                        points[index] = old
                    else:
                        written[key] = point
                        changed.append(point)
                if changed:
                    changed_metrics.append({**metric, "points": changed})
            if changed_metrics:
                changed_scopes.append({**scope, "metrics": changed_metrics})
        return changed_scopes


class _ChangeCounter(ExemplarFilter):
    """The SDK's exemplar filter, counting the measurements that pass through it.

    The SDK asks the filter about every measurement, so the count tells the
    writer whether anything was recorded since its last collection, without
    collecting. Observations made by the collection itself (on
    :attr:`collecting`'s thread) are not counted.
    """

    def __init__(self, inner: ExemplarFilter) -> None:
        self._inner = inner
        self.changes = 0
        self.collecting = 0

    def should_sample(
        self, value: float, time_unix_nano: int, attributes: Attributes, context: Context
    ) -> bool:
        if threading.get_ident() != self.collecting:
            self.changes += 1
        return self._inner.should_sample(value, time_unix_nano, attributes, context)


def _configured_exemplar_filter() -> ExemplarFilter:
    """The filter ``OTEL_METRICS_EXEMPLAR_FILTER`` names (the SDK's default: trace_based)."""
    name = os.environ.get("OTEL_METRICS_EXEMPLAR_FILTER", "trace_based").strip().lower()
    if name == "always_on":
        return AlwaysOnExemplarFilter()
    if name == "always_off":
        return AlwaysOffExemplarFilter()
    return TraceBasedExemplarFilter()


class MultiprocessMetricReader(MetricReader):
    """Writes this process's metrics to the shared directory and serves the merged view.

    Registers a :class:`MultiprocessCollector` with the Prometheus registry
    (the global ``REGISTRY`` unless one is given), so ``render_metrics()`` and
    the standalone ``/metrics`` server show every process's metrics. Give the
    meter provider :attr:`exemplar_filter`: it tells the writer when there is
    something to write.
    """

    def __init__(self, directory: str, resource: Resource, registry: Any = None) -> None:
        super().__init__(
            preferred_temporality=dict(CUMULATIVE_TEMPORALITY),
            preferred_aggregation=dict[type, Aggregation](),
        )
        from prometheus_client import REGISTRY

        self.directory = directory
        self._writer = _FileWriter(directory)
        self.exemplar_filter = _ChangeCounter(_configured_exemplar_filter())
        self._collect_lock = threading.Lock()
        self._seen_changes = -1  # the first tick writes
        self._last_collect = 0.0
        self._files = FileCache()
        self._others: tuple[tuple[Any, ...], _Merged] | None = None
        self._stop = threading.Event()
        self._shut_down = False
        self._thread: threading.Thread | None = None
        self._registry = registry if registry is not None else REGISTRY
        self.collector = MultiprocessCollector(self, resource)
        self._registry.register(self.collector)
        self._start_thread()
        if hasattr(os, "register_at_fork"):
            this = weakref.ref(self)

            def before() -> None:
                reader = this()
                if reader is not None:
                    reader._before_fork()

            def after_in_child() -> None:
                reader = this()
                if reader is not None:
                    reader._after_fork_in_child()

            os.register_at_fork(before=before, after_in_child=after_in_child)

    # -- the writer thread ------------------------------------------------------

    def _start_thread(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="otel-agentkit-multiproc-writer", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(WRITE_INTERVAL_S):
            try:
                self.write_if_changed()
            except Exception:  # the writer thread must survive anything
                _log.debug("otel-agentkit: writing metrics state failed", exc_info=True)

    def write_if_changed(self) -> bool:
        """Collect and write when something was recorded (or observables are due); else nothing."""
        idle = self.exemplar_filter.changes == self._seen_changes
        if idle and time.monotonic() - self._last_collect < REFRESH_S:
            return False
        self._collect_and_write()
        return True

    def _collect_and_write(self) -> None:
        with self._collect_lock:
            counter = self.exemplar_filter
            counter.collecting = threading.get_ident()
            before = counter.changes  # a measurement during the collect makes the next tick write
            try:
                self.collect()
            finally:
                counter.collecting = 0
            self._seen_changes = before
            self._last_collect = time.monotonic()

    def _receive_metrics(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> None:
        if metrics_data is not None:
            self._writer.write(metrics_data)

    # -- fork ---------------------------------------------------------------------

    def _before_fork(self) -> None:
        """Snapshot this process's state: a forked child subtracts it from its own.

        The child's SDK starts with a copy of everything recorded here (gunicorn
        ``--preload``); without the snapshot each worker would report the
        master's counts again.
        """
        if self._shut_down:
            return
        try:
            self._collect_and_write()
        except Exception:
            _log.debug("otel-agentkit: snapshot before fork failed", exc_info=True)

    def _after_fork_in_child(self) -> None:
        self._writer.after_fork_in_child()
        self._collect_lock = threading.Lock()
        self._seen_changes = -1
        self._files = FileCache()
        self._others = None
        if not self._shut_down:
            self._start_thread()

    # -- scraping -----------------------------------------------------------------

    def own_state(self) -> ProcessState | None:
        """Collect now (writing what changed to this process's file) and return the state."""
        try:
            self._collect_and_write()
        except Exception:
            _log.debug("otel-agentkit: collecting this process's metrics failed", exc_info=True)
        writer = self._writer
        document = writer.latest
        if document is None or writer.own_pid() != os.getpid():
            return None
        return _parse(document, _OWN)

    def merged(self, resource: Resource) -> MetricsData:
        """This process's fresh state merged with every other process's file."""
        own = self.own_state()
        skip = self._writer.file_name() if own is not None else None
        try:
            others = read_states(self.directory, skip=skip, cache=self._files)
        except OSError as exc:
            _log.debug("otel-agentkit: cannot list %s: %s", self.directory, exc)
            others = []
        if _compactable(others, STALE_S):
            try:
                if compact(self.directory):
                    others = read_states(self.directory, skip=skip, cache=self._files)
            except (OSError, ValueError):
                _log.debug("otel-agentkit: compacting %s failed", self.directory, exc_info=True)
        # The other processes' merge is kept while none of their files changed.
        signature = tuple((s.source, s.started, s.written, s.live) for s in others)
        cached = self._others
        if cached is None or cached[0] != signature:
            merged_others: _Merged = {}
            _merge_into(merged_others, others)
            self._others = cached = (signature, merged_others)
        if own is None:
            return _metrics_data(cached[1], resource)
        scopes = _copy_merged(cached[1])
        _merge_into(scopes, [own])
        return _metrics_data(scopes, resource)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Write the final state, stop the writer thread and unregister the collector."""
        if self._shut_down:
            return
        with contextlib.suppress(KeyError):
            self._registry.unregister(self.collector)
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_millis / 1000)
        try:
            self._collect_and_write()
        except Exception:
            _log.debug("otel-agentkit: writing the final metrics state failed", exc_info=True)
        self._shut_down = True


class MultiprocessCollector:
    """A ``prometheus_client`` collector yielding the merged metrics of every process."""

    def __init__(self, reader: MultiprocessMetricReader, resource: Resource) -> None:
        self._reader = reader
        self._resource = resource

    def collect(self) -> Iterator[Any]:
        """Merge and translate as the single-process reader does (same names, labels, exemplars)."""
        try:
            data = self._reader.merged(self._resource)
        except Exception:  # never fail a scrape
            _log.debug("otel-agentkit: merging multi-process metrics failed", exc_info=True)
            return
        yield from families(data)

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
