"""Generate Prometheus recording and alerting rules from the semconv metric names.

``build_rules(AlertThresholds(...))`` returns the rule-file model;
``render_rules()`` the YAML text that ``otel-agentkit alerts`` writes and
``deploy/prometheus/alerts.yaml`` holds. Thresholds are the fields of
:class:`AlertThresholds`; their defaults are documented there and in
``docs/operations.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from otel_agentkit import semconv
from otel_agentkit.errors import ConfigurationError
from otel_agentkit.ops import _yamltext as _yaml
from otel_agentkit.ops import catalog as c
from otel_agentkit.ops.catalog import label

#: Severity label values; Alertmanager routes on them (critical -> pager, warning -> chat).
CRITICAL: Final = "critical"
WARNING: Final = "warning"

#: Label the high-error-rate alert treats as a server error class.
SERVER_ERROR_CLASS: Final = semconv.HTTP_STATUS_CLASS_5XX


@dataclass(frozen=True)
class AlertThresholds:
    """Alert thresholds and durations. Every field is a CLI flag of ``otel-agentkit alerts``.

    Ratios are fractions (0.05 is 5 %), durations in seconds, sizes in bytes.
    """

    #: Share of HTTP requests answered 5xx above which AgentkitHighErrorRate fires.
    http_error_ratio: float = 0.05
    #: Window (minutes) with no HTTP request at all before AgentkitNoTraffic fires.
    no_traffic_minutes: int = 10
    #: Share of failed LLM calls above which AgentkitLLMErrorRate fires.
    llm_error_ratio: float = 0.10
    #: LLM operation p95 latency (s) above which AgentkitLLMLatencyHigh fires.
    llm_latency_p95_seconds: float = 20.0
    #: Time-to-first-chunk p95 (s) above which AgentkitTimeToFirstChunkHigh fires.
    ttfc_p95_seconds: float = 5.0
    #: Tokens per day the service may use; AgentkitTokenBudgetBurn fires when the
    #: last hour's rate would spend more than this in 24 h.
    token_budget_per_day: float = 5_000_000.0
    #: Share of failed tool executions above which AgentkitToolErrorRate fires.
    tool_error_ratio: float = 0.10
    #: Memory growth (bytes per hour, sustained over 30 min) for AgentkitMemoryGrowth.
    memory_growth_bytes_per_hour: float = 256 * 1024 * 1024
    #: Resident memory (bytes) above which AgentkitMemoryCeiling fires.
    memory_ceiling_bytes: float = 2 * 1024 * 1024 * 1024
    #: How long (minutes) a condition must hold before most alerts fire.
    for_minutes: int = 5

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            problem = threshold_problem(name, value)
            if problem is not None:
                raise ConfigurationError(name, value, problem)

    @classmethod
    def field_help(cls) -> dict[str, str]:
        """Field name -> one-line description (used for CLI help and the docs table)."""
        return dict(_HELP)


#: Fields that are a share of events: 0 <= x < 1 ("more than 100 %" never happens).
_RATIOS: Final = frozenset({"http_error_ratio", "llm_error_ratio", "tool_error_ratio"})
#: Fields that are whole minutes; ``for_minutes`` may be 0 (fire at once), a window may not.
_MINUTES: Final = {"no_traffic_minutes": 1, "for_minutes": 0}


def threshold_problem(name: str, value: object) -> str | None:
    """Why ``value`` cannot be the threshold ``name`` (None when it can).

    Refuses what would write a rule file that Prometheus rejects (``for: -1m``)
    or an alert that can never fire (an error share above 100 %).
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "expected a number"
    if name in _MINUTES:
        least = _MINUTES[name]
        if not isinstance(value, int) or value < least:
            return f"expected a whole number of minutes, at least {least}"
        return None
    if not math.isfinite(value):
        return "expected a finite number"
    if name in _RATIOS:
        if not 0 <= value < 1:
            return "expected a share between 0 and 1 (0.05 is 5 %); 1 or more never fires"
        return None
    if value <= 0:
        return "expected a positive number"
    return None


