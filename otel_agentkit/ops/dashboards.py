"""Generate the otel-agentkit Grafana dashboard from the semconv metric names.

``build_dashboard()`` returns the dashboard model (a ``dict`` ready for
``json.dumps``); ``render_dashboard()`` returns the JSON text that
``otel-agentkit dashboard`` writes and ``dashboards/agentkit.json`` holds.

Every metric name in the PromQL comes from :mod:`otel_agentkit.ops.catalog`,
which derives it from :mod:`otel_agentkit.semconv`; nothing is retyped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from otel_agentkit import semconv
from otel_agentkit.ops import catalog as c
from otel_agentkit.ops.alerts import SERVER_ERROR_CLASS, AlertThresholds
from otel_agentkit.ops.catalog import label

#: Name of the Prometheus datasource the stack provisions.
DEFAULT_DATASOURCE: Final = "Prometheus"
#: uid of the provisioned Prometheus datasource (see :mod:`otel_agentkit.ops.stack`).
PROMETHEUS_UID: Final = "prometheus"
#: uid of the provisioned Jaeger datasource, target of exemplar links.
JAEGER_UID: Final = "jaeger"
#: Dashboard uid: stable, so re-imports replace the dashboard instead of duplicating it.
DASHBOARD_UID: Final = "otel-agentkit"
#: Where the Jaeger UI is, for the panel links from latency panels to traces.
DEFAULT_TRACES_URL: Final = "http://localhost:16686"

#: Template variables the panels filter on.
SERVICE_VAR: Final = "service"
INSTANCE_VAR: Final = "instance"
MODEL_VAR: Final = "model"
PROVIDER_VAR: Final = "provider"
AGENT_VAR: Final = "agent"
DATASOURCE_VAR: Final = "datasource"

_DS: Final = {"type": "prometheus", "uid": "${" + DATASOURCE_VAR + "}"}
_GRID_COLUMNS: Final = 24

# Selectors shared by all panels: the scrape job (one per service) and instance.
_SCOPE: Final = f'job=~"${SERVICE_VAR}", instance=~"${INSTANCE_VAR}"'
_LLM_SCOPE: Final = (
    f'{_SCOPE}, {label(semconv.GEN_AI_REQUEST_MODEL)}=~"${MODEL_VAR}", '
    f'{label(semconv.GEN_AI_PROVIDER_NAME)}=~"${PROVIDER_VAR}"'
)
# Calls outside any agent have no agent label: the "All" value (.*) matches them too.
_AGENT_SCOPE: Final = f'{_LLM_SCOPE}, {label(semconv.GEN_AI_AGENT_NAME)}=~"${AGENT_VAR}"'
_RATE: Final = "$__rate_interval"


def _sel(series: str, scope: str = _SCOPE, extra: str = "") -> str:
    matchers = f"{scope}, {extra}" if extra else scope
    return f"{series}{{{matchers}}}"


def _rate(series: str, scope: str = _SCOPE, extra: str = "") -> str:
    return f"rate({_sel(series, scope, extra)}[{_RATE}])"


def _quantile(q: float, family: c.Family, by: tuple[str, ...], scope: str = _SCOPE) -> str:
    # ``job`` stays: the panels' trace links open ``${__field.labels.job}`` in Jaeger.
    group = ", ".join(("le", "job", *(label(a) for a in by)))
    return f"histogram_quantile({q}, sum by ({group}) ({_rate(family.series('bucket'), scope)}))"


def _is_error(attribute: str) -> str:
    """Matcher for series where ``attribute`` (error.type) is set."""
    return f'{label(attribute)}!=""'


def _error_percent(series: str, by: tuple[str, ...], scope: str, error: str) -> str:
    """100 * failed / all, grouped ``by``; 0 (not empty) while nothing fails."""
    group = _by(*by)
    total = f"sum by ({group}) ({_rate(series, scope)})"
    return f"100 * (sum by ({group}) ({_rate(series, scope, error)}) or {total} * 0) / {total}"


def _by(*attributes: str) -> str:
    return ", ".join(label(a) for a in attributes)


def _legend(*attributes: str) -> str:
    return " ".join("{{" + label(a) + "}}" for a in attributes)


@dataclass
class Query:
    """One PromQL target of a panel."""

    expr: str
    legend: str = ""
    exemplar: bool = False
    instant: bool = False


@dataclass
class Panel:
    """One panel before layout."""

    title: str
    description: str
    queries: list[Query]
    unit: str = "short"
    kind: str = "timeseries"
    width: int = 8
    height: int = 8
    traces_link: bool = False
    #: The alert rule's threshold, drawn as a red line (same unit as the panel).
    threshold: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Row:
    """A collapsible row of panels."""

    title: str
    panels: list[Panel]


_ALERTS: Final = AlertThresholds()


def _traffic() -> Row:
    requests = c.HTTP_REQUESTS.series()
    errors = c.HTTP_ERRORS.series()
    route = semconv.HTTP_ROUTE
    status = label(semconv.AGENTKIT_HTTP_STATUS_CLASS)
    server_errors = f'{status}="{SERVER_ERROR_CLASS}"'
    client_errors = f'{status}="{semconv.HTTP_STATUS_CLASS_4XX}"'
    return Row(
        "Traffic",
        [
            Panel(
                "Request rate by route",
                "HTTP requests per second, by route template.",
                [Query(f"sum by ({_by(route)}) ({_rate(requests)})", _legend(route))],
                unit="reqps",
            ),
            Panel(
                "Server error rate % (5xx)",
                "Share of HTTP requests answered 5xx, as AgentkitHighErrorRate computes it "
                "(its threshold is the red line); client errors (4xx) are drawn apart.",
                [
                    Query(
                        f"100 * (sum({_rate(errors, extra=server_errors)})"
                        f" or sum({_rate(requests)}) * 0) / sum({_rate(requests)})",
                        "server errors (5xx)",
                    ),
                    Query(
                        f"100 * (sum({_rate(errors, extra=client_errors)})"
                        f" or sum({_rate(requests)}) * 0) / sum({_rate(requests)})",
                        "client errors (4xx)",
                    ),
                ],
                unit="percent",
                threshold=_ALERTS.http_error_ratio * 100,
            ),
            Panel(
                "Active requests",
                "Requests in flight (http.server.active_requests).",
                [Query(f"sum({_sel(c.HTTP_ACTIVE.series())})", "in flight")],
            ),
            Panel(
                "Latency p50 / p95 / p99 by route",
                "Server request duration quantiles, from http.server.request.duration.",
                [
                    Query(
                        _quantile(q, c.HTTP_DURATION, (route,)),
                        f"p{round(q * 100)} {_legend(route)}",
                        exemplar=True,
                    )
                    for q in (0.5, 0.95, 0.99)
                ],
                unit="s",
                width=16,
                traces_link=True,
            ),
            Panel(
                "Rate-limit rejections",
                "Requests rejected by the app's rate limiter, by endpoint.",
                [
                    Query(
                        f"sum by ({_by(semconv.AGENTKIT_RATE_LIMIT_ENDPOINT)})"
                        f" ({_rate(c.RATE_LIMIT_EXCEEDED.series())})",
                        _legend(semconv.AGENTKIT_RATE_LIMIT_ENDPOINT),
                    )
                ],
                unit="reqps",
            ),
        ],
    )


def _none_if_empty(expr: str, attribute: str) -> str:
    """``expr`` with an empty ``attribute`` label shown as ``(none)`` (calls outside agents)."""
    name = label(attribute)
    return f'label_replace({expr}, "{name}", "(none)", "{name}", "")'


def _llm() -> Row:
    provider, model = semconv.GEN_AI_PROVIDER_NAME, semconv.GEN_AI_REQUEST_MODEL
    token_type, error = semconv.GEN_AI_TOKEN_TYPE, semconv.ERROR_TYPE
    agent = semconv.GEN_AI_AGENT_NAME
    calls = c.LLM_DURATION.series("count")
    tokens = c.LLM_TOKENS.series("sum")
    cost = c.LLM_COST.series()
    return Row(
        "LLM",
        [
            Panel(
                "LLM calls by provider / model",
                "GenAI client operations per second.",
                [
                    Query(
                        f"sum by ({_by(provider, model)}) ({_rate(calls, _LLM_SCOPE)})",
                        _legend(provider, model),
                    )
                ],
                unit="reqps",
            ),
            Panel(
                "LLM error rate %",
                "Share of GenAI client operations that failed (error.type set), by model; "
                "the red line is AgentkitLLMErrorRate's threshold.",
                [
                    Query(
                        _error_percent(calls, (model,), _LLM_SCOPE, _is_error(error)),
                        _legend(model),
                    )
                ],
                unit="percent",
                threshold=_ALERTS.llm_error_ratio * 100,
            ),
            Panel(
                "LLM latency p95 by model",
                "gen_ai.client.operation.duration, 95th percentile; the red line is "
                "AgentkitLLMLatencyHigh's threshold. Exemplars link to the traces.",
                [
                    Query(
                        _quantile(0.95, c.LLM_DURATION, (model,), _LLM_SCOPE), _legend(model), True
                    )
                ],
                unit="s",
                traces_link=True,
                threshold=_ALERTS.llm_latency_p95_seconds,
            ),
            Panel(
                "Time to first chunk p95 by model",
                "gen_ai.client.operation.time_to_first_chunk (streaming calls), 95th percentile; "
                "the red line is AgentkitTimeToFirstChunkHigh's threshold.",
                [Query(_quantile(0.95, c.LLM_TTFC, (model,), _LLM_SCOPE), _legend(model), True)],
                unit="s",
                traces_link=True,
                threshold=_ALERTS.ttfc_p95_seconds,
            ),
            Panel(
                "Time per output chunk p95 by model",
                "gen_ai.client.operation.time_per_output_chunk (streaming calls): how fast "
                "a stream flows once it started, 95th percentile.",
                [Query(_quantile(0.95, c.LLM_TPOC, (model,), _LLM_SCOPE), _legend(model), True)],
                unit="s",
                traces_link=True,
            ),
            Panel(
                "Tokens per second by model and type",
                "gen_ai.client.token.usage summed per second, split by input/output.",
                [
                    Query(
                        f"sum by ({_by(model, token_type)}) ({_rate(tokens, _AGENT_SCOPE)})",
                        _legend(model, token_type),
                    )
                ],
            ),
            Panel(
                "Tokens per hour by agent",
                "Tokens used per hour by the calls each @traced_agent made ((none): calls "
                "outside any agent); the red line is the hourly share of "
                "AgentkitTokenBudgetBurn's daily budget.",
                [
                    Query(
                        _none_if_empty(
                            f"sum by ({_by(agent, token_type)}) "
                            f"({_rate(tokens, _AGENT_SCOPE)}) * 3600",
                            agent,
                        ),
                        _legend(agent, token_type),
                    )
                ],
                threshold=_ALERTS.token_budget_per_day / 24,
            ),
            Panel(
                "Token totals",
                "Tokens used over the dashboard's time range, by type.",
                [
                    Query(
                        f"sum by ({_by(token_type)}) "
                        f"(increase({_sel(tokens, _AGENT_SCOPE)}[$__range]))",
                        _legend(token_type),
                        instant=True,
                    )
                ],
                kind="stat",
            ),
            Panel(
                "Estimated cost (USD) by model",
                "agentkit.llm.cost.usd over the time range; empty when no prices are set.",
                [
                    Query(
                        f"sum by ({_by(model)}) (increase({_sel(cost, _AGENT_SCOPE)}[$__range]))",
                        _legend(model),
                        instant=True,
                    )
                ],
                unit="currencyUSD",
                kind="stat",
            ),
            Panel(
                "Estimated cost (USD) by agent",
                "agentkit.llm.cost.usd over the time range, by the agent that made the calls.",
                [
                    Query(
                        _none_if_empty(
                            f"sum by ({_by(agent)}) "
                            f"(increase({_sel(cost, _AGENT_SCOPE)}[$__range]))",
                            agent,
                        ),
                        _legend(agent),
                        instant=True,
                    )
                ],
                unit="currencyUSD",
                kind="stat",
            ),
            Panel(
                "Cost over time (USD per hour) by model",
                "agentkit.llm.cost.usd as a rate: spend per hour.",
                [
                    Query(
                        f"sum by ({_by(model)}) ({_rate(cost, _AGENT_SCOPE)}) * 3600",
                        _legend(model),
                    )
                ],
                unit="currencyUSD",
            ),
        ],
    )


def _tools_agents() -> Row:
    tool, agent, error = semconv.GEN_AI_TOOL_NAME, semconv.GEN_AI_AGENT_NAME, semconv.ERROR_TYPE
    tool_calls = c.TOOL_DURATION.series("count")
    return Row(
        "Tools and agents",
        [
            Panel(
                "Tool calls (top 10)",
                "The ten busiest tools, calls per second.",
                [Query(f"topk(10, sum by ({_by(tool)}) ({_rate(tool_calls)}))", _legend(tool))],
                unit="reqps",
            ),
            Panel(
                "Tool error rate %",
                "Share of tool executions that raised, by tool; the red line is "
                "AgentkitToolErrorRate's threshold.",
                [
                    Query(
                        _error_percent(tool_calls, (tool,), _SCOPE, _is_error(error)),
                        _legend(tool),
                    )
                ],
                unit="percent",
                threshold=_ALERTS.tool_error_ratio * 100,
            ),
            Panel(
                "Tool latency p95",
                "gen_ai.execute_tool.duration, 95th percentile, by tool.",
                [Query(_quantile(0.95, c.TOOL_DURATION, (tool,)), _legend(tool), True)],
                unit="s",
                traces_link=True,
            ),
            Panel(
                "Agent invocation latency p95",
                "gen_ai.invoke_agent.duration, 95th percentile, by agent.",
                [Query(_quantile(0.95, c.AGENT_DURATION, (agent,)), _legend(agent), True)],
                unit="s",
                traces_link=True,
            ),
            Panel(
                "Workflow latency p95",
                "gen_ai.invoke_workflow.duration, 95th percentile, by workflow.",
                [
                    Query(
                        _quantile(0.95, c.WORKFLOW_DURATION, (semconv.GEN_AI_WORKFLOW_NAME,)),
                        _legend(semconv.GEN_AI_WORKFLOW_NAME),
                        exemplar=True,
                    )
                ],
                unit="s",
                traces_link=True,
            ),
            Panel(
                "Guardrail violations",
                "Guardrail decisions other than allow, per second.",
                [
                    Query(
                        f"sum by ({_by(semconv.AGENTKIT_GUARDRAIL_NAME, semconv.AGENTKIT_GUARDRAIL_DECISION)})"  # noqa: E501
                        f" ({_rate(c.GUARDRAIL_VIOLATIONS.series())})",
                        _legend(
                            semconv.AGENTKIT_GUARDRAIL_NAME, semconv.AGENTKIT_GUARDRAIL_DECISION
                        ),
                    )
                ],
            ),
            Panel(
                "Notifications",
                "Outbound notifications and webhooks per second, by channel and status.",
                [
                    Query(
                        f"sum by ({_by(semconv.AGENTKIT_NOTIFICATION_CHANNEL, semconv.AGENTKIT_NOTIFICATION_STATUS)})"  # noqa: E501
                        f" ({_rate(c.NOTIFICATIONS.series())})",
                        _legend(
                            semconv.AGENTKIT_NOTIFICATION_CHANNEL,
                            semconv.AGENTKIT_NOTIFICATION_STATUS,
                        ),
                    )
                ],
            ),
            Panel(
                "Scheduler triggers",
                "Scheduled job runs per second, by job.",
                [
                    Query(
                        f"sum by ({_by(semconv.AGENTKIT_SCHEDULER_JOB)})"
                        f" ({_rate(c.SCHEDULER_TRIGGERS.series())})",
                        _legend(semconv.AGENTKIT_SCHEDULER_JOB),
                    )
                ],
                width=16,
            ),
        ],
    )


def _retrieval() -> Row:
    store, collection = semconv.DB_SYSTEM_NAME, semconv.DB_COLLECTION_NAME
    return Row(
        "Retrieval",
        [
            Panel(
                "Retrieval latency p95 by store and collection",
                "db.client.operation.duration of vector-store calls, 95th percentile.",
                [
                    Query(
                        _quantile(0.95, c.RETRIEVAL_DURATION, (store, collection)),
                        _legend(store, collection),
                        exemplar=True,
                    )
                ],
                unit="s",
                width=12,
                traces_link=True,
            ),
            Panel(
                "Retrieval operations by store and collection",
                "Vector-store operations per second.",
                [
                    Query(
                        f"sum by ({_by(store, collection)})"
                        f" ({_rate(c.RETRIEVAL_DURATION.series('count'))})",
                        _legend(store, collection),
                    )
                ],
                unit="ops",
                width=12,
            ),
        ],
    )


def _process() -> Row:
    check = semconv.AGENTKIT_HEALTH_CHECK
    state, critical = semconv.AGENTKIT_HEALTH_STATE, semconv.AGENTKIT_HEALTH_CRITICAL
    not_ok = f'{label(state)}!="ok"'
    return Row(
        "Process",
        [
            Panel(
                "Health checks not ok",
                "agentkit.health.status: the checks whose state is degraded or error "
                "(critical ones make /health answer 503), by check and state.",
                [
                    Query(
                        f"max by ({_by(check, state, critical)}) "
                        f"({_sel(c.HEALTH_STATUS.series(), extra=not_ok)}) == 1",
                        _legend(check, state) + " critical={{" + label(critical) + "}}",
                    )
                ],
                extra={"min": 0, "max": 1},
            ),
            Panel(
                "Memory",
                "process.memory.usage (resident memory) per instance.",
                [Query(f"sum by (instance) ({_sel(c.PROCESS_MEMORY.series())})", "{{instance}}")],
                unit="bytes",
            ),
            Panel(
                "CPU",
                "process.cpu.time per second: cores in use, per instance.",
                [
                    Query(
                        f"sum by (instance) ({_rate(c.PROCESS_CPU.series())})",
                        "{{instance}}",
                    )
                ],
                unit="short",
            ),
            Panel(
                "Scrape targets up",
                "Prometheus's own up series for the selected service: 1 scraped, 0 down.",
                [Query(f"min by (instance) ({_sel(c.UP)})", "{{instance}}")],
                extra={"min": 0, "max": 1},
                width=12,
            ),
            Panel(
                "Running versions",
                "Instances per service.version, from target_info (the resource).",
                [
                    Query(
                        f"count by ({_by(semconv.SERVICE_NAME)}, {_by(semconv.SERVICE_VERSION)})"
                        f" ({_sel(c.TARGET_INFO)})",
                        _legend(semconv.SERVICE_NAME, semconv.SERVICE_VERSION),
                    )
                ],
                width=12,
            ),
        ],
    )


def rows() -> list[Row]:
    """The dashboard's rows and panels, before layout."""
    return [_traffic(), _llm(), _tools_agents(), _retrieval(), _process()]


