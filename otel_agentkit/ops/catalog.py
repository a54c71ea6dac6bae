"""The metric families the dashboard and the alert rules chart.

Each :class:`Family` names an instrument by its :mod:`otel_agentkit.semconv`
constant, with the instrument kind and unit the emitting code uses. The
Prometheus series names (``_bucket``, ``_total``, unit suffixes) and label
names are derived from them with :func:`semconv.prometheus_name` and
:func:`semconv.prometheus_label`, so nothing here retypes a translated name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from otel_agentkit import semconv

Kind = Literal["histogram", "counter", "updowncounter", "gauge"]


@dataclass(frozen=True)
class Family:
    """One OpenTelemetry instrument as Prometheus sees it.

    Attributes:
        name: the OpenTelemetry metric name (a ``semconv`` constant).
        unit: the instrument's unit (``semconv.UNIT_*`` or a UCUM annotation).
        kind: the instrument kind; decides the series suffixes.
        attributes: the metric attributes the ops queries group or filter by.
        emitted_by: which part of otel-agentkit (or which upstream
            instrumentation) records it.
    """

    name: str
    unit: str
    kind: Kind
    attributes: tuple[str, ...]
    emitted_by: str

    @property
    def base(self) -> str:
        """The translated name without a type suffix (``..._seconds``)."""
        return semconv.prometheus_name(self.name, self.unit)

    def series(self, suffix: str = "") -> str:
        """A series name: ``series("bucket")``, ``series("count")``, or the sample name.

        Counters get ``_total`` when no suffix is given; gauges and
        up-down counters (exported as gauges) get nothing.
        """
        if self.kind == "histogram":
            if suffix not in ("bucket", "count", "sum"):
                raise ValueError(f"histogram {self.name}: suffix must be bucket, count or sum")
            return semconv.prometheus_name(self.name, self.unit, suffix=suffix)
        if suffix:
            raise ValueError(f"{self.kind} {self.name} has no {suffix!r} series")
        if self.kind == "counter":
            return semconv.prometheus_name(self.name, self.unit, suffix="total")
        return self.base

    def all_series(self) -> tuple[str, ...]:
        """Every series name the exporter writes for this family."""
        if self.kind == "histogram":
            return tuple(self.series(s) for s in ("bucket", "count", "sum"))
        return (self.series(),)


def label(attribute: str) -> str:
    """The Prometheus label for an attribute key (``gen_ai.request.model`` -> ``gen_ai_...``)."""
    return semconv.prometheus_label(attribute)


_DECORATORS: Final = "decorators and counters (traced_* / otel_agentkit.metrics.record_*)"
_LLM: Final = "LLM client instrumentation (OpenAI and the other instrumentors)"
_WEB: Final = "web (otel_agentkit.web.flask / fastapi instrument_app)"
_HEALTH: Final = "health (HealthRegistry)"
_VECTOR: Final = "vector-store instrumentation (chromadb / qdrant)"

LLM_DURATION: Final = Family(
    semconv.GEN_AI_CLIENT_OPERATION_DURATION,
    semconv.UNIT_SECONDS,
    "histogram",
    (
        semconv.GEN_AI_PROVIDER_NAME,
        semconv.GEN_AI_REQUEST_MODEL,
        semconv.GEN_AI_OPERATION_NAME,
        semconv.ERROR_TYPE,
    ),
    _LLM,
)
LLM_TOKENS: Final = Family(
    semconv.GEN_AI_CLIENT_TOKEN_USAGE,
    semconv.UNIT_TOKENS,
    "histogram",
    (
        semconv.GEN_AI_PROVIDER_NAME,
        semconv.GEN_AI_REQUEST_MODEL,
        semconv.GEN_AI_TOKEN_TYPE,
        semconv.GEN_AI_AGENT_NAME,
    ),
    _LLM,
)
LLM_TTFC: Final = Family(
    semconv.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
    semconv.UNIT_SECONDS,
    "histogram",
    (semconv.GEN_AI_PROVIDER_NAME, semconv.GEN_AI_REQUEST_MODEL),
    _LLM,
)
LLM_TPOC: Final = Family(
    semconv.GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK,
    semconv.UNIT_SECONDS,
    "histogram",
    (semconv.GEN_AI_PROVIDER_NAME, semconv.GEN_AI_REQUEST_MODEL),
    _LLM,
)
LLM_COST: Final = Family(
    semconv.AGENTKIT_LLM_COST,
    semconv.UNIT_USD,
    "counter",
    (semconv.GEN_AI_PROVIDER_NAME, semconv.GEN_AI_REQUEST_MODEL, semconv.GEN_AI_AGENT_NAME),
    _LLM + ", with cost estimation",
)
TOOL_DURATION: Final = Family(
    semconv.GEN_AI_EXECUTE_TOOL_DURATION,
    semconv.UNIT_SECONDS,
    "histogram",
    (semconv.GEN_AI_TOOL_NAME, semconv.ERROR_TYPE),
    _DECORATORS,
)
AGENT_DURATION: Final = Family(
    semconv.GEN_AI_INVOKE_AGENT_DURATION,
    semconv.UNIT_SECONDS,
    "histogram",
    (semconv.GEN_AI_AGENT_NAME, semconv.ERROR_TYPE),
    _DECORATORS,
)
WORKFLOW_DURATION: Final = Family(
    semconv.GEN_AI_INVOKE_WORKFLOW_DURATION,
    semconv.UNIT_SECONDS,
    "histogram",
    (semconv.GEN_AI_WORKFLOW_NAME, semconv.ERROR_TYPE),
    _DECORATORS,
)
GUARDRAIL_VIOLATIONS: Final = Family(
    semconv.AGENTKIT_GUARDRAIL_VIOLATIONS,
    "",
    "counter",
    (semconv.AGENTKIT_GUARDRAIL_NAME, semconv.AGENTKIT_GUARDRAIL_DECISION),
    _DECORATORS,
)
NOTIFICATIONS: Final = Family(
    semconv.AGENTKIT_NOTIFICATIONS,
    "",
    "counter",
    (semconv.AGENTKIT_NOTIFICATION_CHANNEL, semconv.AGENTKIT_NOTIFICATION_STATUS),
    _DECORATORS,
)
SCHEDULER_TRIGGERS: Final = Family(
    semconv.AGENTKIT_SCHEDULER_TRIGGERS,
    "",
    "counter",
    (semconv.AGENTKIT_SCHEDULER_JOB,),
    _DECORATORS,
)
RATE_LIMIT_EXCEEDED: Final = Family(
    semconv.AGENTKIT_RATE_LIMIT_EXCEEDED,
    "",
    "counter",
    (semconv.AGENTKIT_RATE_LIMIT_ENDPOINT,),
    _DECORATORS,
)
RETRIEVAL_DURATION: Final = Family(
    semconv.DB_CLIENT_OPERATION_DURATION,
    semconv.UNIT_SECONDS,
    "histogram",
    (semconv.DB_SYSTEM_NAME, semconv.DB_COLLECTION_NAME, semconv.DB_OPERATION_NAME),
    _VECTOR,
)
HTTP_DURATION: Final = Family(
    semconv.HTTP_SERVER_REQUEST_DURATION,
    semconv.UNIT_SECONDS,
    "histogram",
    (semconv.HTTP_ROUTE, semconv.HTTP_REQUEST_METHOD, semconv.HTTP_RESPONSE_STATUS_CODE),
    _WEB + " via opentelemetry-instrumentation-flask / -fastapi",
)
HTTP_ACTIVE: Final = Family(
    semconv.HTTP_SERVER_ACTIVE_REQUESTS,
    "{request}",
    "updowncounter",
    (semconv.HTTP_REQUEST_METHOD,),
    _WEB + " via opentelemetry-instrumentation-flask / -fastapi",
)
HTTP_REQUESTS: Final = Family(
    semconv.AGENTKIT_HTTP_REQUESTS,
    "",
    "counter",
    (semconv.HTTP_ROUTE, semconv.AGENTKIT_HTTP_STATUS_CLASS),
    _WEB,
)
HTTP_ERRORS: Final = Family(
    semconv.AGENTKIT_HTTP_ERRORS,
    "",
    "counter",
    (semconv.HTTP_ROUTE, semconv.AGENTKIT_HTTP_STATUS_CLASS),
    _WEB,
)
HEALTH_STATUS: Final = Family(
    semconv.AGENTKIT_HEALTH_STATUS,
    semconv.UNIT_RATIO,
    "gauge",
    (
        semconv.AGENTKIT_HEALTH_CHECK,
        semconv.AGENTKIT_HEALTH_STATE,
        semconv.AGENTKIT_HEALTH_CRITICAL,
    ),
    _HEALTH,
)
PROCESS_MEMORY: Final = Family(
    semconv.PROCESS_MEMORY_USAGE, semconv.UNIT_BYTES, "updowncounter", (), _WEB
)
PROCESS_CPU: Final = Family(semconv.PROCESS_CPU_TIME, semconv.UNIT_SECONDS, "counter", (), _WEB)

#: Every family the generated dashboard and rules use.
FAMILIES: Final[tuple[Family, ...]] = (
    HTTP_DURATION,
    HTTP_ACTIVE,
    HTTP_REQUESTS,
    HTTP_ERRORS,
    LLM_DURATION,
    LLM_TOKENS,
    LLM_TTFC,
    LLM_TPOC,
    LLM_COST,
    TOOL_DURATION,
    AGENT_DURATION,
    WORKFLOW_DURATION,
    RETRIEVAL_DURATION,
    GUARDRAIL_VIOLATIONS,
    NOTIFICATIONS,
    SCHEDULER_TRIGGERS,
    RATE_LIMIT_EXCEEDED,
    HEALTH_STATUS,
    PROCESS_MEMORY,
    PROCESS_CPU,
)

#: Series Prometheus itself writes (per scrape target) or the exporter always
#: writes (``target_info`` carries the resource). Not OpenTelemetry instruments.
UP: Final = "up"
TARGET_INFO: Final = "target_info"