_HELP: Final = {
    "http_error_ratio": "5xx share of HTTP requests (AgentkitHighErrorRate)",
    "no_traffic_minutes": "minutes without requests (AgentkitNoTraffic)",
    "llm_error_ratio": "failed share of LLM calls (AgentkitLLMErrorRate)",
    "llm_latency_p95_seconds": "LLM latency p95 in seconds (AgentkitLLMLatencyHigh)",
    "ttfc_p95_seconds": "time to first chunk p95 in seconds (AgentkitTimeToFirstChunkHigh)",
    "token_budget_per_day": "tokens per day (AgentkitTokenBudgetBurn)",
    "tool_error_ratio": "failed share of tool calls (AgentkitToolErrorRate)",
    "memory_growth_bytes_per_hour": "memory growth in bytes/hour (AgentkitMemoryGrowth)",
    "memory_ceiling_bytes": "resident memory in bytes (AgentkitMemoryCeiling)",
    "for_minutes": "minutes a condition must hold before most alerts fire",
}


def _num(value: float) -> str:
    """A threshold as a PromQL literal: ``0.05``, ``20``, ``5000000`` (never ``5e+06``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _error_ratio(family: c.Family, by: str, window: str = "5m") -> str:
    count = family.series("count")
    error = label(semconv.ERROR_TYPE)
    total = f"sum by ({by}) (rate({count}[{window}]))"
    # "or ... * 0" makes the ratio 0, not empty, while nothing fails.
    return f'(sum by ({by}) (rate({count}{{{error}!=""}}[{window}])) or {total} * 0) / {total}'


def _p95(family: c.Family, by: str, window: str = "5m") -> str:
    return (
        f"histogram_quantile(0.95, sum by (le, {by}) (rate({family.series('bucket')}[{window}])))"
    )


_MODEL: Final = label(semconv.GEN_AI_REQUEST_MODEL)
_CHECK: Final = label(semconv.AGENTKIT_HEALTH_CHECK)
_STATE: Final = label(semconv.AGENTKIT_HEALTH_STATE)
_CRITICAL: Final = label(semconv.AGENTKIT_HEALTH_CRITICAL)
_TOOL: Final = label(semconv.GEN_AI_TOOL_NAME)
_TOKEN_TYPE: Final = label(semconv.GEN_AI_TOKEN_TYPE)
_STATUS_CLASS: Final = label(semconv.AGENTKIT_HTTP_STATUS_CLASS)


def _health_state(state: str, critical: bool | None = None) -> str:
    """Checks in ``state`` (of the critical or non-critical ones), one series per check."""
    matchers = f'{_STATE}="{state}"'
    if critical is not None:
        matchers += f', {_CRITICAL}="{str(critical).lower()}"'
    series = f"{c.HEALTH_STATUS.series()}{{{matchers}}}"
    return f"max by (job, instance, {_CHECK}, {_STATE}) ({series}) == 1"


def _http_error_ratio(window: str = "5m") -> str:
    total = f"sum by (job) (rate({c.HTTP_REQUESTS.series()}[{window}]))"
    errors = f'{c.HTTP_ERRORS.series()}{{{_STATUS_CLASS}="{SERVER_ERROR_CLASS}"}}'
    return f"(sum by (job) (rate({errors}[{window}])) or {total} * 0) / {total}"


def recording_rules() -> list[dict[str, str]]:
    """Recording rules: pre-computed series the alerts and ad-hoc queries reuse."""
    http = c.HTTP_REQUESTS.base
    return [
        {
            "record": f"job:{http}:rate5m",
            "expr": f"sum by (job) (rate({c.HTTP_REQUESTS.series()}[5m]))",
        },
        {"record": f"job:{c.HTTP_ERRORS.base}:ratio_rate5m", "expr": _http_error_ratio()},
        {
            "record": f"job:{c.HTTP_DURATION.base}:p95_5m",
            "expr": _p95(c.HTTP_DURATION, f"job, {label(semconv.HTTP_ROUTE)}"),
        },
        {
            "record": f"job_model:{c.LLM_DURATION.base}:p95_5m",
            "expr": _p95(c.LLM_DURATION, f"job, {_MODEL}"),
        },
        {
            "record": f"job_model:{c.LLM_TTFC.base}:p95_5m",
            "expr": _p95(c.LLM_TTFC, f"job, {_MODEL}"),
        },
        {
            "record": f"job_model:{c.LLM_DURATION.base}:error_ratio_rate5m",
            "expr": _error_ratio(c.LLM_DURATION, f"job, {_MODEL}"),
        },
        {
            "record": f"job_model_type:{c.LLM_TOKENS.base}:rate5m",
            "expr": (
                f"sum by (job, {_MODEL}, {_TOKEN_TYPE}) (rate({c.LLM_TOKENS.series('sum')}[5m]))"
            ),
        },
        {
            "record": f"job_tool:{c.TOOL_DURATION.base}:error_ratio_rate5m",
            "expr": _error_ratio(c.TOOL_DURATION, f"job, {_TOOL}"),
        },
    ]


def _alert(
    name: str, expr: str, for_: str, severity: str, summary: str, description: str
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    }


def alerting_rules(t: AlertThresholds | None = None) -> list[dict[str, Any]]:
    """Alerting rules for thresholds ``t`` (defaults: :class:`AlertThresholds`)."""
    t = t or AlertThresholds()
    hold = f"{t.for_minutes}m"
    job = "{{ $labels.job }}"
    value_pct = "{{ $value | humanizePercentage }}"
    tokens_per_day = f"sum by (job) (rate({c.LLM_TOKENS.series('sum')}[1h])) * 86400"
    return [
        _alert(
            "AgentkitHighErrorRate",
            f"{_http_error_ratio()} > {_num(t.http_error_ratio)}",
            hold,
            CRITICAL,
            f"{job}: {value_pct} of HTTP requests fail with 5xx",
            f"More than {t.http_error_ratio:.0%} of requests answered with a server error "
            f"for {hold}.",
        ),
        _alert(
            "AgentkitNoTraffic",
            # A web app registers its process metrics at instrument_app(): a service
            # that is up and has never served a request has those and no request series.
            f"(sum by (job) (rate({c.HTTP_REQUESTS.series()}[{t.no_traffic_minutes}m])) "
            f"or sum by (job) ({c.PROCESS_MEMORY.series()}) * 0) == 0",
            f"{t.no_traffic_minutes}m",
            WARNING,
            f"{job}: no HTTP requests",
            f"The service is scraped but has served no request for "
            f"{2 * t.no_traffic_minutes} minutes.",
        ),
        _alert(
            "AgentkitLLMErrorRate",
            f"{_error_ratio(c.LLM_DURATION, f'job, {_MODEL}')} > {_num(t.llm_error_ratio)}",
            hold,
            WARNING,
            f"{job}: {value_pct} of LLM calls to {{{{ $labels.{_MODEL} }}}} fail",
            f"More than {t.llm_error_ratio:.0%} of GenAI client operations failed for {hold}.",
        ),
        _alert(
            "AgentkitLLMLatencyHigh",
            f"{_p95(c.LLM_DURATION, f'job, {_MODEL}')} > {_num(t.llm_latency_p95_seconds)}",
            hold,
            WARNING,
            f"{job}: LLM p95 latency for {{{{ $labels.{_MODEL} }}}} is "
            "{{ $value | humanizeDuration }}",
            f"gen_ai.client.operation.duration p95 above {_num(t.llm_latency_p95_seconds)}s "
            f"for {hold}.",
        ),
        _alert(
            "AgentkitTimeToFirstChunkHigh",
            f"{_p95(c.LLM_TTFC, f'job, {_MODEL}')} > {_num(t.ttfc_p95_seconds)}",
            hold,
            WARNING,
            f"{job}: time to first chunk p95 for {{{{ $labels.{_MODEL} }}}} is "
            "{{ $value | humanizeDuration }}",
            f"Streaming responses start later than {_num(t.ttfc_p95_seconds)}s (p95) for {hold}.",
        ),
        _alert(
            "AgentkitTokenBudgetBurn",
            f"{tokens_per_day} > {_num(t.token_budget_per_day)}",
            "15m",
            WARNING,
            f"{job}: token use on course for {{{{ $value | humanize }}}} tokens/day",
            f"At the last hour's rate the service spends more than "
            f"{_num(t.token_budget_per_day)} tokens per day.",
        ),
        _alert(
            "AgentkitToolErrorRate",
            f"{_error_ratio(c.TOOL_DURATION, f'job, {_TOOL}')} > {_num(t.tool_error_ratio)}",
            hold,
            WARNING,
            f"{job}: tool {{{{ $labels.{_TOOL} }}}} fails {value_pct} of the time",
            f"More than {t.tool_error_ratio:.0%} of executions of this tool raised for {hold}.",
        ),
        _alert(
            "AgentkitHealthCheckFailing",
            _health_state("error", critical=True),
            "2m",
            CRITICAL,
            f"{job}: health check {{{{ $labels.{_CHECK} }}}} is failing",
            "A critical check is in state error on {{ $labels.instance }}: /health answers 503.",
        ),
        _alert(
            "AgentkitHealthCheckDegraded",
            f"{_health_state('error', critical=False)} or {_health_state('degraded')}",
            hold,
            WARNING,
            f"{job}: health check {{{{ $labels.{_CHECK} }}}} is {{{{ $labels.{_STATE} }}}}",
            "A non-critical check errs, or a check is degraded, on {{ $labels.instance }}: "
            "/health still answers 200.",
        ),
        _alert(
            "AgentkitMemoryGrowth",
            f"deriv({c.PROCESS_MEMORY.series()}[30m]) * 3600 "
            f"> {_num(t.memory_growth_bytes_per_hour)}",
            "30m",
            WARNING,
            f"{job}: memory on {{{{ $labels.instance }}}} grows "
            "{{ $value | humanize1024 }}B/hour",
            "process.memory.usage has grown steadily for an hour: a leak is likely.",
        ),
        _alert(
            "AgentkitMemoryCeiling",
            f"{c.PROCESS_MEMORY.series()} > {_num(t.memory_ceiling_bytes)}",
            hold,
            CRITICAL,
            f"{job}: {{{{ $labels.instance }}}} uses {{{{ $value | humanize1024 }}}}B",
            f"process.memory.usage above {_num(t.memory_ceiling_bytes)} bytes for {hold}.",
        ),
        _alert(
            "AgentkitTargetDown",
            f"{c.UP} == 0",
            "2m",
            CRITICAL,
            f"{job}: target {{{{ $labels.instance }}}} is down",
            "Prometheus cannot scrape this target.",
        ),
    ]


#: Rule group names in the generated file.
RECORDING_GROUP: Final = "otel_agentkit.recording"
ALERTING_GROUP: Final = "otel_agentkit.alerts"


def build_rules(thresholds: AlertThresholds | None = None) -> dict[str, Any]:
    """The rule-file model: a recording group and an alerting group."""
    return {
        "groups": [
            {"name": RECORDING_GROUP, "rules": recording_rules()},
            {"name": ALERTING_GROUP, "rules": alerting_rules(thresholds)},
        ]
    }


def render_rules(thresholds: AlertThresholds | None = None) -> str:
    """The rule file as YAML text, as ``otel-agentkit alerts`` writes it."""
    return _yaml.dump(
        build_rules(thresholds),
        header=(
            "Prometheus rules for otel-agentkit services.\n"
            "Generated by `otel-agentkit alerts`; do not edit by hand."
        ),
    )
