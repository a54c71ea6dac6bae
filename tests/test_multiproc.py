"""Multi-process (pre-fork) Prometheus metrics: state files per process, merged at scrape.

The scraping process is a real ``configure(metrics_multiprocess_dir=...)``;
"other workers" are real SDK meter providers whose collected state is written
to the directory with the same serialiser the workers use, under the pid of a
live process (our parent) or of one that has exited.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import otel_agentkit
from otel_agentkit import semconv
from otel_agentkit.errors import ConfigurationError
from otel_agentkit.telemetry import Telemetry, clear_multiprocess_dir
from otel_agentkit.telemetry._multiproc import (
    ARCHIVE_NAME,
    STALE_S,
    WRITE_INTERVAL_S,
    compact,
    read_states,
    to_json,
)
from otel_agentkit.telemetry._setup import build_views
from tests.web_helpers import prom_value

SCOPE = "multiproc-test"
DURATION = semconv.GEN_AI_CLIENT_OPERATION_DURATION
DURATION_COUNT = semconv.prometheus_name(DURATION, semconv.UNIT_SECONDS, suffix="count")
DURATION_SUM = semconv.prometheus_name(DURATION, semconv.UNIT_SECONDS, suffix="sum")
DURATION_BUCKET = semconv.prometheus_name(DURATION, semconv.UNIT_SECONDS, suffix="bucket")
VIOLATIONS = semconv.prometheus_name(semconv.AGENTKIT_GUARDRAIL_VIOLATIONS, suffix="total")
GUARDRAIL = semconv.prometheus_label(semconv.AGENTKIT_GUARDRAIL_NAME)
GUARDRAIL_ATTR = "agentkit.guardrail.name"
ACTIVE = "test.active"  # an up-down counter
LEVEL = "test.level"  # an observable gauge


@pytest.fixture(autouse=True)
def _no_prometheus_multiproc_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


LIVE_PID = os.getppid()  # the process that started pytest: alive, and not us


def _collect(record: Callable[[Meter], None]) -> object:
    """Record with a real SDK provider (semconv Views) and return its cumulative MetricsData."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], views=build_views())
    try:
        record(provider.get_meter(SCOPE))
        return reader.get_metrics_data()
    finally:
        provider.shutdown()


def _write_worker(
    directory: Path, pid: int, record: Callable[[Meter], None], *, age_s: float = 0.0
) -> Path:
    """What a worker with ``pid`` would have written ``age_s`` seconds ago after ``record``."""
    document = to_json(_collect(record), pid)  # type: ignore[arg-type]
    document["written"] -= int(age_s * 1e9)
    path = directory / f"metrics-{pid}-{secrets.token_hex(4)}.json"
    path.write_text(json.dumps(document))
    return path


def _multiproc(directory: Path, **kwargs: object) -> Telemetry:
    return otel_agentkit.configure(
        "mp",
        metrics_exporter="prometheus",
        prometheus_server=False,
        prometheus_registry=CollectorRegistry(),
        metrics_multiprocess_dir=directory,
        **kwargs,  # type: ignore[arg-type]
    )


def _scrape(telemetry: Telemetry) -> str:
    return telemetry.render_metrics()[0].decode()


def _violations(count: int, name: str = "pii") -> Callable[[Meter], None]:
    def record(meter: Meter) -> None:
        meter.create_counter(semconv.AGENTKIT_GUARDRAIL_VIOLATIONS).add(
            count, {semconv.AGENTKIT_GUARDRAIL_NAME: name}
        )

    return record


def _durations(*values: float) -> Callable[[Meter], None]:
    def record(meter: Meter) -> None:
        histogram = meter.create_histogram(DURATION, unit=semconv.UNIT_SECONDS)
        for value in values:
            histogram.record(value, {semconv.GEN_AI_OPERATION_NAME: "chat"})

    return record


def _active(delta: int) -> Callable[[Meter], None]:
    def record(meter: Meter) -> None:
        meter.create_up_down_counter(ACTIVE).add(delta)

    return record


def _level(value: float) -> Callable[[Meter], None]:
    def record(meter: Meter) -> None:
        def observe(options: CallbackOptions) -> Iterator[Observation]:
            yield Observation(value)

        meter.create_observable_gauge(LEVEL, callbacks=[observe])

    return record


# -- merge semantics ---------------------------------------------------------------


