"""Every attribute name, metric name, unit and histogram bucket list otel-agentkit uses.

Names follow the OpenTelemetry semantic conventions (GenAI, DB, HTTP, process,
as of semantic-conventions v1.41, the names the
``opentelemetry-semantic-conventions`` package generates). Names with no
convention live under the ``agentkit.*`` namespace.

This module is the only place in the project that spells these strings: code,
dashboards and alert rules import them from here, so they cannot drift apart.
It imports nothing but the standard library.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

# ---------------------------------------------------------------------------
# Instrumentation scope
# ---------------------------------------------------------------------------

#: Instrumentation scope name used for tracers, meters and loggers.
SCOPE_NAME: Final = "otel_agentkit"

# ---------------------------------------------------------------------------
# Resource attributes
# ---------------------------------------------------------------------------

SERVICE_NAME: Final = "service.name"
SERVICE_VERSION: Final = "service.version"
SERVICE_INSTANCE_ID: Final = "service.instance.id"
DEPLOYMENT_ENVIRONMENT_NAME: Final = "deployment.environment.name"

# ---------------------------------------------------------------------------
# GenAI attributes
# ---------------------------------------------------------------------------

GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
#: The guardrail a Bedrock request names (``guardrailIdentifier``).
AWS_BEDROCK_GUARDRAIL_ID: Final = "aws.bedrock.guardrail.id"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_DATA_SOURCE_ID: Final = "gen_ai.data_source.id"

GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_AGENT_DESCRIPTION: Final = "gen_ai.agent.description"
GEN_AI_AGENT_VERSION: Final = "gen_ai.agent.version"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"

GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"

GEN_AI_RETRIEVAL_DOCUMENTS: Final = "gen_ai.retrieval.documents"
GEN_AI_RETRIEVAL_QUERY_TEXT: Final = "gen_ai.retrieval.query.text"

#: Event carrying inputs/outputs of an inference when content capture asks for events.
GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS_EVENT: Final = "gen_ai.client.inference.operation.details"

# gen_ai.operation.name values
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_GENERATE_CONTENT: Final = "generate_content"
OP_EMBEDDINGS: Final = "embeddings"
OP_RETRIEVAL: Final = "retrieval"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_CREATE_AGENT: Final = "create_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
#: No convention exists for guardrails: project-namespaced operation name.
OP_APPLY_GUARDRAIL: Final = "apply_guardrail"
#: The operations that are one request to a model (an LLM CLIENT span each).
LLM_OPERATIONS: Final = frozenset({OP_CHAT, OP_TEXT_COMPLETION, OP_GENERATE_CONTENT, OP_EMBEDDINGS})

# gen_ai.provider.name values
PROVIDER_OPENAI: Final = "openai"
PROVIDER_AZURE_OPENAI: Final = "azure.ai.openai"
PROVIDER_ANTHROPIC: Final = "anthropic"
PROVIDER_OLLAMA: Final = "ollama"
PROVIDER_AWS_BEDROCK: Final = "aws.bedrock"
PROVIDER_GROQ: Final = "groq"
PROVIDER_MISTRAL_AI: Final = "mistral_ai"
PROVIDER_DEEPSEEK: Final = "deepseek"
PROVIDER_X_AI: Final = "x_ai"
PROVIDER_PERPLEXITY: Final = "perplexity"
PROVIDER_GCP_GEMINI: Final = "gcp.gemini"
PROVIDER_GCP_VERTEX_AI: Final = "gcp.vertex_ai"

# gen_ai.token.type values
TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"

# gen_ai.output.type values
OUTPUT_TYPE_TEXT: Final = "text"
OUTPUT_TYPE_JSON: Final = "json"
OUTPUT_TYPE_IMAGE: Final = "image"
OUTPUT_TYPE_SPEECH: Final = "speech"

# gen_ai.tool.type values
TOOL_TYPE_FUNCTION: Final = "function"
TOOL_TYPE_EXTENSION: Final = "extension"
TOOL_TYPE_DATASTORE: Final = "datastore"

# ---------------------------------------------------------------------------
# Generic attributes (error, server, DB, HTTP)
# ---------------------------------------------------------------------------

ERROR_TYPE: Final = "error.type"
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"
EXCEPTION_ESCAPED: Final = "exception.escaped"
#: Set by the web frameworks' own instrumentations on server spans (redacted by ours).
URL_QUERY: Final = "url.query"
URL_FULL: Final = "url.full"
HTTP_TARGET: Final = "http.target"
HTTP_URL: Final = "http.url"
#: The attribute the SDK puts on the series that took the points over the cardinality limit.
OTEL_METRIC_OVERFLOW: Final = "otel.metric.overflow"
CODE_FILE_PATH: Final = "code.file.path"
CODE_FUNCTION_NAME: Final = "code.function.name"
CODE_LINE_NUMBER: Final = "code.line.number"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"

DB_SYSTEM_NAME: Final = "db.system.name"
DB_OPERATION_NAME: Final = "db.operation.name"
DB_COLLECTION_NAME: Final = "db.collection.name"
DB_NAMESPACE: Final = "db.namespace"
DB_RESPONSE_RETURNED_ROWS: Final = "db.response.returned_rows"
DB_RESPONSE_STATUS_CODE: Final = "db.response.status_code"
#: The query as sent; for vector stores only with content capture on (texts, filters).
DB_QUERY_TEXT: Final = "db.query.text"
DB_SYSTEM_CHROMADB: Final = "chroma"
DB_SYSTEM_QDRANT: Final = "qdrant"

HTTP_REQUEST_METHOD: Final = "http.request.method"
HTTP_ROUTE: Final = "http.route"
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"

#: ``process.cpu.time`` attribute: ``user`` or ``system``.
CPU_MODE: Final = "cpu.mode"
CPU_MODE_USER: Final = "user"
CPU_MODE_SYSTEM: Final = "system"

# ---------------------------------------------------------------------------
# Project attributes (no convention exists)
# ---------------------------------------------------------------------------

AGENTKIT_REQUEST_ID: Final = "agentkit.request.id"
AGENTKIT_GUARDRAIL_NAME: Final = "agentkit.guardrail.name"
AGENTKIT_GUARDRAIL_DECISION: Final = "agentkit.guardrail.decision"
AGENTKIT_GUARDRAIL_REASON: Final = "agentkit.guardrail.reason"
AGENTKIT_RETRIEVAL_RETURNED_DOCUMENTS: Final = "agentkit.retrieval.returned_documents"
AGENTKIT_NOTIFICATION_CHANNEL: Final = "agentkit.notification.channel"
AGENTKIT_NOTIFICATION_STATUS: Final = "agentkit.notification.status"
AGENTKIT_SCHEDULER_JOB: Final = "agentkit.scheduler.job"
AGENTKIT_RATE_LIMIT_ENDPOINT: Final = "agentkit.rate_limit.endpoint"
AGENTKIT_HEALTH_CHECK: Final = "agentkit.health.check"
AGENTKIT_HEALTH_STATUS_ATTR: Final = "agentkit.health.status"
#: ``agentkit.health.status`` metric attribute: ``ok``, ``degraded`` or ``error``.
AGENTKIT_HEALTH_STATE: Final = "agentkit.health.state"
#: ``agentkit.health.status`` metric attribute: whether the check is critical
#: (its ``error`` makes ``/health`` answer 503), ``true`` or ``false``.
AGENTKIT_HEALTH_CRITICAL: Final = "agentkit.health.critical"
AGENTKIT_HTTP_STATUS_CLASS: Final = "agentkit.http.status_class"
#: Ids of the tool calls a model response asked for (parallel to the names below).
#: Recorded without content capture: ids and names are not message content.
AGENTKIT_RESPONSE_TOOL_CALL_IDS: Final = "agentkit.response.tool_call.ids"
#: Names of the tools a model response asked to call.
AGENTKIT_RESPONSE_TOOL_CALL_NAMES: Final = "agentkit.response.tool_call.names"

#: Whether an AWS Bedrock guardrail intervened in a call (masked or blocked input or
#: output); set only when the request named a guardrail. Bedrock reports it as
#: ``amazon-bedrock-guardrailAction: INTERVENED`` (InvokeModel) or the stop reason
#: ``guardrail_intervened`` (Converse); no convention covers it.
AGENTKIT_BEDROCK_GUARDRAIL_INTERVENED: Final = "agentkit.bedrock.guardrail.intervened"

#: Server-side timings an Ollama response reports, in seconds (Ollama sends
#: nanoseconds; converted so they read like every other OTel duration). No
#: convention covers them: the wall-clock split of the server's work.
#: ``total_duration``: the whole request on the server.
AGENTKIT_OLLAMA_TOTAL_DURATION: Final = "agentkit.ollama.total_duration"
#: ``load_duration``: loading the model into memory (large on a cold start).
AGENTKIT_OLLAMA_LOAD_DURATION: Final = "agentkit.ollama.load_duration"
#: ``prompt_eval_duration``: evaluating the prompt (prefill).
AGENTKIT_OLLAMA_PROMPT_EVAL_DURATION: Final = "agentkit.ollama.prompt_eval_duration"
#: ``eval_duration``: generating the output tokens (decode).
AGENTKIT_OLLAMA_EVAL_DURATION: Final = "agentkit.ollama.eval_duration"

#: Span name prefix for one health check run: ``health_check {check name}``.
AGENTKIT_HEALTH_CHECK_SPAN: Final = "health_check"

# agentkit.http.status_class values
HTTP_STATUS_CLASS_2XX: Final = "2xx"
HTTP_STATUS_CLASS_3XX: Final = "3xx"
HTTP_STATUS_CLASS_4XX: Final = "4xx"
HTTP_STATUS_CLASS_5XX: Final = "5xx"

# guardrail decisions
GUARDRAIL_ALLOW: Final = "allow"
GUARDRAIL_BLOCK: Final = "block"
GUARDRAIL_MODIFY: Final = "modify"

# agentkit.notification.status values
NOTIFICATION_STATUS_SENT: Final = "sent"
NOTIFICATION_STATUS_FAILED: Final = "failed"
NOTIFICATION_STATUS_RETRIED: Final = "retried"

# ---------------------------------------------------------------------------
# Metric names and units
# ---------------------------------------------------------------------------

UNIT_SECONDS: Final = "s"
UNIT_TOKENS: Final = "{token}"
UNIT_BYTES: Final = "By"
#: Estimated spend in US dollars. A UCUM annotation (no UCUM unit exists), so the
#: exporters add no suffix: the metric's name says the currency instead
#: (``agentkit_llm_cost_usd_total``, never ``agentkit_llm_cost_USD_total``).
UNIT_USD: Final = "{USD}"
#: Dimensionless; the Prometheus exporter adds no suffix for it.
UNIT_RATIO: Final = "1"
UNIT_REQUESTS: Final = "{request}"
UNIT_ERRORS: Final = "{error}"
UNIT_FILE_DESCRIPTORS: Final = "{file_descriptor}"

GEN_AI_CLIENT_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
GEN_AI_CLIENT_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK: Final = (
    "gen_ai.client.operation.time_per_output_chunk"
)
GEN_AI_EXECUTE_TOOL_DURATION: Final = "gen_ai.execute_tool.duration"
GEN_AI_INVOKE_AGENT_DURATION: Final = "gen_ai.invoke_agent.duration"
GEN_AI_INVOKE_WORKFLOW_DURATION: Final = "gen_ai.invoke_workflow.duration"

DB_CLIENT_OPERATION_DURATION: Final = "db.client.operation.duration"

HTTP_SERVER_REQUEST_DURATION: Final = "http.server.request.duration"
HTTP_SERVER_ACTIVE_REQUESTS: Final = "http.server.active_requests"

PROCESS_MEMORY_USAGE: Final = "process.memory.usage"
PROCESS_CPU_TIME: Final = "process.cpu.time"
PROCESS_OPEN_FILE_DESCRIPTOR_COUNT: Final = "process.unix.file_descriptor.count"

AGENTKIT_GUARDRAIL_VIOLATIONS: Final = "agentkit.guardrail.violations"
AGENTKIT_SCHEDULER_TRIGGERS: Final = "agentkit.scheduler.triggers"
AGENTKIT_NOTIFICATIONS: Final = "agentkit.notifications"
AGENTKIT_RATE_LIMIT_EXCEEDED: Final = "agentkit.rate_limit.exceeded"
#: Observable gauge, one point per health check and state (``agentkit.health.state``):
#: 1 for the check's current state, 0 for the others (a Prometheus state set; no unit).
AGENTKIT_HEALTH_STATUS: Final = "agentkit.health.status"
AGENTKIT_HTTP_REQUESTS: Final = "agentkit.http.requests"
AGENTKIT_HTTP_ERRORS: Final = "agentkit.http.errors"
AGENTKIT_LLM_COST: Final = "agentkit.llm.cost.usd"

# ---------------------------------------------------------------------------
# Histogram bucket boundaries recommended by the semantic conventions
# ---------------------------------------------------------------------------

#: GenAI durations in seconds: 0.01 ... 81.92 (powers of two times 0.01).
GEN_AI_DURATION_BUCKETS: Final[tuple[float, ...]] = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip

#: Time to first chunk, in seconds (the conventions' time-to-first-token buckets).
GEN_AI_FIRST_CHUNK_BUCKETS: Final[tuple[float, ...]] = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip

#: Time per output chunk, in seconds (the conventions' time-per-output-token buckets).
GEN_AI_PER_CHUNK_BUCKETS: Final[tuple[float, ...]] = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
)  # fmt: skip

#: Token counts: 1, 4, 16, ... 67108864 (powers of four).
GEN_AI_TOKEN_BUCKETS: Final[tuple[float, ...]] = tuple(float(4**i) for i in range(14))

#: DB client operation duration, in seconds.
DB_DURATION_BUCKETS: Final[tuple[float, ...]] = (
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,
)  # fmt: skip

#: HTTP server request duration, in seconds.
HTTP_DURATION_BUCKETS: Final[tuple[float, ...]] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip


class HistogramSpec(NamedTuple):
    """What every histogram with this name gets: unit, description, bucket boundaries."""

    unit: str
    description: str
    buckets: tuple[float, ...]


#: Every histogram otel-agentkit creates (through ``_instruments.create_histogram``,
#: the boundaries given as the instrument's advice, so any SDK uses them) or that
#: ``configure()`` gives a View (the boundaries again, for instruments created
#: elsewhere under these names, such as the contrib HTTP server instrumentations').
HISTOGRAMS: Final[dict[str, HistogramSpec]] = {
    GEN_AI_CLIENT_OPERATION_DURATION: HistogramSpec(
        UNIT_SECONDS, "GenAI operation duration.", GEN_AI_DURATION_BUCKETS
    ),
    GEN_AI_CLIENT_TOKEN_USAGE: HistogramSpec(
        UNIT_TOKENS, "Number of input and output tokens used.", GEN_AI_TOKEN_BUCKETS
    ),
    GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK: HistogramSpec(
        UNIT_SECONDS,
        "Time from the request until the first chunk of a streamed response.",
        GEN_AI_FIRST_CHUNK_BUCKETS,
    ),
    GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK: HistogramSpec(
        UNIT_SECONDS,
        "Mean time between output chunks after the first, per streamed response.",
        GEN_AI_PER_CHUNK_BUCKETS,
    ),
    GEN_AI_EXECUTE_TOOL_DURATION: HistogramSpec(
        UNIT_SECONDS, "Duration of tool executions.", GEN_AI_DURATION_BUCKETS
    ),
    GEN_AI_INVOKE_AGENT_DURATION: HistogramSpec(
        UNIT_SECONDS, "Duration of agent invocations.", GEN_AI_DURATION_BUCKETS
    ),
    GEN_AI_INVOKE_WORKFLOW_DURATION: HistogramSpec(
        UNIT_SECONDS, "Duration of workflow invocations.", GEN_AI_DURATION_BUCKETS
    ),
    DB_CLIENT_OPERATION_DURATION: HistogramSpec(
        UNIT_SECONDS, "Duration of database client operations.", DB_DURATION_BUCKETS
    ),
    HTTP_SERVER_REQUEST_DURATION: HistogramSpec(
        UNIT_SECONDS, "Duration of HTTP server requests.", HTTP_DURATION_BUCKETS
    ),
}

# ---------------------------------------------------------------------------
# Metric attribute allow-list: the only keys that may appear on a metric point.
# Never user ids, session ids, request ids or free text.
# ---------------------------------------------------------------------------

METRIC_ATTRIBUTE_ALLOWLIST: Final[frozenset[str]] = frozenset(
    {
        GEN_AI_OPERATION_NAME,
        GEN_AI_PROVIDER_NAME,
        GEN_AI_REQUEST_MODEL,
        GEN_AI_RESPONSE_MODEL,
        GEN_AI_TOKEN_TYPE,
        GEN_AI_TOOL_NAME,
        GEN_AI_TOOL_TYPE,
        GEN_AI_AGENT_NAME,
        GEN_AI_WORKFLOW_NAME,
        GEN_AI_DATA_SOURCE_ID,
        ERROR_TYPE,
        SERVER_ADDRESS,
        SERVER_PORT,
        DB_SYSTEM_NAME,
        DB_OPERATION_NAME,
        DB_COLLECTION_NAME,
        HTTP_REQUEST_METHOD,
        HTTP_ROUTE,
        HTTP_RESPONSE_STATUS_CODE,
        AGENTKIT_GUARDRAIL_NAME,
        AGENTKIT_GUARDRAIL_DECISION,
        AGENTKIT_NOTIFICATION_CHANNEL,
        AGENTKIT_NOTIFICATION_STATUS,
        AGENTKIT_SCHEDULER_JOB,
        AGENTKIT_RATE_LIMIT_ENDPOINT,
        AGENTKIT_HEALTH_CHECK,
        AGENTKIT_HEALTH_STATE,
        AGENTKIT_HEALTH_CRITICAL,
        AGENTKIT_HTTP_STATUS_CLASS,
        CPU_MODE,
    }
)

# ---------------------------------------------------------------------------
# Environment variables
# ---------------------------------------------------------------------------

#: Content capture switch shared with the official GenAI instrumentations.
ENV_CAPTURE_MESSAGE_CONTENT: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


def prometheus_name(metric: str, unit: str = "", *, suffix: str = "") -> str:
    """Return the name a metric gets after Prometheus translation.

    ``prometheus_name("gen_ai.client.operation.duration", "s", suffix="bucket")``
    gives ``"gen_ai_client_operation_duration_seconds_bucket"``. Dashboards and
    alert rules use this so they never retype a translated name.
    """
    name = re.sub(r"[^a-zA-Z0-9:]+", "_", metric)
    # UCUM annotations ("{token}", "{USD}") and "1" add no suffix, as in the exporter.
    unit_word = _PROMETHEUS_UNITS.get(unit, "")
    if unit_word and not name.endswith("_" + unit_word):
        name = f"{name}_{unit_word}"
    if suffix:
        name = f"{name}_{suffix}"
    return name


def prometheus_label(attribute: str) -> str:
    """Return the label an attribute key becomes after Prometheus translation.

    ``prometheus_label("gen_ai.request.model")`` gives ``"gen_ai_request_model"``.
    """
    label = re.sub(r"[^a-zA-Z0-9]+", "_", attribute)
    return "_" + label[1:] if label[:1].isdigit() else label


_PROMETHEUS_UNITS: Final[dict[str, str]] = {
    UNIT_SECONDS: "seconds",
    UNIT_BYTES: "bytes",
    "ms": "milliseconds",
    "%": "percent",
}
