"""Prometheus rules and configs: promtool / amtool checks and promtool unit tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from otel_agentkit.ops import alerts, stack
from otel_agentkit.ops.alerts import AlertThresholds
from tests.conftest import require_binary
from tests.ops.ops_helpers import ALERT_TESTS_FILE, ALERTS_FILE, DEPLOY_DIR, families_in

pytestmark = pytest.mark.prometheus


def _run(*argv: str, cwd: Path | None = None) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=cwd)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(argv)} failed:\n{output}"
    return output


def test_promtool_check_rules_on_shipped_rules() -> None:
    out = _run(require_binary("promtool"), "check", "rules", str(ALERTS_FILE))
    count = len(alerts.recording_rules()) + len(alerts.alerting_rules())
    assert f"SUCCESS: {count} rules found" in out


def test_promtool_check_config_on_shipped_prometheus_yml() -> None:
    out = _run(
        require_binary("promtool"), "check", "config", str(DEPLOY_DIR / stack.PROMETHEUS_CONFIG)
    )
    assert "SUCCESS: 1 rule files found" in out


def test_kubernetes_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    configmap = yaml.safe_load((DEPLOY_DIR / stack.K8S_PROMETHEUS).read_text())
    config = yaml.safe_load(configmap["data"]["prometheus.yml"])
    # Debian builds Prometheus without Kubernetes service discovery, so its promtool
    # rejects kubernetes_sd_configs; swap in a static target and check the rest
    # (relabelling, rule files) as written.
    (job,) = config["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [{"role": "pod"}]
    job.pop("kubernetes_sd_configs")
    job["static_configs"] = [{"targets": ["127.0.0.1:9464"]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "alerts.yaml").write_text(configmap["data"]["alerts.yaml"])
    _run(promtool, "check", "config", str(tmp_path / "prometheus.yml"))


def test_kubernetes_manifests_carry_scrape_annotations() -> None:
    deployment, service = yaml.safe_load_all((DEPLOY_DIR / stack.K8S_APP).read_text())
    pod_annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert pod_annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(stack.METRICS_PORT),
        "prometheus.io/path": "/metrics",
    }
    assert service["metadata"]["annotations"] == pod_annotations
    ports = {
        p["name"]: p["containerPort"]
        for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
    }
    assert ports["metrics"] == stack.METRICS_PORT


def test_amtool_check_config_on_shipped_alertmanager_yml() -> None:
    out = _run(
        require_binary("amtool"), "check-config", str(DEPLOY_DIR / stack.ALERTMANAGER_CONFIG)
    )
    assert "SUCCESS" in out
    assert "2 receivers" in out


def test_alertmanager_routes_critical_to_pager_and_warning_to_chat() -> None:
    amtool = require_binary("amtool")
    config = str(DEPLOY_DIR / stack.ALERTMANAGER_CONFIG)
    for severity, receiver in ((alerts.CRITICAL, "pager"), (alerts.WARNING, "chat")):
        result = subprocess.run(
            [amtool, "config", "routes", "test", f"--config.file={config}",
             f"severity={severity}", "alertname=AgentkitTest"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == receiver


def test_promtool_unit_tests_for_every_alert() -> None:
    out = _run(require_binary("promtool"), "test", "rules", str(ALERT_TESTS_FILE))
    assert "SUCCESS" in out


def test_unit_tests_cover_every_alert_firing_and_silent() -> None:
    spec = yaml.safe_load(ALERT_TESTS_FILE.read_text())
    fires: set[str] = set()
    silent: set[str] = set()
    for group in spec["tests"]:
        for case in group.get("alert_rule_test", []):
            (fires if case.get("exp_alerts") else silent).add(case["alertname"])
    names = {rule["alert"] for rule in alerts.alerting_rules()}
    assert names - fires == set(), "alerts without a firing test"
    assert names - silent == set(), "alerts without a silent test"


def test_rules_read_only_catalog_series() -> None:
    for rule in alerts.recording_rules() + alerts.alerting_rules():
        families_in(rule["expr"])  # raises on a name no catalog family emits


def test_thresholds_are_parameters(tmp_path: Path) -> None:
    """A raised threshold silences the 10 %-5xx case that fires at the default 5 %."""
    promtool = require_binary("promtool")
    (tmp_path / "rules.yaml").write_text(alerts.render_rules(AlertThresholds(http_error_ratio=0.2)))
    spec = yaml.safe_load(ALERT_TESTS_FILE.read_text())
    case = next(t for t in spec["tests"] if t["name"] == "high error rate fires at 10% 5xx")
    for check in case["alert_rule_test"]:
        check["exp_alerts"] = []
    spec["tests"] = [case]
    spec["rule_files"] = ["rules.yaml"]
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(spec))
    _run(promtool, "test", "rules", str(tmp_path / "test.yaml"))

    rules = {r["alert"]: r for r in alerts.alerting_rules(AlertThresholds(
        llm_latency_p95_seconds=7.5, memory_ceiling_bytes=10**9, for_minutes=3
    ))}  # fmt: skip
    assert rules["AgentkitLLMLatencyHigh"]["expr"].endswith("> 7.5")
    assert rules["AgentkitMemoryCeiling"]["expr"].endswith("> 1000000000")
    assert rules["AgentkitHighErrorRate"]["for"] == "3m"


def test_every_threshold_is_documented() -> None:
    from dataclasses import fields

    assert set(AlertThresholds.field_help()) == {f.name for f in fields(AlertThresholds)}
    docs = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    for f in fields(AlertThresholds):
        row = f"| `--{f.name.replace('_', '-')}` | `{f.default}` |"
        assert row in docs, f"docs/operations.md lacks the threshold row {row!r}"


def test_the_target_down_inhibition_reaches_every_warning() -> None:
    """Every warning carries the labels the inhibit rule matches on, or it is never held back.

    The labels an alert carries are those its expression keeps: the ``by (...)``
    of its outermost aggregation (or every label, for an unaggregated selector).
    """
    import re

    config = stack.alertmanager_config()
    (rule,) = config["inhibit_rules"]
    assert rule["source_matchers"] == ['alertname="AgentkitTargetDown"']
    for alert in alerts.alerting_rules():
        if alert["labels"]["severity"] != alerts.WARNING:
            continue
        groupings = re.findall(r"\bby \(([^)]*)\)", alert["expr"])
        if not groupings:  # an unaggregated selector keeps job and instance
            continue
        kept = set.intersection(*({x.strip() for x in g.split(",")} - {"le"} for g in groupings))
        assert set(rule["equal"]) <= kept, (alert["alert"], kept)