def test_counters_sum_over_live_and_dead_workers_per_attribute_set(
    tmp_path: Path, dead_pid: int
) -> None:
    _write_worker(tmp_path, LIVE_PID, _violations(3))
    _write_worker(tmp_path, dead_pid, _violations(4))
    _write_worker(tmp_path, dead_pid + 100_000, _violations(5, name="toxicity"))
    telemetry = _multiproc(tmp_path)
    _violations(2)(otel_agentkit_meter())

    text = _scrape(telemetry)
    assert prom_value(text, VIOLATIONS, **{GUARDRAIL: "pii"}) == 3 + 4 + 2
    assert prom_value(text, VIOLATIONS, **{GUARDRAIL: "toxicity"}) == 5
    # one sample per attribute set, not one per worker
    samples = [
        s for f in text_string_to_metric_families(text) for s in f.samples if s.name == VIOLATIONS
    ]
    assert len(samples) == 2


def otel_agentkit_meter() -> Meter:
    from opentelemetry import metrics

    return metrics.get_meter_provider().get_meter(SCOPE)


def test_histograms_sum_bucket_by_bucket_with_semconv_bounds(tmp_path: Path, dead_pid: int) -> None:
    _write_worker(tmp_path, LIVE_PID, _durations(0.005, 1.5))
    _write_worker(tmp_path, dead_pid, _durations(1.5, 30.0))
    telemetry = _multiproc(tmp_path)
    _durations(0.3)(otel_agentkit_meter())

    text = _scrape(telemetry)
    chat = {semconv.prometheus_label(semconv.GEN_AI_OPERATION_NAME): "chat"}
    assert prom_value(text, DURATION_COUNT, **chat) == 5
    assert prom_value(text, DURATION_SUM, **chat) == pytest.approx(0.005 + 1.5 + 1.5 + 30 + 0.3)
    bounds = [
        s.labels["le"]
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == DURATION_BUCKET
    ]
    assert [float(b) for b in bounds[:-1]] == list(semconv.GEN_AI_DURATION_BUCKETS)
    expected = {
        bound: sum(v <= bound for v in (0.005, 1.5, 1.5, 30.0, 0.3))
        for bound in semconv.GEN_AI_DURATION_BUCKETS
    }
    for bound, count in expected.items():
        le = next(b for b in bounds if b != "+Inf" and float(b) == bound)
        assert prom_value(text, DURATION_BUCKET, le=le, **chat) == count, bound
    assert prom_value(text, DURATION_BUCKET, le="+Inf", **chat) == 5


def test_up_down_counters_sum_live_workers_only(tmp_path: Path, dead_pid: int) -> None:
    _write_worker(tmp_path, LIVE_PID, _active(3))
    _write_worker(tmp_path, dead_pid, _active(50))  # its in-flight work died with it
    telemetry = _multiproc(tmp_path)
    _active(1)(otel_agentkit_meter())
    assert prom_value(_scrape(telemetry), "test_active") == 3 + 1


def test_gauges_take_the_latest_live_value(tmp_path: Path, dead_pid: int) -> None:
    _write_worker(tmp_path, LIVE_PID, _level(0.5))
    time.sleep(0.01)
    _write_worker(tmp_path, dead_pid, _level(9.0))  # newer, but dead
    telemetry = _multiproc(tmp_path)
    text = _scrape(telemetry)
    assert prom_value(text, "test_level") == 0.5

    _level(0.25)(otel_agentkit_meter())  # this process observes at scrape time: newest
    assert prom_value(_scrape(telemetry), "test_level") == 0.25


def test_an_older_file_of_a_reused_pid_is_not_live(tmp_path: Path) -> None:
    _write_worker(tmp_path, LIVE_PID, _active(40))  # an earlier process with this pid
    time.sleep(0.01)
    _write_worker(tmp_path, LIVE_PID, _active(2))
    telemetry = _multiproc(tmp_path)
    assert prom_value(_scrape(telemetry), "test_active") == 2


