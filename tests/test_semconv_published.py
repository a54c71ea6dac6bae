"""Every name in ``semconv.py`` pinned outside it: to the published conventions or to a literal.

The rest of the suite checks spans and metrics through ``semconv``'s own
constants, so a typo there would pass everywhere else. Here each constant is
compared with the ``opentelemetry-semantic-conventions`` package (the names it
generates from the conventions), and each name the conventions do not have
(``agentkit.*``, enum values of our own, units) with one golden list of
literals. A new name in ``semconv.py`` fails :func:`test_every_name_is_pinned`
until it is added to one of them. Bucket boundaries are literals too.
"""

from __future__ import annotations

import importlib
import pkgutil
from enum import Enum
from typing import Any

import pytest
from opentelemetry.semconv._incubating.attributes import cpu_attributes, gen_ai_attributes

from otel_agentkit import semconv


def _published() -> dict[str, set[str]]:
    """Constant name -> its values in every module of the published package."""
    import opentelemetry.semconv._incubating.attributes as incubating_attributes
    import opentelemetry.semconv._incubating.metrics as incubating_metrics
    import opentelemetry.semconv.attributes as stable_attributes
    import opentelemetry.semconv.metrics as stable_metrics

    names: dict[str, set[str]] = {}
    for package in (stable_attributes, stable_metrics, incubating_attributes, incubating_metrics):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for key, value in vars(module).items():
                if key.isupper() and isinstance(value, str):
                    names.setdefault(key, set()).add(value)
    return names


PUBLISHED = _published()

#: Our constant -> the published constant it stands for, where the names differ.
RENAMED = {"PROCESS_OPEN_FILE_DESCRIPTOR_COUNT": "PROCESS_UNIX_FILE_DESCRIPTOR_COUNT"}

#: Our enum-value constants -> the published enum and member they stand for.
ENUM_VALUES: dict[str, Enum] = {
    **{
        f"OP_{member.name}": member
        for member in gen_ai_attributes.GenAiOperationNameValues
        if hasattr(semconv, f"OP_{member.name}")
    },
    "PROVIDER_OPENAI": gen_ai_attributes.GenAiProviderNameValues.OPENAI,
    "PROVIDER_AZURE_OPENAI": gen_ai_attributes.GenAiProviderNameValues.AZURE_AI_OPENAI,
    "PROVIDER_ANTHROPIC": gen_ai_attributes.GenAiProviderNameValues.ANTHROPIC,
    "PROVIDER_AWS_BEDROCK": gen_ai_attributes.GenAiProviderNameValues.AWS_BEDROCK,
    "PROVIDER_GROQ": gen_ai_attributes.GenAiProviderNameValues.GROQ,
    "PROVIDER_MISTRAL_AI": gen_ai_attributes.GenAiProviderNameValues.MISTRAL_AI,
    "PROVIDER_DEEPSEEK": gen_ai_attributes.GenAiProviderNameValues.DEEPSEEK,
    "PROVIDER_X_AI": gen_ai_attributes.GenAiProviderNameValues.X_AI,
    "PROVIDER_PERPLEXITY": gen_ai_attributes.GenAiProviderNameValues.PERPLEXITY,
    "PROVIDER_GCP_GEMINI": gen_ai_attributes.GenAiProviderNameValues.GCP_GEMINI,
    "PROVIDER_GCP_VERTEX_AI": gen_ai_attributes.GenAiProviderNameValues.GCP_VERTEX_AI,
    "TOKEN_TYPE_INPUT": gen_ai_attributes.GenAiTokenTypeValues.INPUT,
    "TOKEN_TYPE_OUTPUT": gen_ai_attributes.GenAiTokenTypeValues.OUTPUT,
    "OUTPUT_TYPE_TEXT": gen_ai_attributes.GenAiOutputTypeValues.TEXT,
    "OUTPUT_TYPE_JSON": gen_ai_attributes.GenAiOutputTypeValues.JSON,
    "OUTPUT_TYPE_IMAGE": gen_ai_attributes.GenAiOutputTypeValues.IMAGE,
    "OUTPUT_TYPE_SPEECH": gen_ai_attributes.GenAiOutputTypeValues.SPEECH,
    "CPU_MODE_USER": cpu_attributes.CpuModeValues.USER,
    "CPU_MODE_SYSTEM": cpu_attributes.CpuModeValues.SYSTEM,
}

