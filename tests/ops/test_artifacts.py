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


def test_every_target_prometheus_scrapes_starts_with_docker_compose_up() -> None:
    """A scrape target that `docker compose up` does not start is a down target: a page."""
    files = stack.build_stack()
    services = yaml.safe_load(files[stack.COMPOSE])["services"]
    started = {name for name, service in services.items() if not service.get("profiles")}
    prometheus = yaml.safe_load(files[stack.PROMETHEUS_CONFIG])
    hosts = {
        target.split(":")[0]
        for job in prometheus["scrape_configs"]
        for config in job.get("static_configs", [])
        for target in config["targets"]
    }
    app_host = stack.DEFAULT_APP_TARGET.split(":")[0]  # the app runs on the host
    assert hosts - {app_host, "localhost"} <= started
    alertmanagers = prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert {t.split(":")[0] for t in alertmanagers} <= started


def test_kubernetes_alerts_reach_an_alertmanager_and_otlp_reaches_a_collector() -> None:
    files = stack.build_stack()
    configmap = yaml.safe_load(files[stack.K8S_PROMETHEUS])
    config = yaml.safe_load(configmap["data"]["prometheus.yml"])
    (target,) = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    services = {
        doc["metadata"]["name"]: doc
        for path in (stack.K8S_APP, stack.K8S_COLLECTOR, stack.K8S_ALERTMANAGER)
        for doc in yaml.safe_load_all(files[path])
        if doc["kind"] == "Service"
    }
    host, port = target.split(":")
    assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}
    deployment = next(
        d for d in yaml.safe_load_all(files[stack.K8S_APP]) if d["kind"] == "Deployment"
    )
    env = {
        e["name"]: e.get("value")
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    endpoint = env["OTEL_EXPORTER_OTLP_ENDPOINT"].removeprefix("http://")
    otlp_host, otlp_port = endpoint.split(":")
    assert int(otlp_port) in {p["port"] for p in services[otlp_host]["spec"]["ports"]}
    # each Deployment mounts the ConfigMap shipped with it
    for path in (stack.K8S_COLLECTOR, stack.K8S_ALERTMANAGER):
        configmap, deployment, _ = yaml.safe_load_all(files[path])
        (volume,) = deployment["spec"]["template"]["spec"]["volumes"]
        assert volume["configMap"]["name"] == configmap["metadata"]["name"]


def test_every_generated_yaml_file_round_trips_through_pyyaml() -> None:
    """What the generators model is what a YAML reader gets back, file by file."""
    from otel_agentkit.ops import _yamltext

    files = stack.build_stack()
    models = {
        stack.COMPOSE: [stack.compose()],
        stack.PROMETHEUS_CONFIG: [stack.prometheus_config()],
        stack.PROMETHEUS_RULES: [alerts.build_rules()],
        stack.ALERTMANAGER_CONFIG: [stack.alertmanager_config()],
        stack.GRAFANA_DATASOURCES: [stack.grafana_datasources()],
        stack.GRAFANA_DASHBOARD_PROVIDER: [stack.grafana_dashboard_provider()],
        stack.COLLECTOR_CONFIG: [stack.collector_config()],
        stack.K8S_APP: stack.kubernetes_app(),
        stack.K8S_PROMETHEUS: [stack.kubernetes_prometheus()],
        stack.K8S_COLLECTOR: stack.kubernetes_collector(),
        stack.K8S_ALERTMANAGER: stack.kubernetes_alertmanager(),
    }
    assert set(models) == {p for p in files if not p.endswith(".json")}
    for path, documents in models.items():
        assert list(yaml.safe_load_all(files[path])) == documents, path
    # values the hand-written writer got wrong come back as written
    awkward = {
        "tiny": 1e-07,
        "inf": float("inf"),
        "separator": "a\u2028b",
        "ends": "text\n",
        "reserved": "yes",
        "number": "15",
    }
    assert yaml.safe_load(_yamltext.dump(awkward, header="h")) == awkward


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