def test_corrupt_and_foreign_files_are_skipped_without_failing_the_scrape(
    tmp_path: Path, dead_pid: int, caplog: pytest.LogCaptureFixture
) -> None:
    _write_worker(tmp_path, LIVE_PID, _violations(3))
    (tmp_path / "metrics-1-aaaa.json").write_text('{"format": 1, "pid": 1, "wri')  # truncated
    (tmp_path / "metrics-2-bbbb.json").write_bytes(b"\xff\xfe garbage")
    (tmp_path / "metrics-3-cccc.json").write_text(json.dumps({"format": 99, "pid": 3}))
    good = _write_worker(tmp_path, dead_pid, _violations(4))
    # A well-formed file with one bad point contributes nothing, not half of itself.
    half = json.loads(good.read_text())
    half["pid"] = dead_pid + 1
    half["scopes"][0]["metrics"].append(
        {"name": "x", "description": "", "unit": "", "type": "counter", "points": [{"a": {}}]}
    )
    (tmp_path / "metrics-4-dddd.json").write_text(json.dumps(half))
    (tmp_path / "counter_123.db").write_bytes(b"\0" * 16)  # prometheus_client's own file
    telemetry = _multiproc(tmp_path)

    with caplog.at_level("DEBUG", logger="otel_agentkit"):
        text = _scrape(telemetry)
    assert prom_value(text, VIOLATIONS, **{GUARDRAIL: "pii"}) == 3 + 4
    skipped = " ".join(r.getMessage() for r in caplog.records)
    for name in ("metrics-1-aaaa.json", "metrics-2-bbbb.json", "metrics-3-cccc.json"):
        assert name in skipped
    assert "metrics-4-dddd.json" in skipped


def test_scrape_has_the_names_and_label_sets_of_the_single_process_reader(
    tmp_path: Path,
) -> None:
    def record(meter: Meter) -> None:
        _violations(1)(meter)
        _durations(0.2)(meter)
        _active(1)(meter)
        _level(1.0)(meter)
        meter.create_histogram(semconv.GEN_AI_CLIENT_TOKEN_USAGE, unit=semconv.UNIT_TOKENS).record(
            10, {semconv.GEN_AI_TOKEN_TYPE: semconv.TOKEN_TYPE_INPUT}
        )

    def shape(text: str) -> set[tuple[str, str, tuple[str, ...]]]:
        return {
            (family.type, sample.name, tuple(sorted(sample.labels)))
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    single = otel_agentkit.configure(
        "mp",
        metrics_exporter="prometheus",
        prometheus_server=False,
        prometheus_registry=CollectorRegistry(),
    )
    record(otel_agentkit_meter())
    expected = shape(_scrape(single))
    otel_agentkit.shutdown()

    multi = _multiproc(tmp_path)
    record(otel_agentkit_meter())
    got = shape(_scrape(multi))
    assert got == expected
    assert any(name == DURATION_BUCKET for _, name, _ in got)


def test_openmetrics_when_asked(tmp_path: Path) -> None:
    telemetry = _multiproc(tmp_path)
    _violations(1)(otel_agentkit_meter())
    body, content_type = telemetry.render_metrics("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.decode().rstrip().endswith("# EOF")
    assert "agentkit_guardrail_violations_total{" in body.decode()


# -- writing: periodic, at shutdown, after fork ------------------------------------------


def test_each_process_writes_its_state_periodically_and_at_shutdown(tmp_path: Path) -> None:
    _multiproc(tmp_path)
    _violations(6)(otel_agentkit_meter())
    deadline = time.monotonic() + WRITE_INTERVAL_S * 5
    while time.monotonic() < deadline:
        states = [s for s in read_states(tmp_path) if s.scopes]
        if states:
            break
        time.sleep(0.05)
    [state] = states
    assert state.pid == os.getpid()
    assert state.live

    _violations(1)(otel_agentkit_meter())
    otel_agentkit.shutdown()  # the final state is written
    [state] = read_states(tmp_path)
    [counter] = [m for s in state.scopes for m in s["metrics"] if m["type"] == "counter"]
    assert counter["points"][0]["v"] == 7


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_after_configure_writes_its_own_file(tmp_path: Path) -> None:
    telemetry = _multiproc(tmp_path)
    _violations(1)(otel_agentkit_meter())
    _scrape(telemetry)  # the parent's file exists before the fork
    _violations(2)(otel_agentkit_meter())  # recorded after the last write: only the fork sees it
    _durations(0.2, 0.3)(otel_agentkit_meter())
    pid = os.fork()
    if pid == 0:  # child: record, flush through the normal shutdown path, leave quietly
        code = 1
        try:
            _violations(10)(otel_agentkit_meter())
            _durations(3.0)(otel_agentkit_meter())
            otel_agentkit.shutdown()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0

    by_pid = {s.pid: s for s in read_states(tmp_path)}
    assert set(by_pid) == {os.getpid(), pid}
    # The child's SDK inherited the parent's 3 (snapshotted at the fork): its
    # file holds only its own 10, and the parent's file is the parent's.
    [parent_counter] = [
        m for s in by_pid[os.getpid()].scopes for m in s["metrics"] if m["type"] == "counter"
    ]
    assert parent_counter["points"][0]["v"] == 3
    [child_counter, child_histogram] = sorted(
        (m for s in by_pid[pid].scopes for m in s["metrics"]), key=lambda m: m["type"]
    )
    assert child_counter["points"][0]["v"] == 10
    assert child_histogram["points"][0]["count"] == 1
    assert child_histogram["points"][0]["sum"] == pytest.approx(3.0)
    text = _scrape(telemetry)
    assert prom_value(text, VIOLATIONS) == 3 + 10
    assert prom_value(text, DURATION_COUNT) == 3
    assert prom_value(text, DURATION_BUCKET, le="+Inf") == 3
    assert prom_value(text, DURATION_SUM) == pytest.approx(3.5)


# -- settings, server, clearing ---------------------------------------------------------


def test_missing_or_unusable_directory_is_a_configuration_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigurationError) as info:
        _multiproc(missing)
    assert info.value.setting == "metrics_multiprocess_dir"
    assert str(missing) in str(info.value)
    assert "does not exist" in str(info.value)

    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(ConfigurationError, match="not a directory"):
        _multiproc(a_file)
    assert otel_agentkit.get_telemetry() is None


def test_unwritable_directory_is_a_configuration_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # Root may write to any ordinary directory (CI runs as root), but procfs
        # refuses new files even to root: a real directory nobody can write.
        locked = Path("/proc/self")
        assert locked.is_dir()
        assert not os.access(locked, os.W_OK)
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
    with pytest.raises(ConfigurationError, match="not writable") as caught:
        _multiproc(locked)
    assert str(locked) in str(caught.value)


def test_env_vars_turn_it_on_agentkit_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otel_agentkit.telemetry.settings import resolve_settings

    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(other))
    assert resolve_settings().metrics_multiprocess_dir == str(other)
    monkeypatch.setenv("AGENTKIT_METRICS_MULTIPROC_DIR", str(tmp_path))
    assert resolve_settings().metrics_multiprocess_dir == str(tmp_path)
    # without the prometheus exporter there is nothing to merge
    assert resolve_settings(metrics_exporter="none").metrics_multiprocess_dir is None
    monkeypatch.setenv("AGENTKIT_METRICS_MULTIPROC_DIR", str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError) as info:
        resolve_settings()
    assert info.value.setting == "AGENTKIT_METRICS_MULTIPROC_DIR"