def _field_config(panel: Panel, traces_url: str) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit, **panel.extra}
    if panel.threshold is not None:
        defaults["thresholds"] = {
            "mode": "absolute",
            "steps": [
                {"color": "green", "value": None},
                {"color": "red", "value": panel.threshold},
            ],
        }
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    if panel.traces_link:
        defaults["links"] = [
            {
                "title": "Traces of ${__field.labels.job} in Jaeger",
                "url": f"{traces_url}/search?service=${{__field.labels.job}}&lookback=1h",
                "targetBlank": True,
            }
        ]
    return {"defaults": defaults, "overrides": []}


def _panel_json(panel: Panel, panel_id: int, x: int, y: int, traces_url: str) -> dict[str, Any]:
    targets = []
    for index, query in enumerate(panel.queries):
        target: dict[str, Any] = {
            "datasource": dict(_DS),
            "expr": query.expr,
            "legendFormat": query.legend or "__auto",
            "refId": chr(ord("A") + index),
            "range": not query.instant,
            "instant": query.instant,
        }
        if query.exemplar:
            target["exemplar"] = True
        targets.append(target)
    options: dict[str, Any] = {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    if panel.kind == "stat":
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": dict(_DS),
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": _field_config(panel, traces_url),
        "options": options,
        "targets": targets,
    }


