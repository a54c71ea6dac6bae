"""The demo's summary, read from a live scrape of the app's ``/metrics``.

Every number here comes from the Prometheus exposition, as a Prometheus
server would see it: request counts and the p95 latency from
``http.server.request.duration``, LLM calls and tokens from the GenAI client
histograms, tool calls from ``gen_ai.execute_tool.duration``, blocks from
``agentkit.guardrail.violations``, the estimated cost from ``agentkit.llm.cost.usd``.
"""

from __future__ import annotations

import math
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from otel_agentkit import semconv

ROUTE = "/ask"


def _name(metric: str, unit: str, suffix: str) -> str:
    return semconv.prometheus_name(metric, unit, suffix=suffix)


def _label(attribute: str) -> str:
    return semconv.prometheus_label(attribute)


_HTTP_COUNT = _name(semconv.HTTP_SERVER_REQUEST_DURATION, semconv.UNIT_SECONDS, "count")
_HTTP_BUCKET = _name(semconv.HTTP_SERVER_REQUEST_DURATION, semconv.UNIT_SECONDS, "bucket")
_LLM_COUNT = _name(semconv.GEN_AI_CLIENT_OPERATION_DURATION, semconv.UNIT_SECONDS, "count")
_TOKENS_SUM = _name(semconv.GEN_AI_CLIENT_TOKEN_USAGE, semconv.UNIT_TOKENS, "sum")
_TOOL_COUNT = _name(semconv.GEN_AI_EXECUTE_TOOL_DURATION, semconv.UNIT_SECONDS, "count")
_VIOLATIONS = _name(semconv.AGENTKIT_GUARDRAIL_VIOLATIONS, "", "total")
_COST = _name(semconv.AGENTKIT_LLM_COST, semconv.UNIT_USD, "total")
_DB_COUNT = _name(semconv.DB_CLIENT_OPERATION_DURATION, semconv.UNIT_SECONDS, "count")

_ROUTE = _label(semconv.HTTP_ROUTE)
_STATUS = _label(semconv.HTTP_RESPONSE_STATUS_CODE)
_ERROR = _label(semconv.ERROR_TYPE)
_MODEL = _label(semconv.GEN_AI_REQUEST_MODEL)
_OPERATION = _label(semconv.GEN_AI_OPERATION_NAME)
_AGENT = _label(semconv.GEN_AI_AGENT_NAME)
_TOKEN_TYPE = _label(semconv.GEN_AI_TOKEN_TYPE)
_TOOL = _label(semconv.GEN_AI_TOOL_NAME)
_DECISION = _label(semconv.AGENTKIT_GUARDRAIL_DECISION)
_GUARDRAIL = _label(semconv.AGENTKIT_GUARDRAIL_NAME)


@dataclass
class Summary:
    """The numbers the demo prints, as read from ``/metrics``."""

    #: Requests to POST /ask by HTTP status code.
    requests: dict[str, int] = field(default_factory=dict)
    #: p95 of the /ask latency in seconds, estimated from the histogram buckets.
    p95_seconds: float | None = None
    #: GenAI client operations (chat, embeddings, ...) -> calls.
    llm_calls: dict[str, int] = field(default_factory=dict)
    llm_errors: int = 0
    #: model -> token type -> tokens.
    tokens_by_model: dict[str, dict[str, int]] = field(default_factory=dict)
    #: agent -> token type -> tokens; None when the token metric has no agent label.
    tokens_by_agent: dict[str, dict[str, int]] | None = None
    tool_calls: dict[str, int] = field(default_factory=dict)
    tool_errors: dict[str, int] = field(default_factory=dict)
    #: guardrail name -> blocked requests.
    guardrail_blocks: dict[str, int] = field(default_factory=dict)
    vector_queries: int = 0
    cost_usd: float = 0.0

    @property
    def total_requests(self) -> int:
        """Every request to POST /ask."""
        return sum(self.requests.values())

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-able data."""
        return {**asdict(self), "total_requests": self.total_requests}


Sample = tuple[str, Mapping[str, str], float]


def samples(text: str) -> list[Sample]:
    """(name, labels, value) of every sample in a Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """The ``q`` quantile from cumulative ``(upper bound, count)`` buckets.

    Linear interpolation inside the bucket holding the rank, as Prometheus'
    ``histogram_quantile`` does; the highest finite bound when the rank falls
    in the ``+Inf`` bucket; None without observations.
    """
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] == 0:
        return None
    rank = q * ordered[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def _add(table: dict[str, dict[str, int]], key: str, kind: str, value: float) -> None:
    table.setdefault(key, {}).setdefault(kind, 0)
    table[key][kind] += int(value)


def summarize(text: str) -> Summary:
    """The :class:`Summary` of a Prometheus text exposition."""
    summary = Summary()
    buckets: defaultdict[float, float] = defaultdict(float)
    by_agent: dict[str, dict[str, int]] = {}
    agent_label = False
    for name, labels, value in samples(text):
        if name == _HTTP_COUNT and labels.get(_ROUTE) == ROUTE:
            status = labels.get(_STATUS, "?")
            summary.requests[status] = summary.requests.get(status, 0) + int(value)
        elif name == _HTTP_BUCKET and labels.get(_ROUTE) == ROUTE:
            buckets[float(labels["le"])] += value
        elif name == _LLM_COUNT:
            operation = labels.get(_OPERATION, "?")
            summary.llm_calls[operation] = summary.llm_calls.get(operation, 0) + int(value)
            if labels.get(_ERROR):
                summary.llm_errors += int(value)
        elif name == _TOKENS_SUM:
            kind = labels.get(_TOKEN_TYPE, "?")
            _add(summary.tokens_by_model, labels.get(_MODEL, "?"), kind, value)
            if labels.get(_AGENT):  # the exporter writes "" for a label a series lacks
                agent_label = True
                _add(by_agent, labels[_AGENT], kind, value)
        elif name == _TOOL_COUNT:
            tool = labels.get(_TOOL, "?")
            summary.tool_calls[tool] = summary.tool_calls.get(tool, 0) + int(value)
            if labels.get(_ERROR):
                summary.tool_errors[tool] = summary.tool_errors.get(tool, 0) + int(value)
        elif name == _VIOLATIONS and labels.get(_DECISION) == semconv.GUARDRAIL_BLOCK:
            guardrail = labels.get(_GUARDRAIL, "?")
            summary.guardrail_blocks[guardrail] = summary.guardrail_blocks.get(guardrail, 0) + int(
                value
            )
        elif name == _COST:
            summary.cost_usd += value
        elif name == _DB_COUNT:
            summary.vector_queries += int(value)
    summary.p95_seconds = quantile(0.95, buckets.items())
    summary.tokens_by_agent = by_agent if agent_label else None
    return summary


def scrape(url: str, timeout: float = 10.0) -> Summary:
    """GET ``url`` (a ``/metrics`` endpoint) and summarize it.

    Raises:
        OSError: the scrape failed (including an HTTP error status).
        ValueError: the answer is not a Prometheus exposition.
    """
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
        text = response.read().decode("utf-8")
    return summarize(text)
