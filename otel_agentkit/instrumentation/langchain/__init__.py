"""LangChain and LangGraph auto-instrumentation (``langchain-core``): agent, tool, retrieval spans.

::

    from otel_agentkit.instrumentation.langchain import LangChainInstrumentor

    LangChainInstrumentor().instrument()

or ``agentkit.instrument()``, or with no code change ``opentelemetry-instrument
python app.py`` (entry point ``agentkit_langchain``).

Adds a callback handler (``_handler``) to every LangChain callback manager as
it is made, so every chain, graph, tool, retriever and model run reports to
it with no change to user code; LangGraph runs through the same callbacks.
What becomes a span: the outermost run (a graph's ``invoke``, an agent
executor, a chain) is ``invoke_agent {name}``; tools are
``execute_tool {name}`` (with the model's tool-call id); retrievers are
``retrieval {name}``. Runs in between (graph nodes, prompts, parsers) make no
span; what runs inside them nests under their nearest ancestor that does, in
the run tree, also across LangGraph's threads, tasks and parallel branches.

LLM spans come from the provider instrumentors underneath (OpenAI, Anthropic,
...). For a model whose client none of them instruments, the handler makes
the ``chat {model}`` span itself, from what LangChain reports, and only then:
never both (see ``_duplicates.watch_llm_requests``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from otel_agentkit.instrumentation._base import (
    LibraryInstrumentor,
    log_internal_error,
    unwrap_methods,
    wrap_methods,
)

__all__ = ["LangChainInstrumentor"]

#: Versions of langchain-core we support (LangGraph runs on it).
_instruments = ("langchain-core >= 0.3.10, < 2",)

#: Every callback manager (sync and async, per run) is made through this.
_MANAGER_INIT = ("langchain_core.callbacks.base", "BaseCallbackManager", "__init__")


class LangChainInstrumentor(LibraryInstrumentor):
    """Instruments LangChain and LangGraph (langchain-core v0.3 up to, not including, v2).

    Takes ``llm_spans=False`` to never make the handler's own LLM spans (for a
    model client another vendor's instrumentation covers and ours does not).
    Spans and metrics go to the global providers at the time they are recorded.
    """

    _instruments = _instruments
    _modules = ("langchain_core",)
    _handler: ClassVar[Any] = None

    def _wrap(self, **kwargs: Any) -> None:
        from otel_agentkit.instrumentation.langchain._handler import AgentkitCallbackHandler

        handler = AgentkitCallbackHandler(llm_spans=kwargs.get("llm_spans", True) is not False)
        type(self)._handler = handler

        def init(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            result = wrapped(*args, **kwargs)
            try:
                if not any(
                    isinstance(h, AgentkitCallbackHandler) for h in instance.inheritable_handlers
                ):
                    instance.add_handler(handler, inherit=True)
            except Exception:
                log_internal_error("langchain callback manager")
            return result

        self._wrapped = wrap_methods([(*_MANAGER_INIT, init)])

    def _unwrap(self) -> None:
        unwrap_methods(getattr(self, "_wrapped", []), "LangChainInstrumentor uninstrument")
        self._wrapped = []
        handler = type(self)._handler
        if handler is not None:
            handler.enabled = False
        type(self)._handler = None