def test_standalone_server_serves_the_merge_and_tolerates_a_taken_port(
    tmp_path: Path, dead_pid: int
) -> None:
    _write_worker(tmp_path, dead_pid, _violations(4))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # another worker holds the port: this one still starts, without a server
        telemetry = otel_agentkit.configure(
            "mp", prometheus_port=port, metrics_multiprocess_dir=tmp_path
        )
        assert telemetry.prometheus_port is None
        assert telemetry.metrics_multiprocess_dir == str(tmp_path)
        otel_agentkit.shutdown()

    telemetry = otel_agentkit.configure("mp", prometheus_port=0, metrics_multiprocess_dir=tmp_path)
    _violations(1)(otel_agentkit_meter())
    with urllib.request.urlopen(telemetry.prometheus_url or "", timeout=5) as response:
        text = response.read().decode()
    assert prom_value(text, VIOLATIONS) == 5


def test_clear_multiprocess_dir_removes_only_state_files(tmp_path: Path) -> None:
    _write_worker(tmp_path, LIVE_PID, _violations(1))
    _write_worker(tmp_path, LIVE_PID + 1, _violations(1))
    (tmp_path / ".metrics-9-x.json.1.tmp").write_text("")
    (tmp_path / "counter_123.db").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("keep")
    assert clear_multiprocess_dir(tmp_path) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_123.db", "notes.txt"]
    with pytest.raises(ConfigurationError):
        clear_multiprocess_dir(tmp_path / "missing")