def _templating(datasource: str) -> dict[str, Any]:
    duration_count = c.LLM_DURATION.series("count")
    job_scope = f'job=~"${SERVICE_VAR}"'

    def query_var(name: str, label_name: str, query: str) -> dict[str, Any]:
        return {
            "name": name,
            "label": label_name,
            "type": "query",
            "datasource": dict(_DS),
            "query": {"query": query, "refId": f"{name}-var"},
            "definition": query,
            "refresh": 2,
            "includeAll": True,
            "multi": True,
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "sort": 1,
        }

    return {
        "list": [
            {
                "name": DATASOURCE_VAR,
                "label": "Data source",
                "type": "datasource",
                "query": "prometheus",
                "current": {"selected": True, "text": datasource, "value": datasource},
                "hide": 0,
            },
            query_var(SERVICE_VAR, "Service", f"label_values({c.TARGET_INFO}, job)"),
            query_var(
                INSTANCE_VAR,
                "Instance",
                f"label_values({c.TARGET_INFO}{{{job_scope}}}, instance)",
            ),
            query_var(
                MODEL_VAR,
                "Model",
                f"label_values({duration_count}{{{job_scope}}}, "
                f"{label(semconv.GEN_AI_REQUEST_MODEL)})",
            ),
            query_var(
                PROVIDER_VAR,
                "Provider",
                f"label_values({duration_count}{{{job_scope}}}, "
                f"{label(semconv.GEN_AI_PROVIDER_NAME)})",
            ),
            query_var(
                AGENT_VAR,
                "Agent",
                f"label_values({c.LLM_TOKENS.series('count')}{{{job_scope}}}, "
                f"{label(semconv.GEN_AI_AGENT_NAME)})",
            ),
        ]
    }


