"""otel-agentkit: OpenTelemetry-first instrumentation for LLM and agent applications.

``import otel_agentkit`` is light: it imports the OpenTelemetry API and the
standard library only. The SDK and exporters load when :func:`configure` runs;
client libraries, web frameworks and vector stores load only when their
instrumentation is used.
"""

from __future__ import annotations

from otel_agentkit import content, metrics
from otel_agentkit._version import __version__
from otel_agentkit.content import ContentCapture, set_capture_mode, set_redaction
from otel_agentkit.content import set_max_length as set_content_max_length
from otel_agentkit.decorators import (
    GuardrailDecision,
    GuardrailViolation,
    TracedOperation,
    agent_span,
    guardrail_span,
    retrieval_span,
    tool_span,
    traced_agent,
    traced_guardrail,
    traced_retrieval,
    traced_tool,
    traced_workflow,
    workflow_span,
)
from otel_agentkit.errors import AgentkitError, ConfigurationError
from otel_agentkit.instrumentation import instrument, uninstrument
from otel_agentkit.logs import configure_logging
from otel_agentkit.metrics import (
    record_notification,
    record_rate_limit_exceeded,
    record_scheduler_trigger,
)
from otel_agentkit.pricing import ModelPrice, get_model_prices, set_model_prices
from otel_agentkit.telemetry import (
    Telemetry,
    clear_multiprocess_dir,
    configure,
    get_telemetry,
    shutdown,
)

__all__ = [
    "AgentkitError",
    "ConfigurationError",
    "ContentCapture",
    "GuardrailDecision",
    "GuardrailViolation",
    "ModelPrice",
    "Telemetry",
    "TracedOperation",
    "__version__",
    "agent_span",
    "clear_multiprocess_dir",
    "configure",
    "configure_logging",
    "content",
    "get_model_prices",
    "get_telemetry",
    "guardrail_span",
    "instrument",
    "metrics",
    "record_notification",
    "record_rate_limit_exceeded",
    "record_scheduler_trigger",
    "retrieval_span",
    "set_capture_mode",
    "set_content_max_length",
    "set_model_prices",
    "set_redaction",
    "shutdown",
    "tool_span",
    "traced_agent",
    "traced_guardrail",
    "traced_retrieval",
    "traced_tool",
    "traced_workflow",
    "uninstrument",
    "workflow_span",
]