def test_cli_clears_the_configured_directory_and_doctor_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from otel_agentkit import cli

    _write_worker(tmp_path, LIVE_PID, _violations(1))
    _write_worker(tmp_path, LIVE_PID + 1, _violations(1))
    assert cli.main(["clear-metrics-dir"]) == 2  # nothing configured
    assert "AGENTKIT_METRICS_MULTIPROC_DIR" in capsys.readouterr().err

    monkeypatch.setenv("AGENTKIT_METRICS_MULTIPROC_DIR", str(tmp_path))
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert f"prometheus multi-process dir: {tmp_path} (from AGENTKIT_METRICS_MULTIPROC_DIR)" in out

    assert cli.main(["clear-metrics-dir"]) == 0
    assert f"removed 2 metric state files from {tmp_path}" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
    assert cli.main(["clear-metrics-dir", str(tmp_path / "missing")]) == 2


# -- compaction of exited workers' files ----------------------------------------------


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))


def test_long_exited_workers_are_folded_into_the_archive_without_changing_totals(
    tmp_path: Path, dead_pid: int
) -> None:
    old = STALE_S + 5
    for i in range(3):  # restarted workers, long gone
        _write_worker(tmp_path, dead_pid + 100_000 * i, _violations(1 + i), age_s=old)
    _write_worker(tmp_path, dead_pid + 400_000, _durations(0.2, 3.0), age_s=old)
    _write_worker(tmp_path, dead_pid + 500_000, _active(7), age_s=old)  # dropped: dead
    recent = _write_worker(tmp_path, dead_pid, _violations(10))  # exited a moment ago
    live = _write_worker(tmp_path, LIVE_PID, _violations(100), age_s=old)  # alive: kept
    telemetry = _multiproc(tmp_path)
    _durations(0.2)(otel_agentkit_meter())

    def totals(text: str) -> tuple[float, float, float]:
        return (
            prom_value(text, VIOLATIONS),
            prom_value(text, DURATION_COUNT),
            prom_value(text, DURATION_SUM),
        )

    first = _scrape(telemetry)  # compacts
    assert totals(first) == (1 + 2 + 3 + 10 + 100, 3, pytest.approx(3.4))
    assert "test_active" not in first
    files = _files(tmp_path)
    assert ARCHIVE_NAME in files
    assert recent.name in files
    assert live.name in files
    assert len(files) == 4  # archive, recent, live, this process
    assert totals(_scrape(telemetry)) == totals(first)

    # more restarts later: folded into the same archive, totals keep adding up
    _write_worker(tmp_path, dead_pid + 600_000, _violations(1000), age_s=old)
    assert compact(tmp_path) == 1
    assert prom_value(_scrape(telemetry), VIOLATIONS) == 1 + 2 + 3 + 10 + 100 + 1000


def test_a_file_left_behind_by_a_crashed_compaction_is_not_counted_twice(
    tmp_path: Path, dead_pid: int
) -> None:
    gone = _write_worker(tmp_path, dead_pid, _violations(5), age_s=STALE_S + 5)
    content = gone.read_bytes()
    assert compact(tmp_path) == 1
    assert not gone.exists()
    gone.write_bytes(content)  # as if the compactor died between rename and unlink
    telemetry = _multiproc(tmp_path)
    assert prom_value(_scrape(telemetry), VIOLATIONS) == 5


def test_compaction_is_skipped_while_another_process_compacts(
    tmp_path: Path, dead_pid: int
) -> None:
    _write_worker(tmp_path, dead_pid, _violations(5), age_s=STALE_S + 5)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(tmp_path / '.metrics-compact.lock')!r}, os.O_CREAT | os.O_RDWR)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        assert compact(tmp_path) == 0
    finally:
        holder.communicate("")
    assert compact(tmp_path) == 1


_SCRAPER = """
import json, sys, time
from prometheus_client import CollectorRegistry
import otel_agentkit
from tests.web_helpers import prom_value

telemetry = otel_agentkit.configure(
    "mp", metrics_exporter="prometheus", traces_exporter="none", prometheus_server=False,
    prometheus_registry=CollectorRegistry(), metrics_multiprocess_dir=sys.argv[1],
)
print("ready", flush=True)
seen = []
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    text = telemetry.render_metrics()[0].decode()
    seen.append(prom_value(text, sys.argv[3]) if sys.argv[3] in text else 0.0)
print(json.dumps(seen), flush=True)
"""


