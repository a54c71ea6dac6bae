"""Ollama auto-instrumentation (the ``ollama`` Python client).

::

    from otel_agentkit.instrumentation.ollama import OllamaInstrumentor

    OllamaInstrumentor().instrument()

or, with no code change, ``opentelemetry-instrument python app.py`` (entry
point ``agentkit_ollama``; ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=agentkit_ollama``
turns it off).

Wraps ``chat`` (operation ``chat``), ``generate`` (``text_completion``),
``embed`` and ``embeddings`` (``embeddings``) on ``ollama.Client`` and
``ollama.AsyncClient``, streamed and not, and rebinds the module-level
functions (``ollama.chat`` and friends, bound to a default client at import
time) so they are traced too. Each call gets one CLIENT span
``{operation} {model}`` with the GenAI semantic-convention attributes, the
server-side timings Ollama reports (``agentkit.ollama.*``), and the GenAI
client metrics, recorded in the span's context.
"""

from __future__ import annotations

import importlib
from contextvars import ContextVar
from types import MethodType
from typing import Any, ClassVar

from otel_agentkit import semconv
from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._genai import Call, LLMSettings
from otel_agentkit.instrumentation._llm import API, LLMInstrumentor, Method
from otel_agentkit.instrumentation.ollama import _calls

__all__ = ["OllamaInstrumentor"]

#: Versions of the ollama client we support. 0.4 made responses pydantic
#: models; earlier versions returned plain dicts.
_instruments = ("ollama >= 0.4, < 1",)

# ``positional``: the parameters the ollama client accepts by position, in order.
_APIS = {
    "chat": API(
        semconv.OP_CHAT,
        _calls.generation_request_attributes,
        _calls.read_chat,
        _calls.chat_content,
        _calls.ChatStreamRecorder,
        ("model", "messages"),
    ),
    "generate": API(
        semconv.OP_TEXT_COMPLETION,
        _calls.generation_request_attributes,
        _calls.read_generate,
        _calls.generate_content,
        _calls.GenerationStreamRecorder,
        ("model", "prompt", "suffix"),
    ),
    "embed": API(
        semconv.OP_EMBEDDINGS,
        _calls.embeddings_request_attributes,
        _calls.read_embeddings,
        positional=("model", "input", "truncate", "options", "keep_alive", "dimensions"),
    ),
    "embeddings": API(
        semconv.OP_EMBEDDINGS,
        _calls.embeddings_request_attributes,
        _calls.read_embeddings,
        positional=("model", "prompt", "options", "keep_alive"),
    ),
}

_METHODS: tuple[Method, ...] = tuple(
    Method("ollama._client", cls, method, api, is_async)
    for cls, is_async in (("Client", False), ("AsyncClient", True))
    for method, api in _APIS.items()
)


class OllamaInstrumentor(LLMInstrumentor):
    """Instruments the ollama client library (v0.4 up to, not including, v1).

    Takes the keyword arguments every LLM instrumentor takes (see
    :class:`~otel_agentkit.instrumentation._llm.LLMInstrumentor`); a
    self-hosted model usually has no price.
    """

    _instruments = _instruments
    _modules = ("ollama",)
    _methods = _METHODS
    _in_call: ClassVar[ContextVar[Call | None]] = ContextVar(
        "otel_agentkit_ollama_call", default=None
    )
    _provider_name = semconv.PROVIDER_OLLAMA
    # The client's methods return generators that send the request at the first next().
    _lazy_streams = True

    def _after_wrap(self, settings: LLMSettings) -> None:
        """Point ``ollama.chat`` & co. at the (now wrapped) methods of the default client.

        ``ollama/__init__.py`` binds them once, at import (``chat = _client.chat``),
        so wrapping the class does not reach them. A name the user replaced
        meanwhile is left alone. ``from ollama import chat`` done *before*
        instrumenting keeps the old binding (as with any bound method).
        """
        self._rebound: dict[str, Any] = {}
        try:
            package = importlib.import_module("ollama")
            default = getattr(package, "_client", None)
            for method in _APIS if default is not None else ():
                current = getattr(package, method, None)
                # Only the plain bound method ollama made (not a user's replacement).
                if type(current) is MethodType and current.__self__ is default:
                    self._rebound[method] = current
                    setattr(package, method, getattr(default, method))
        except Exception:
            log_internal_error("rebinding ollama module functions")

    def _after_unwrap(self) -> None:
        rebound: dict[str, Any] = getattr(self, "_rebound", {})
        try:
            package = importlib.import_module("ollama") if rebound else None
            for method, original in rebound.items():
                current = getattr(package, method, None)
                # Only undo our own rebinding (a bound method of the wrapper).
                if getattr(current, "__self__", None) is getattr(original, "__self__", None):
                    setattr(package, method, original)
        except Exception:
            log_internal_error("ollama uninstrument")
        self._rebound = {}