def build_dashboard(
    *, datasource: str = DEFAULT_DATASOURCE, traces_url: str = DEFAULT_TRACES_URL
) -> dict[str, Any]:
    """Return the Grafana dashboard model.

    Args:
        datasource: name of the Prometheus datasource selected by default in
            the dashboard's ``datasource`` variable.
        traces_url: base URL of the Jaeger UI that latency panels link to.
            Exemplar links go through the provisioned Prometheus datasource's
            ``exemplarTraceIdDestinations`` (see :mod:`otel_agentkit.ops.stack`).
    """
    panels: list[dict[str, Any]] = []
    next_id = 1
    y = 0
    for row in rows():
        panels.append(
            {
                "id": next_id,
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": _GRID_COLUMNS, "x": 0, "y": y},
                "panels": [],
            }
        )
        next_id += 1
        y += 1
        x, line_height = 0, 0
        for panel in row.panels:
            if x + panel.width > _GRID_COLUMNS:
                x, y, line_height = 0, y + line_height, 0
            panels.append(_panel_json(panel, next_id, x, y, traces_url))
            next_id += 1
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height
    return {
        "uid": DASHBOARD_UID,
        "title": "otel-agentkit: LLM and agent service",
        "description": "Generated by `otel-agentkit dashboard` from otel_agentkit.semconv.",
        "tags": ["otel-agentkit", "opentelemetry", "genai"],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "timezone": "browser",
        "templating": _templating(datasource),
        "annotations": {"list": []},
        "links": [
            {
                "title": "Jaeger",
                "type": "link",
                "url": traces_url,
                "targetBlank": True,
                "icon": "external link",
            }
        ],
        "panels": panels,
    }


def render_dashboard(
    *, datasource: str = DEFAULT_DATASOURCE, traces_url: str = DEFAULT_TRACES_URL
) -> str:
    """The dashboard as the JSON text ``otel-agentkit dashboard`` writes."""
    model = build_dashboard(datasource=datasource, traces_url=traces_url)
    return json.dumps(model, indent=2, sort_keys=False) + "\n"
