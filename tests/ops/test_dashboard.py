"""The generated Grafana dashboard: structure, names from the catalog, importability."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.models import dashboard as grafana_dashboard
from grafana_foundation_sdk.models import prometheus as grafana_prometheus

from otel_agentkit import semconv
from otel_agentkit.ops import catalog, dashboards, stack
from otel_agentkit.ops.alerts import AlertThresholds
from tests.ops.dashboard_validator import validate
from tests.ops.ops_helpers import families_in, panel_targets

UIDS = stack.provisioned_datasource_uids()


@pytest.fixture
def model() -> dict[str, Any]:
    return dashboards.build_dashboard()


def test_generated_dashboard_is_structurally_valid(model: dict[str, Any]) -> None:
    assert validate(model, datasource_uids=UIDS) == []


def test_every_query_reads_only_catalog_series(model: dict[str, Any]) -> None:
    used: set[str] = set()
    for _title, expr in panel_targets(model):
        used |= families_in(expr)  # raises on a name no catalog family emits
    # ... and every family the catalog declares is charted somewhere.
    assert {f.name for f in catalog.FAMILIES} <= used


def test_rows_and_panels_the_issue_asks_for(model: dict[str, Any]) -> None:
    rows = [p["title"] for p in model["panels"] if p["type"] == "row"]
    assert rows == ["Traffic", "LLM", "Tools and agents", "Retrieval", "Process"]
    titles = {p["title"] for p in model["panels"]}
    for wanted in (
        "Request rate by route",
        "Server error rate % (5xx)",
        "Latency p50 / p95 / p99 by route",
        "LLM calls by provider / model",
        "LLM latency p95 by model",
        "Time to first chunk p95 by model",
        "Tokens per second by model and type",
        "Token totals",
        "Estimated cost (USD) by model",
        "Tool calls (top 10)",
        "Tool error rate %",
        "Agent invocation latency p95",
        "Retrieval latency p95 by store and collection",
        "Guardrail violations",
        "Notifications",
        "Scheduler triggers",
        "Rate-limit rejections",
        "Health checks not ok",
        "Tokens per hour by agent",
        "Estimated cost (USD) by agent",
        "Cost over time (USD per hour) by model",
        "Tool latency p95",
        "Time per output chunk p95 by model",
        "Memory",
        "Active requests",
    ):
        assert wanted in titles


def test_template_variables_and_panel_filters(model: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert set(variables) == {"datasource", "service", "instance", "model", "provider", "agent"}
    assert variables["datasource"]["current"]["value"] == dashboards.DEFAULT_DATASOURCE
    assert "job" in variables["service"]["definition"]
    model_label = semconv.prometheus_label(semconv.GEN_AI_REQUEST_MODEL)
    assert model_label in variables["model"]["definition"]
    for title, expr in panel_targets(model):
        assert 'job=~"$service"' in expr, title
        if families_in(expr) & {catalog.LLM_DURATION.name, catalog.LLM_TOKENS.name}:
            assert f'{model_label}=~"$model"' in expr, title
            assert 'gen_ai_provider_name=~"$provider"' in expr, title
        if families_in(expr) & {catalog.LLM_TOKENS.name, catalog.LLM_COST.name}:
            assert 'gen_ai_agent_name=~"$agent"' in expr, title


def test_datasource_option_sets_the_default(model: dict[str, Any]) -> None:
    custom = dashboards.build_dashboard(datasource="Mimir")
    ds_var = next(v for v in custom["templating"]["list"] if v["name"] == "datasource")
    assert ds_var["current"] == {"selected": True, "text": "Mimir", "value": "Mimir"}
    assert custom["panels"] == model["panels"]  # panels go through the variable


def test_latency_panels_link_to_traces(model: dict[str, Any]) -> None:
    linked = {
        p["title"]: p
        for p in model["panels"]
        if p.get("fieldConfig", {}).get("defaults", {}).get("links")
    }
    assert "LLM latency p95 by model" in linked
    assert "Latency p50 / p95 / p99 by route" in linked
    for panel in linked.values():
        (link,) = panel["fieldConfig"]["defaults"]["links"]
        assert link["url"].startswith(dashboards.DEFAULT_TRACES_URL + "/search?service=")
        assert any(t.get("exemplar") for t in panel["targets"])
    # Exemplars resolve to Jaeger through the provisioned Prometheus datasource.
    prom = next(d for d in stack.grafana_datasources()["datasources"] if d["type"] == "prometheus")
    (dest,) = prom["jsonData"]["exemplarTraceIdDestinations"]
    assert dest["datasourceUid"] == dashboards.JAEGER_UID
    assert dashboards.JAEGER_UID in UIDS


def test_grafana_foundation_sdk_decodes_every_panel(model: dict[str, Any]) -> None:
    plugins.register_default_plugins()
    decoded = grafana_dashboard.Dashboard.from_json(json.loads(dashboards.render_dashboard()))
    assert decoded.uid == dashboards.DASHBOARD_UID
    assert decoded.panels is not None
    assert len(decoded.panels) == len(model["panels"])
    for original, panel in zip(model["panels"], decoded.panels, strict=True):
        assert panel.id_val == original["id"]
        assert panel.grid_pos is not None
        assert (panel.grid_pos.x, panel.grid_pos.y, panel.grid_pos.w, panel.grid_pos.h) == (
            original["gridPos"]["x"],
            original["gridPos"]["y"],
            original["gridPos"]["w"],
            original["gridPos"]["h"],
        )
        if original["type"] == "row":
            assert isinstance(panel, grafana_dashboard.RowPanel)
            continue
        assert isinstance(panel, grafana_dashboard.Panel)
        assert panel.targets is not None
        for target, source in zip(panel.targets, original["targets"], strict=True):
            assert isinstance(target, grafana_prometheus.Dataquery)
            assert target.expr == source["expr"]


# The validator must catch what it claims to: each broken copy yields a clear problem.
def _first_panel(model: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in model["panels"] if p["type"] != "row")


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda m: m["panels"][2].update(id=m["panels"][1]["id"]), "already used by"),
        (lambda m: _first_panel(m)["gridPos"].update(x=20, w=8), "leaves the 24-column grid"),
        (lambda m: m["panels"][2]["gridPos"].update(m["panels"][1]["gridPos"]), "overlaps"),
        (lambda m: _first_panel(m)["targets"][0].update(expr=""), "has no expr"),
        (
            lambda m: _first_panel(m)["targets"][0]["datasource"].update(uid="nope"),
            "datasource 'nope' is neither",
        ),
        (
            lambda m: _first_panel(m)["targets"][0].update(expr='up{job=~"$tenant"}'),
            "undefined variable $tenant",
        ),
        (lambda m: _first_panel(m).pop("gridPos"), "gridPos needs integer"),
    ],
)
def test_validator_reports_broken_dashboards(
    model: dict[str, Any], breakage: Any, message: str
) -> None:
    broken = copy.deepcopy(model)
    breakage(broken)
    problems = validate(broken, datasource_uids=UIDS)
    assert any(message in p for p in problems), problems


def _groupings(expr: str) -> list[list[str]]:
    """The label lists of every ``by (...)`` in a PromQL expression."""
    return [[x.strip() for x in g.split(",")] for g in re.findall(r"\bby \(([^)]*)\)", expr)]


def test_trace_links_name_a_label_their_queries_keep(model: dict[str, Any]) -> None:
    """``${__field.labels.job}`` opens an empty Jaeger service unless every series has job."""
    linked = [
        p for p in model["panels"] if p.get("fieldConfig", {}).get("defaults", {}).get("links")
    ]
    assert len(linked) >= 6
    for panel in linked:
        (link,) = panel["fieldConfig"]["defaults"]["links"]
        used = set(re.findall(r"__field\.labels\.(\w+)", link["url"] + link["title"]))
        assert used == {"job"}, panel["title"]
        for target in panel["targets"]:
            groupings = _groupings(target["expr"])
            assert groupings, target["expr"]
            for labels in groupings:  # an aggregation that drops job loses the link
                assert used <= set(labels), (panel["title"], target["expr"])


def test_error_panel_shows_what_the_alert_pages_on(model: dict[str, Any]) -> None:
    panel = next(p for p in model["panels"] if p["title"] == "Server error rate % (5xx)")
    main = panel["targets"][0]["expr"]
    assert 'agentkit_http_status_class="5xx"' in main
    assert "4xx" not in main
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1]["value"] == AlertThresholds().http_error_ratio * 100


def test_panel_thresholds_and_units_match_the_alert_rules(model: dict[str, Any]) -> None:
    t = AlertThresholds()
    expected = {
        "LLM error rate %": ("percent", t.llm_error_ratio * 100),
        "LLM latency p95 by model": ("s", t.llm_latency_p95_seconds),
        "Time to first chunk p95 by model": ("s", t.ttfc_p95_seconds),
        "Tool error rate %": ("percent", t.tool_error_ratio * 100),
        "Tokens per hour by agent": ("short", t.token_budget_per_day / 24),
    }
    panels = {p["title"]: p for p in model["panels"]}
    for title, (unit, threshold) in expected.items():
        defaults = panels[title]["fieldConfig"]["defaults"]
        assert defaults["unit"] == unit, title
        assert defaults["thresholds"]["steps"][-1]["value"] == threshold, title


def test_agent_panels_group_by_agent(model: dict[str, Any]) -> None:
    panels = {p["title"]: p for p in model["panels"]}
    for title in ("Tokens per hour by agent", "Estimated cost (USD) by agent"):
        (target,) = panels[title]["targets"]
        assert any("gen_ai_agent_name" in g for g in _groupings(target["expr"])), title


def test_grafana_sdk_is_the_version_of_the_shipped_grafana() -> None:
    from importlib.metadata import version

    sdk = version("grafana-foundation-sdk").split("!")[-1]  # the epoch is the build
    assert sdk == stack.IMAGES["grafana"].rsplit(":", 1)[1]