#: Every name the published package does not define: ours, spelled out once more.
GOLDEN: dict[str, str] = {
    "SCOPE_NAME": "otel_agentkit",
    "ENV_CAPTURE_MESSAGE_CONTENT": "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    "GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS_EVENT": "gen_ai.client.inference.operation.details",
    # GenAI duration histograms of the agent conventions, not generated yet
    "GEN_AI_EXECUTE_TOOL_DURATION": "gen_ai.execute_tool.duration",
    "GEN_AI_INVOKE_AGENT_DURATION": "gen_ai.invoke_agent.duration",
    "GEN_AI_INVOKE_WORKFLOW_DURATION": "gen_ai.invoke_workflow.duration",
    # enum values with no published enum
    "OP_APPLY_GUARDRAIL": "apply_guardrail",
    "PROVIDER_OLLAMA": "ollama",
    "TOOL_TYPE_FUNCTION": "function",
    "TOOL_TYPE_EXTENSION": "extension",
    "TOOL_TYPE_DATASTORE": "datastore",
    "DB_SYSTEM_CHROMADB": "chroma",
    "DB_SYSTEM_QDRANT": "qdrant",
    # units (UCUM)
    "UNIT_SECONDS": "s",
    "UNIT_TOKENS": "{token}",
    "UNIT_BYTES": "By",
    "UNIT_USD": "{USD}",
    "UNIT_RATIO": "1",
    "UNIT_REQUESTS": "{request}",
    "UNIT_ERRORS": "{error}",
    "UNIT_FILE_DESCRIPTORS": "{file_descriptor}",
    # the agentkit.* namespace: attributes
    "AGENTKIT_REQUEST_ID": "agentkit.request.id",
    "AGENTKIT_GUARDRAIL_NAME": "agentkit.guardrail.name",
    "AGENTKIT_GUARDRAIL_DECISION": "agentkit.guardrail.decision",
    "AGENTKIT_GUARDRAIL_REASON": "agentkit.guardrail.reason",
    "AGENTKIT_RETRIEVAL_RETURNED_DOCUMENTS": "agentkit.retrieval.returned_documents",
    "AGENTKIT_NOTIFICATION_CHANNEL": "agentkit.notification.channel",
    "AGENTKIT_NOTIFICATION_STATUS": "agentkit.notification.status",
    "AGENTKIT_SCHEDULER_JOB": "agentkit.scheduler.job",
    "AGENTKIT_RATE_LIMIT_ENDPOINT": "agentkit.rate_limit.endpoint",
    "AGENTKIT_HEALTH_CHECK": "agentkit.health.check",
    "AGENTKIT_HEALTH_STATUS_ATTR": "agentkit.health.status",
    "AGENTKIT_HEALTH_STATE": "agentkit.health.state",
    "AGENTKIT_HEALTH_CRITICAL": "agentkit.health.critical",
    "AGENTKIT_BEDROCK_GUARDRAIL_INTERVENED": "agentkit.bedrock.guardrail.intervened",
    # the SDK specification's overflow attribute (not in the conventions package)
    "OTEL_METRIC_OVERFLOW": "otel.metric.overflow",
    "AGENTKIT_HTTP_STATUS_CLASS": "agentkit.http.status_class",
    "AGENTKIT_RESPONSE_TOOL_CALL_IDS": "agentkit.response.tool_call.ids",
    "AGENTKIT_RESPONSE_TOOL_CALL_NAMES": "agentkit.response.tool_call.names",
    "AGENTKIT_OLLAMA_TOTAL_DURATION": "agentkit.ollama.total_duration",
    "AGENTKIT_OLLAMA_LOAD_DURATION": "agentkit.ollama.load_duration",
    "AGENTKIT_OLLAMA_PROMPT_EVAL_DURATION": "agentkit.ollama.prompt_eval_duration",
    "AGENTKIT_OLLAMA_EVAL_DURATION": "agentkit.ollama.eval_duration",
    "AGENTKIT_HEALTH_CHECK_SPAN": "health_check",
    # the agentkit.* namespace: metrics
    "AGENTKIT_GUARDRAIL_VIOLATIONS": "agentkit.guardrail.violations",
    "AGENTKIT_SCHEDULER_TRIGGERS": "agentkit.scheduler.triggers",
    "AGENTKIT_NOTIFICATIONS": "agentkit.notifications",
    "AGENTKIT_RATE_LIMIT_EXCEEDED": "agentkit.rate_limit.exceeded",
    "AGENTKIT_HEALTH_STATUS": "agentkit.health.status",
    "AGENTKIT_HTTP_REQUESTS": "agentkit.http.requests",
    "AGENTKIT_HTTP_ERRORS": "agentkit.http.errors",
    "AGENTKIT_LLM_COST": "agentkit.llm.cost.usd",
    # our attribute values
    "HTTP_STATUS_CLASS_2XX": "2xx",
    "HTTP_STATUS_CLASS_3XX": "3xx",
    "HTTP_STATUS_CLASS_4XX": "4xx",
    "HTTP_STATUS_CLASS_5XX": "5xx",
    "GUARDRAIL_ALLOW": "allow",
    "GUARDRAIL_BLOCK": "block",
    "GUARDRAIL_MODIFY": "modify",
    "NOTIFICATION_STATUS_SENT": "sent",
    "NOTIFICATION_STATUS_FAILED": "failed",
    "NOTIFICATION_STATUS_RETRIED": "retried",
}