def test_concurrent_scrapes_while_compacting_never_double_count_or_dip(tmp_path: Path) -> None:
    """Four processes scrape (and compact) while exited workers' files keep appearing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTKIT_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    scrapers = [
        subprocess.Popen(
            [sys.executable, "-c", _SCRAPER, str(tmp_path), "2.5", VIOLATIONS],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    for scraper in scrapers:
        assert scraper.stdout is not None
        assert scraper.stdout.readline().strip() == "ready"
    added = 0
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:  # pids above pid_max: never alive
        _write_worker(tmp_path, 10_000_000 + added, _violations(1), age_s=STALE_S + 5)
        added += 1
        time.sleep(0.01)
    outputs = [scraper.communicate(timeout=30)[0] for scraper in scrapers]
    for output in outputs:
        seen = json.loads(output.strip().splitlines()[-1])
        assert len(seen) > 5
        assert all(a <= b for a, b in itertools.pairwise(seen)), seen  # never dips
        assert max(seen) <= added  # never counts a file twice
    assert ARCHIVE_NAME in _files(tmp_path)
    telemetry = _multiproc(tmp_path)
    assert prom_value(_scrape(telemetry), VIOLATIONS) == added


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_fork_while_the_parent_writes_does_not_leave_the_child_locked(tmp_path: Path) -> None:
    import threading

    telemetry = _multiproc(tmp_path)
    reader = telemetry._prometheus_reader
    exporter = reader._writer  # type: ignore[union-attr]
    snapshot = reader._before_fork  # type: ignore[union-attr]
    grabbed, release = threading.Event(), threading.Event()

    def writer_thread() -> None:
        with exporter._lock:  # the periodic writer is mid-write at the fork
            grabbed.set()
            release.wait(10)

    def snapshot_then_writer_grabs_the_lock() -> None:
        snapshot()
        threading.Thread(target=writer_thread, daemon=True).start()
        assert grabbed.wait(5)

    reader._before_fork = snapshot_then_writer_grabs_the_lock  # type: ignore[union-attr]
    try:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _violations(3)(otel_agentkit_meter())
                otel_agentkit.shutdown()  # writes the final state: needs the lock
                code = 0
            finally:
                os._exit(code)
    finally:
        release.set()
        del reader._before_fork  # type: ignore[union-attr]
    deadline = time.monotonic() + 10
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung writing its state")
        time.sleep(0.02)
    assert os.waitstatus_to_exitcode(status) == 0
    assert {s.pid for s in read_states(tmp_path)} >= {pid}


# -- writing only what changed, exemplars ----------------------------------------------


def test_an_idle_process_does_not_collect_and_a_write_appends_only_what_changed(
    tmp_path: Path,
) -> None:
    telemetry = _multiproc(tmp_path)
    reader = telemetry._prometheus_reader
    assert reader is not None
    meter = otel_agentkit_meter()
    _violations(1)(meter)
    _violations(1, name="toxicity")(meter)
    reader.write_if_changed()  # type: ignore[attr-defined]
    [path] = [p for p in tmp_path.iterdir() if p.name.startswith("metrics-")]
    written = path.read_bytes()
    assert written.count(b"\n") == 1  # one snapshot line

    assert reader.write_if_changed() is False  # type: ignore[attr-defined]
    assert path.read_bytes() == written  # nothing recorded: nothing collected or written

    _violations(5, name="toxicity")(meter)
    assert reader.write_if_changed() is True  # type: ignore[attr-defined]
    update = json.loads(path.read_bytes()[len(written) :])
    [scope] = update["scopes"]
    [metric] = scope["metrics"]
    assert [(p["a"], p["v"]) for p in metric["points"]] == [({GUARDRAIL_ATTR: "toxicity"}, 6)]
    [state] = read_states(tmp_path)
    totals = {p["a"][GUARDRAIL_ATTR]: p["v"] for p in state.scopes[0]["metrics"][0]["points"]}
    assert totals == {"pii": 1, "toxicity": 6}


def test_exemplars_of_other_workers_reach_the_openmetrics_scrape(tmp_path: Path) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse

    tracer = TracerProvider().get_tracer("worker")
    with tracer.start_as_current_span("llm call") as span:
        context = span.get_span_context()
        _write_worker(tmp_path, LIVE_PID, _durations(0.3))
    assert trace.get_current_span() is not span
    telemetry = _multiproc(tmp_path)
    body, _ = telemetry.render_metrics("application/openmetrics-text; version=1.0.0")
    exemplars = [
        (sample.labels["le"], sample.exemplar)
        for family in om_parse(body.decode())
        for sample in family.samples
        if sample.name == DURATION_BUCKET and sample.exemplar is not None
    ]
    assert [(le, e.labels) for le, e in exemplars] == [
        ("0.32", {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"})
    ]
    assert "trace_id" not in _scrape(telemetry)  # the text format stays without them
