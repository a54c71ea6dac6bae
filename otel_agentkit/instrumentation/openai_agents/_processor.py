"""The OpenAI Agents SDK tracing processor that turns the SDK's spans into ours.

Registered with the SDK's own processor API (``agents.add_trace_processor``),
next to whatever else the SDK exports to. Per kind of SDK span:

* trace (a workflow: one ``Runner.run``, or the user's ``with trace(...)``):
  ``invoke_workflow {name}``, so that every agent of a run, handoffs
  included, lands in one trace (the caller's, when a span is current);
* agent: ``invoke_agent {name}``;
* function (a tool): ``execute_tool {name}``, ``gen_ai.tool.call.id`` from the
  tool call (read where the SDK builds the tool's context), arguments and
  result with content capture on; MCP tools are ``extension`` tools;
* handoff: ``execute_tool transfer_to_{agent}``, the tool the model called
  to hand off (made when the handoff is over, back-dated to its start);
* guardrail: ``apply_guardrail {name}``, decision ``block`` when its tripwire
  was triggered, else ``allow``;
* generation / response (a model call): nothing. The request it makes goes
  through the openai client, whose instrumentor makes the one ``chat`` span,
  nested under the agent's span because that span is current.

Errors the SDK attaches to a span (it keeps a message, not the exception)
become ``error.type`` (the SDK's message: "Error running tool", ...) and an
ERROR status with the details, redacted.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime
from typing import Any

from agents.tracing import Span, Trace, TracingProcessor
from agents.tracing.span_data import (
    AgentSpanData,
    FunctionSpanData,
    GuardrailSpanData,
    HandoffSpanData,
)
from opentelemetry.context import Context
from opentelemetry.trace import get_current_span

from otel_agentkit import _content, semconv
from otel_agentkit.decorators import (
    GuardrailDecision,
    TracedOperation,
    agent_span,
    guardrail_span,
    tool_span,
    workflow_span,
)
from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._genai import maybe_json
from otel_agentkit.instrumentation._runs import OpenRuns

__all__ = ["AgentkitTracingProcessor"]

#: ``error.type`` and status descriptions are cut to these lengths.
_MAX_ERROR_TYPE = 64
_MAX_DESCRIPTION = 500


def _handoff_tool(agent: str | None) -> str:
    """The name of the tool a model calls to hand off to ``agent`` (the SDK's default)."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", f"transfer_to_{agent or 'agent'}").lower()


def _start_ns(span: Span[Any]) -> int | None:
    """The SDK span's start (an ISO timestamp) in ``time.time_ns()`` units."""
    started = span.started_at
    if not started:
        return None
    return int(datetime.fromisoformat(started).timestamp() * 1e9)


class AgentkitTracingProcessor(TracingProcessor):
    """Makes otel-agentkit spans and metrics from the OpenAI Agents SDK's spans.

    Inert while :attr:`enabled` is False (the SDK has no way to remove a
    processor: uninstrumenting turns it off, instrumenting again back on).
    """

    def __init__(self) -> None:
        self.enabled = True
        self._runs = OpenRuns()
        #: SDK span id -> (parent context, start) of a handoff in progress.
        self._handoffs: dict[str, tuple[Context | None, int | None]] = {}
        #: SDK span id -> parent id, of open SDK spans we make no span for (turns, model calls).
        self._skipped: dict[str, str | None] = {}
        #: OTel span id of an open tool span -> its operation (for the call id).
        self._tools: dict[int, TracedOperation] = {}
        self._lock = threading.Lock()

    # -- traces ----------------------------------------------------------------

    def on_trace_start(self, trace: Trace) -> None:
        if not self.enabled:
            return
        try:
            self._runs.start(trace.trace_id, workflow_span(trace.name or "Agent workflow"))
        except Exception:
            log_internal_error("openai-agents trace start")

    def on_trace_end(self, trace: Trace) -> None:
        try:
            self._runs.end(trace.trace_id)
        except Exception:
            log_internal_error("openai-agents trace end")

    # -- spans -----------------------------------------------------------------

    def on_span_start(self, span: Span[Any]) -> None:
        if not self.enabled:
            return
        try:
            data = span.span_data
            parent = self._parent(span)
            if isinstance(data, HandoffSpanData):
                with self._lock:
                    self._handoffs[span.span_id] = (parent, _start_ns(span))
                return
            operation = self._operation(data)
            if operation is None:
                with self._lock:
                    self._skipped[span.span_id] = span.parent_id
                return
            self._runs.start(span.span_id, operation, parent)
            if isinstance(data, FunctionSpanData) and operation.context is not None:
                span_id = operation.span.get_span_context().span_id
                with self._lock:
                    self._tools[span_id] = operation
        except Exception:
            log_internal_error("openai-agents span start")

    def _parent(self, span: Span[Any]) -> Context | None:
        """The context of the nearest SDK ancestor we made a span for (looking past the
        turn, task and model spans we make none for), else of the trace; else None."""
        parent_id = span.parent_id
        while parent_id is not None:
            context = self._runs.context_of(parent_id)
            if context is not None:
                return context
            parent_id = self._skipped.get(parent_id)
        return self._runs.context_of(span.trace_id)

    def on_span_end(self, span: Span[Any]) -> None:
        try:
            data = span.span_data
            if span.span_id in self._skipped:
                with self._lock:
                    self._skipped.pop(span.span_id, None)
                return
            if isinstance(data, HandoffSpanData):
                self._end_handoff(span, data)
                return
            operation = self._runs.operation(span.span_id)
            if operation is None:
                return
            if isinstance(data, FunctionSpanData):
                with self._lock:
                    self._tools.pop(operation.span.get_span_context().span_id, None)
                if data.input is not None:
                    operation.set_arguments(maybe_json(data.input))
                if data.output is not None:
                    operation.set_result(data.output)
            elif isinstance(data, GuardrailSpanData):
                operation.set_decision(
                    GuardrailDecision.block("tripwire triggered")
                    if data.triggered
                    else GuardrailDecision.allow()
                )
            self._end(span)
        except Exception:
            log_internal_error("openai-agents span end")

    def _operation(self, data: Any) -> TracedOperation | None:
        """Our operation for an SDK span's data; None for kinds we make no span for."""
        if isinstance(data, AgentSpanData):
            return agent_span(data.name or "agent")
        if isinstance(data, FunctionSpanData):
            tool_type = semconv.TOOL_TYPE_EXTENSION if data.mcp_data else semconv.TOOL_TYPE_FUNCTION
            return tool_span(data.name or "tool", tool_type=tool_type)
        if isinstance(data, GuardrailSpanData):
            return guardrail_span(data.name or "guardrail")
        return None

    def _end(self, span: Span[Any]) -> None:
        """End our run for ``span``, failed when the SDK attached an error to it."""
        error = span.error
        if not error:
            self._runs.end(span.span_id)
            return
        message = str(error.get("message") or "error")
        detail = (error.get("data") or {}).get("error")
        description = f"{message}: {detail}" if detail else message
        self._runs.end(
            span.span_id,
            error_type=message[:_MAX_ERROR_TYPE],
            description=_content.redact(description[:_MAX_DESCRIPTION]),
        )

    def _end_handoff(self, span: Span[Any], data: HandoffSpanData) -> None:
        with self._lock:
            started = self._handoffs.pop(span.span_id, None)
        if started is None:
            return
        parent, start_ns = started
        operation = tool_span(_handoff_tool(data.to_agent))
        self._runs.start(span.span_id, operation, parent, current=False, start_time=start_ns)
        self._end(span)

    # -- the tool call id --------------------------------------------------------

    def note_tool_call(self, call_id: Any) -> None:
        """Record ``call_id`` on the tool span current now (where the SDK builds the
        context of the tool it is about to run)."""
        if not isinstance(call_id, str) or not call_id:
            return
        operation = self._tools.get(get_current_span().get_span_context().span_id)
        if operation is not None:
            operation.set_attribute(semconv.GEN_AI_TOOL_CALL_ID, call_id)

    # -- lifecycle -----------------------------------------------------------------

    def shutdown(self) -> None:
        self._runs.end_all()

    def force_flush(self) -> None:
        """Nothing is buffered here: spans go to the OpenTelemetry SDK's own processors."""