#: A few of the published names spelled out, so that the package's own renames show up here.
SPOT_CHECKS = {
    "GEN_AI_USAGE_INPUT_TOKENS": "gen_ai.usage.input_tokens",
    "GEN_AI_USAGE_OUTPUT_TOKENS": "gen_ai.usage.output_tokens",
    "GEN_AI_USAGE_REASONING_OUTPUT_TOKENS": "gen_ai.usage.reasoning.output_tokens",
    "GEN_AI_PROVIDER_NAME": "gen_ai.provider.name",
    "GEN_AI_CLIENT_TOKEN_USAGE": "gen_ai.client.token.usage",
    "GEN_AI_CLIENT_OPERATION_DURATION": "gen_ai.client.operation.duration",
    "GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK": "gen_ai.client.operation.time_to_first_chunk",
    "GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK": (
        "gen_ai.client.operation.time_per_output_chunk"
    ),
    "DB_CLIENT_OPERATION_DURATION": "db.client.operation.duration",
    "HTTP_SERVER_REQUEST_DURATION": "http.server.request.duration",
    "ERROR_TYPE": "error.type",
}


def _ours() -> dict[str, str]:
    return {k: v for k, v in vars(semconv).items() if k.isupper() and isinstance(v, str)}


def _pinned(name: str) -> Any:
    if name in GOLDEN:
        return GOLDEN[name]
    if name in ENUM_VALUES:
        return ENUM_VALUES[name].value
    published = PUBLISHED.get(RENAMED.get(name, name), set())
    assert len(published) == 1, f"{name}: published as {published or 'nothing'}"
    return next(iter(published))


@pytest.mark.parametrize("name", sorted(_ours()))
def test_every_name_is_pinned(name: str) -> None:
    assert getattr(semconv, name) == _pinned(name)


def test_the_golden_list_has_no_stale_entry() -> None:
    ours = _ours()
    assert sorted(set(GOLDEN) - set(ours)) == []
    assert sorted(set(GOLDEN) & set(PUBLISHED)) == []  # published names are checked there


def test_every_agentkit_name_is_in_the_golden_list() -> None:
    spelled = {v for k, v in _ours().items() if v.startswith("agentkit.")}
    assert spelled == {v for v in GOLDEN.values() if v.startswith("agentkit.")}


@pytest.mark.parametrize(("name", "value"), sorted(SPOT_CHECKS.items()))
def test_spot_checks(name: str, value: str) -> None:
    assert getattr(semconv, name) == value
    assert value in PUBLISHED[name]


# ---------------------------------------------------------------------------
# Bucket boundaries, as the conventions recommend them
# ---------------------------------------------------------------------------

GEN_AI_DURATION = [
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
]
BUCKETS = {
    "gen_ai.client.operation.duration": GEN_AI_DURATION,
    "gen_ai.execute_tool.duration": GEN_AI_DURATION,
    "gen_ai.invoke_agent.duration": GEN_AI_DURATION,
    "gen_ai.invoke_workflow.duration": GEN_AI_DURATION,
    "gen_ai.client.token.usage": [
        1,
        4,
        16,
        64,
        256,
        1024,
        4096,
        16384,
        65536,
        262144,
        1048576,
        4194304,
        16777216,
        67108864,
    ],
    "gen_ai.client.operation.time_to_first_chunk": [
        0.001,
        0.005,
        0.01,
        0.02,
        0.04,
        0.06,
        0.08,
        0.1,
        0.25,
        0.5,
        0.75,
        1.0,
        2.5,
        5.0,
        7.5,
        10.0,
    ],
    "gen_ai.client.operation.time_per_output_chunk": [
        0.01,
        0.025,
        0.05,
        0.075,
        0.1,
        0.15,
        0.2,
        0.3,
        0.4,
        0.5,
        0.75,
        1.0,
        2.5,
    ],
    "db.client.operation.duration": [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
    "http.server.request.duration": [
        0.005,
        0.01,
        0.025,
        0.05,
        0.075,
        0.1,
        0.25,
        0.5,
        0.75,
        1,
        2.5,
        5,
        7.5,
        10,
    ],
}


def test_every_histogram_has_the_recommended_buckets() -> None:
    assert {name: list(spec.buckets) for name, spec in semconv.HISTOGRAMS.items()} == BUCKETS


def test_configure_installs_views_with_those_buckets() -> None:
    from otel_agentkit.telemetry._setup import build_views

    views = {
        view._instrument_name: list(view._aggregation._boundaries)  # the SDK keeps them private
        for view in build_views()
    }
    assert views == BUCKETS


@pytest.mark.parametrize("name", ["db.client.operation.duration", "http.server.request.duration"])
def test_a_recorded_point_carries_the_buckets(name: str) -> None:
    """What a reader sees: a histogram made the way our instrumentations make it."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from otel_agentkit import _instruments

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    histogram = _instruments.create_histogram(provider.get_meter("test"), name)
    histogram.record(0.02)
    (metric,) = [
        m
        for rm in reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    ]
    (point,) = metric.data.data_points
    assert list(point.explicit_bounds) == BUCKETS[name]
    assert metric.unit == "s"
    provider.shutdown()
