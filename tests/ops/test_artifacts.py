"""Committed artifacts match the generators, and the CLI writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from otel_agentkit import cli
from otel_agentkit.ops import alerts, dashboards, stack
from tests.ops.ops_helpers import ALERTS_FILE, DASHBOARD_FILE, DEPLOY_DIR, REGENERATE


def test_committed_dashboard_is_current() -> None:
    assert DASHBOARD_FILE.read_text() == dashboards.render_dashboard(), (
        f"{DASHBOARD_FILE} is stale; regenerate with: {REGENERATE}"
    )


def test_committed_rules_are_current() -> None:
    assert ALERTS_FILE.read_text() == alerts.render_rules(), (
        f"{ALERTS_FILE} is stale; regenerate with: {REGENERATE}"
    )


def test_committed_stack_is_current() -> None:
    expected = stack.build_stack()
    committed = {
        str(p.relative_to(DEPLOY_DIR)): p.read_text() for p in DEPLOY_DIR.rglob("*") if p.is_file()
    }
    missing = sorted(set(expected) - set(committed))
    extra = sorted(set(committed) - set(expected))
    stale = sorted(k for k in set(expected) & set(committed) if expected[k] != committed[k])
    assert (missing, extra, stale) == ([], [], []), (
        f"deploy/ is out of date (missing {missing}, not generated {extra}, stale {stale}); "
        f"regenerate with: {REGENERATE}"
    )


def test_stack_parses_and_wires_the_services() -> None:
    files = stack.build_stack()
    for path, text in files.items():
        if path.endswith(".json"):
            json.loads(text)
        else:
            assert list(yaml.safe_load_all(text)), path
    compose = yaml.safe_load(files[stack.COMPOSE])
    services = compose["services"]
    assert {"jaeger", "prometheus", "alertmanager", "grafana", "otel-collector"} <= set(services)
    assert {"4317:4317", "4318:4318", "16686:16686"} <= set(services["jaeger"]["ports"])
    assert "--enable-feature=exemplar-storage" in services["prometheus"]["command"]
    # Every file a service mounts is generated.
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0].removeprefix("./")
            assert any(p == source or p.startswith(source + "/") for p in files), volume
    # Grafana gets the same dashboard as dashboards/agentkit.json.
    assert files[stack.GRAFANA_DASHBOARD] == dashboards.render_dashboard()
    collector = yaml.safe_load(files[stack.COLLECTOR_CONFIG])
    assert collector["service"]["pipelines"]["traces"]["exporters"] == ["otlp/jaeger"]
    assert collector["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    prometheus = yaml.safe_load(files[stack.PROMETHEUS_CONFIG])
    scraped = {job["job_name"] for job in prometheus["scrape_configs"]}
    assert {stack.DEFAULT_SERVICE, "otel-collector"} <= scraped


def test_yaml_writer_round_trips_what_it_writes() -> None:
    from otel_agentkit.ops import _yaml

    value = {
        "plain": "abc",
        "reserved": "true",
        "number_like": "15s",
        "colon": "a: b",
        "quote": 'say "hi"',
        "multi": "line one\n  indented\nlast\n",
        "multi_no_end": "a\nb",
        "empty_list": [],
        "empty_map": {},
        "nested": [{"a": [1, 2.5, True, None]}, ["x", "y"]],
        "unicode": "héllo ✓",
    }
    assert yaml.safe_load(_yaml.dump(value, header="h1\nh2")) == value


def test_cli_writes_dashboard_alerts_and_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "d" / "dash.json"
    assert cli.main(["dashboard", "--out", str(out), "--datasource", "Thanos"]) == 0
    model = json.loads(out.read_text())
    assert model == dashboards.build_dashboard(datasource="Thanos")

    rules = tmp_path / "rules.yaml"
    argv = ["alerts", "--out", str(rules), "--http-error-ratio", "0.2", "--for-minutes", "7"]
    assert cli.main(argv) == 0
    assert rules.read_text() == alerts.render_rules(
        alerts.AlertThresholds(http_error_ratio=0.2, for_minutes=7)
    )

    target = tmp_path / "stack"
    assert cli.main(["stack", "--out", str(target), "--service", "my-agent"]) == 0
    files = stack.build_stack(stack.StackOptions(service="my-agent"))
    for relative, text in files.items():
        assert (target / relative).read_text() == text
    prometheus = yaml.safe_load((target / stack.PROMETHEUS_CONFIG).read_text())
    assert prometheus["scrape_configs"][0]["job_name"] == "my-agent"

    capsys.readouterr()
    assert cli.main(["dashboard"]) == 0
    assert json.loads(capsys.readouterr().out)["uid"] == dashboards.DASHBOARD_UID
