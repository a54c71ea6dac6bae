"""The LangChain callback handler that turns runs into otel-agentkit spans and metrics.

Per LangChain run (each has a ``run_id`` and its parent's ``parent_run_id``):

* the outermost run (no parent: a LangGraph graph, an agent executor, a
  chain): ``invoke_agent {name}`` and ``gen_ai.invoke_agent.duration``;
* a tool: ``execute_tool {name}`` with ``gen_ai.tool.call.id`` and
  ``gen_ai.execute_tool.duration``, arguments and result with content
  capture on;
* a retriever: ``retrieval {name}`` with the number of documents;
* any other chain (graph nodes, prompts, parsers, ...): no span; runs inside
  it nest under its nearest ancestor that has one, following the run tree;
* a model call: no span of its own unless no instrumentation made one for
  its requests (``_duplicates.watch_llm_requests``): then ``chat {model}``
  (``text_completion`` for plain LLMs), back-dated to the call's start, with
  the model, token usage and finish reasons LangChain reports, and the GenAI
  client metrics.

The handler runs inline (``run_inline``): LangChain calls it in the run's own
thread or task, so the span it makes current there is what the provider
instrumentors see. Errors inside it are logged at debug level, never raised.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import context as otel_context
from opentelemetry import trace

from otel_agentkit import semconv
from otel_agentkit._content import ContentCapture
from otel_agentkit.decorators import TracedOperation, agent_span, retrieval_span, tool_span
from otel_agentkit.instrumentation import _duplicates
from otel_agentkit.instrumentation._base import TelemetryHandle, log_internal_error
from otel_agentkit.instrumentation._genai import Call, Response, get_field
from otel_agentkit.instrumentation._runs import OpenRuns

__all__ = ["AgentkitCallbackHandler"]


class _ModelRun:
    """A model call in progress: what its fallback span would need."""

    __slots__ = ("attached", "base", "operation", "params", "start_ns", "token", "watch")

    def __init__(
        self,
        operation: str,
        params: dict[str, Any],
        base: otel_context.Context,
        attached: otel_context.Context,
        watch: _duplicates.LLMRequestWatch,
    ) -> None:
        self.operation = operation
        self.params = params
        self.base = base  # the context the call runs in, without the watch
        self.attached = attached
        self.token: Any = None
        self.watch = watch
        self.start_ns = time.time_ns()


def _model_params(
    serialized: Mapping[str, Any] | None, kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """Request model and provider of a model run, from what LangChain passes."""
    metadata = kwargs.get("metadata") or {}
    invocation = kwargs.get("invocation_params") or {}
    model = (
        invocation.get("model")
        or invocation.get("model_name")
        or metadata.get("ls_model_name")
        or ((serialized or {}).get("kwargs") or {}).get("model_name")
    )
    provider = metadata.get("ls_provider") or invocation.get("_type") or "langchain"
    return {"model": model if isinstance(model, str) else None, "provider": str(provider)}


def _read_result(result: Any, response: Response) -> None:
    """Model, usage, finish reasons and tool calls from a LangChain ``LLMResult``."""
    output = getattr(result, "llm_output", None) or {}
    model = output.get("model_name") or output.get("model")
    if isinstance(model, str):
        response.model = model
    response.read_tokens(output.get("token_usage"), "prompt_tokens", "completion_tokens")
    reasons: list[str] = []
    for generations in getattr(result, "generations", None) or []:
        for generation in generations:
            info = getattr(generation, "generation_info", None) or {}
            reason = info.get("finish_reason") or info.get("stop_reason")
            if isinstance(reason, str):
                reasons.append(reason)
            message = getattr(generation, "message", None)
            if message is None:
                continue
            if response.input_tokens is None:
                response.read_tokens(
                    getattr(message, "usage_metadata", None), "input_tokens", "output_tokens"
                )
            for call in getattr(message, "tool_calls", None) or []:
                response.tool_calls.append((get_field(call, "id"), get_field(call, "name")))
    if reasons:
        response.finish_reasons = reasons


def _tool_result(output: Any) -> tuple[Any, str | None]:
    """A tool's output as its result, and the tool-call id a ``ToolMessage`` carries."""
    call_id = getattr(output, "tool_call_id", None)
    content = getattr(output, "content", output) if call_id is not None else output
    return content, call_id if isinstance(call_id, str) else None


