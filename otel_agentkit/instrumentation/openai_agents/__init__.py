"""OpenAI Agents SDK auto-instrumentation (``openai-agents``): agents, tools, handoffs, guardrails.

::

    from otel_agentkit.instrumentation.openai_agents import OpenAIAgentsInstrumentor

    OpenAIAgentsInstrumentor().instrument()

or ``agentkit.instrument()``, or with no code change ``opentelemetry-instrument
python app.py`` (entry point ``agentkit_openai_agents``).

Registers a tracing processor through the SDK's own API
(``agents.add_trace_processor``; see ``_processor`` for what each SDK span
becomes): a run gives ``invoke_workflow`` -> ``invoke_agent {name}`` ->
``chat {model}`` (from the OpenAI instrumentor, one per request) and
``execute_tool {name}`` spans, in the caller's trace, with the
``gen_ai.invoke_agent.duration`` / ``gen_ai.execute_tool.duration`` (and
workflow) histograms the decorators record. No decorator in agent code.

The SDK's own export (to the OpenAI dashboard) is left as it is: ours runs
next to it. ``agents.set_trace_processors([...])``, the SDK's way to replace
that export, keeps ours. ``set_tracing_disabled(True)`` (or
``RunConfig(tracing_disabled=True)``) stops the SDK's tracing altogether,
ours included, since our spans come from it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from otel_agentkit.instrumentation._base import (
    LibraryInstrumentor,
    log_internal_error,
    unwrap_methods,
    wrap_methods,
)

__all__ = ["OpenAIAgentsInstrumentor"]

#: Versions of openai-agents we support: the oldest the tests pass on. Before 0.5
#: ``Runner.run_sync`` uses ``asyncio.get_event_loop()``, which fails in a thread that
#: has run ``asyncio.run()``; 0.2.0 also sends a streamed Chat Completions tool call's
#: result back with an empty call id.
_instruments = ("openai-agents >= 0.5, < 1",)

#: Where the SDK builds a function tool's context (with the model's tool-call id),
#: inside the tool's span.
_TOOL_CONTEXT = ("agents.tool_context", "ToolContext", "from_agent_context")
#: Where ``agents.set_trace_processors`` replaces the processor list.
_SET_PROCESSORS = ("agents.tracing.provider", "SynchronousMultiTracingProcessor", "set_processors")


class OpenAIAgentsInstrumentor(LibraryInstrumentor):
    """Instruments the OpenAI Agents SDK (openai-agents v0.2 up to, not including, v1).

    Takes no arguments of its own. The spans and metrics go to the global
    providers at the time they are recorded (like the decorators'). Agent
    runs are traced whether or not the openai client is instrumented; the
    ``chat`` spans inside them come from the OpenAI instrumentor.
    """

    _instruments = _instruments
    _modules = ("agents",)
    #: One processor per process, registered once (the SDK cannot unregister one).
    _processor: ClassVar[Any] = None

    def _wrap(self, **kwargs: Any) -> None:
        from agents import add_trace_processor

        from otel_agentkit.instrumentation.openai_agents._processor import (
            AgentkitTracingProcessor,
        )

        cls = type(self)
        if cls._processor is None:
            cls._processor = AgentkitTracingProcessor()
            add_trace_processor(cls._processor)
        processor = cls._processor
        processor.enabled = True

        def tool_context(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            context = wrapped(*args, **kwargs)
            try:
                processor.note_tool_call(getattr(context, "tool_call_id", None))
            except Exception:
                log_internal_error("openai-agents tool call id")
            return context

        def set_processors(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            try:
                processors = list(kwargs.get("processors", args[0] if args else []))
                if processor not in processors:
                    processors.append(processor)
            except Exception:
                log_internal_error("openai-agents set_processors")
                return wrapped(*args, **kwargs)
            return wrapped(processors)

        self._wrapped = wrap_methods(
            [(*_TOOL_CONTEXT, tool_context), (*_SET_PROCESSORS, set_processors)]
        )

    def _unwrap(self) -> None:
        unwrap_methods(getattr(self, "_wrapped", []), "OpenAIAgentsInstrumentor uninstrument")
        self._wrapped = []
        processor = type(self)._processor
        if processor is not None:
            processor.enabled = False