class AgentkitCallbackHandler(BaseCallbackHandler):
    """LangChain callbacks -> otel-agentkit spans (see the module docstring)."""

    run_inline = True
    raise_error = False

    def __init__(self, *, llm_spans: bool = True) -> None:
        super().__init__()
        self.enabled = True
        #: Make the LLM span of a model call nothing else made one for.
        self.llm_spans = llm_spans
        self._runs = OpenRuns()
        #: run id -> parent run id, of open runs that make no span.
        self._skipped: dict[UUID, UUID | None] = {}
        self._models: dict[UUID, _ModelRun] = {}
        self._lock = threading.Lock()
        self._handle = TelemetryHandle()

    # -- the run tree ----------------------------------------------------------

    def _parent(self, parent_run_id: UUID | None) -> otel_context.Context | None:
        """The context of the nearest ancestor run with a span; None: the current one."""
        while parent_run_id is not None:
            context = self._runs.context_of(parent_run_id)
            if context is not None:
                return context
            parent_run_id = self._skipped.get(parent_run_id)
        return None

    def _open(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        make: Callable[[], TracedOperation],
        then: Callable[[TracedOperation], None] | None = None,
    ) -> None:
        """Start the operation ``make`` gives under its nearest ancestor with a span."""
        if not self.enabled:
            return
        try:
            operation = make()
            self._runs.start(run_id, operation, self._parent(parent_run_id))
            if then is not None:
                then(operation)
        except Exception:
            log_internal_error("langchain run start")

    def _close(
        self,
        run_id: UUID,
        error: BaseException | None = None,
        record: Callable[[TracedOperation], None] | None = None,
    ) -> None:
        """End run ``run_id`` (after ``record`` read its result into the operation)."""
        try:
            with self._lock:
                skipped = run_id in self._skipped
                self._skipped.pop(run_id, None)
            if skipped:
                return
            operation = self._runs.operation(run_id)
            if operation is not None and record is not None:
                record(operation)
            self._runs.end(run_id, error)
        except Exception:
            log_internal_error("langchain run end")

    # -- chains and graphs -------------------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        if parent_run_id is not None:  # not the outermost run: no span, looked through
            with self._lock:
                self._skipped[run_id] = parent_run_id
            return
        name = kwargs.get("name") or (serialized or {}).get("name") or "chain"
        self._open(run_id, None, lambda: agent_span(str(name)))

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, error)

    on_tool_error = on_chain_error
    on_retriever_error = on_chain_error

    # -- tools -----------------------------------------------------------------

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        serialized = serialized or {}
        name = kwargs.get("name") or serialized.get("name") or "tool"
        description = serialized.get("description")
        call_id = kwargs.get("tool_call_id")
        self._open(
            run_id,
            parent_run_id,
            lambda: tool_span(
                str(name),
                description=description if isinstance(description, str) else None,
                call_id=call_id if isinstance(call_id, str) else None,
            ),
            lambda operation: operation.set_arguments(inputs if inputs is not None else input_str),
        )

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        def record(operation: TracedOperation) -> None:
            result, call_id = _tool_result(output)
            if call_id is not None:
                operation.set_attribute(semconv.GEN_AI_TOOL_CALL_ID, call_id)
            operation.set_result(result)

        self._close(run_id, record=record)

    # -- retrievers --------------------------------------------------------------

    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        name = kwargs.get("name") or (serialized or {}).get("name")
        self._open(run_id, parent_run_id, lambda: retrieval_span(str(name) if name else None))

    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, record=lambda op: op.set_returned_documents(len(documents)))

    # -- model calls ---------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._model_start(semconv.OP_CHAT, serialized, run_id, parent_run_id, kwargs)

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._model_start(semconv.OP_TEXT_COMPLETION, serialized, run_id, parent_run_id, kwargs)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._model_end(run_id, response, None)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._model_end(run_id, None, error)

    def _model_start(
        self,
        operation: str,
        serialized: dict[str, Any] | None,
        run_id: UUID,
        parent_run_id: UUID | None,
        kwargs: Mapping[str, Any],
    ) -> None:
        """Run the model call under a watch (and under its parent run's span)."""
        if not self.enabled:
            return
        try:
            base = otel_context.get_current()
            parent = self._parent(parent_run_id)
            if parent is not None:
                base = trace.set_span_in_context(trace.get_current_span(parent), base)
            attached, watch = _duplicates.watch_llm_requests(base)
            run = _ModelRun(operation, _model_params(serialized, kwargs), base, attached, watch)
            run.token = otel_context.attach(attached)
            with self._lock:
                self._models[run_id] = run
        except Exception:
            log_internal_error("langchain model start")

    def _model_end(self, run_id: UUID, result: Any, error: BaseException | None) -> None:
        """Detach the watch; make the LLM span when nothing else made one."""
        try:
            with self._lock:
                run = self._models.pop(run_id, None)
            if run is None:
                return
            if otel_context.get_current() is run.attached:
                otel_context.detach(run.token)
            if run.watch.seen or not self.llm_spans or self._handle.inactive():
                return
            self._fallback_span(run, result, error)
        except Exception:
            log_internal_error("langchain model end")

    def _fallback_span(self, run: _ModelRun, result: Any, error: BaseException | None) -> None:
        """The ``chat {model}`` span of a model call no instrumentation made one for."""
        model = run.params["model"]
        attributes: dict[str, Any] = {
            semconv.GEN_AI_OPERATION_NAME: run.operation,
            semconv.GEN_AI_PROVIDER_NAME: run.params["provider"],
        }
        if model:
            attributes[semconv.GEN_AI_REQUEST_MODEL] = model
        token = otel_context.attach(run.base)
        try:
            call = Call(
                self._handle,
                run.operation,
                model,
                attributes,
                ContentCapture.NO_CONTENT,
                start_time=run.start_ns,
            )
        finally:
            otel_context.detach(token)
        if error is not None:
            call.fail(error)
            return
        response = Response(False)
        try:
            _read_result(result, response)
        except Exception:
            log_internal_error("reading a langchain model result")
        call.succeed(response)
