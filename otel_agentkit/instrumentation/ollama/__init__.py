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
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from types import MethodType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_agentkit import semconv
from otel_agentkit.instrumentation._base import (
    LibraryInstrumentor,
    log_internal_error,
    unwrap_methods,
    wrap_methods,
)
from otel_agentkit.instrumentation._genai import (
    Call,
    LLMSettings,
    run_async,
    run_sync,
    server_of,
    start_call,
)
from otel_agentkit.instrumentation._streams import LazyAsyncStreamProxy, LazySyncStreamProxy
from otel_agentkit.instrumentation.ollama import _calls
from otel_agentkit.instrumentation.ollama._calls import GenerationStreamRecorder

__all__ = ["OllamaInstrumentor"]

#: Versions of the ollama client we support (checked again in ``_instrument``,
#: because the ``opentelemetry-instrument`` launcher skips the dependency check).
#: 0.4 made responses pydantic models; earlier versions returned plain dicts.
_instruments = ("ollama >= 0.4, < 1",)

_RequestFn = Callable[[Mapping[str, Any]], dict[str, Any]]


class _Operation:
    """How one wrapped method binds its arguments, reads its request and its response."""

    __slots__ = ("finish", "name", "positional", "request_attributes", "streams")

    def __init__(
        self,
        name: str,
        positional: tuple[str, ...],
        request_attributes: _RequestFn,
        finish: _calls.Finish,
        streams: bool,
    ) -> None:
        self.name = name
        self.positional = positional
        self.request_attributes = request_attributes
        self.finish = finish
        self.streams = streams


# ``positional``: the parameters the ollama client accepts by position, in order.
_CHAT = _Operation(
    semconv.OP_CHAT,
    ("model", "messages"),
    _calls.generation_request_attributes,
    _calls.finish_chat,
    True,
)
_GENERATE = _Operation(
    semconv.OP_TEXT_COMPLETION,
    ("model", "prompt", "suffix"),
    _calls.generation_request_attributes,
    _calls.finish_generate,
    True,
)
_EMBED = _Operation(
    semconv.OP_EMBEDDINGS,
    ("model", "input", "truncate", "options", "keep_alive", "dimensions"),
    _calls.embeddings_request_attributes,
    _calls.finish_embeddings,
    False,
)
_EMBEDDINGS = _Operation(
    semconv.OP_EMBEDDINGS,
    ("model", "prompt", "options", "keep_alive"),
    _calls.embeddings_request_attributes,
    _calls.finish_embeddings,
    False,
)

_METHODS: tuple[tuple[str, _Operation], ...] = (
    ("chat", _CHAT),
    ("generate", _GENERATE),
    ("embed", _EMBED),
    ("embeddings", _EMBEDDINGS),
)

#: Context key OpenLLMetry's instrumentations (``opentelemetry.semconv_ai``) check to
#: step aside. Its ollama instrumentation wraps ``Client._request``, inside ours:
#: setting the key while our call runs keeps one span per call (ours).
_OPENLLMETRY_SUPPRESS_KEY = "suppress_language_model_instrumentation"

#: Set while one of our wrappers runs: a subclass whose ``chat`` calls
#: ``super().chat()`` (or a client method calling another) gets one span, not two.
_IN_CALL: ContextVar[bool] = ContextVar("otel_agentkit_ollama_in_call", default=False)


def _bind(op: _Operation, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    params = dict(zip(op.positional, args, strict=False)) if args else {}
    params.update(kwargs)
    return params


def _server(settings: LLMSettings, instance: Any) -> tuple[str | None, int | None]:
    """server.address/port from the client's base URL (host only: never its userinfo)."""
    http = getattr(instance, "_client", None)
    url = getattr(http, "_base_url", None)
    cached = settings.server_cache  # (base URL object, host, port) of the last client
    if cached is not None and url is not None and cached[0] is url:
        return cached[1], cached[2]
    host, port = server_of(http)
    settings.server_cache = (url, host, port)
    return host, port


def _start(settings: LLMSettings, op: _Operation, instance: Any, params: Mapping[str, Any]) -> Call:
    host, port = _server(settings, instance)
    return start_call(
        settings,
        op.name,
        semconv.PROVIDER_OLLAMA,
        params.get("model"),
        host,
        port,
        op.request_attributes(params),
    )


def _handle_result(
    result: Any,
    call: Call,
    op: _Operation,
    params: Mapping[str, Any],
    context: otel_context.Context,
    is_async: bool,
) -> Any:
    """Finish ``call`` from ``result``; return what the caller gets (maybe a stream proxy).

    ``context`` is the one the call ran in (its span current), for a stream's first chunk.
    """
    if op.streams and params.get("stream") is True:
        try:
            recorder = GenerationStreamRecorder(call, params, chat=op is _CHAT)
            # The generator sends the request at the first chunk: the span is
            # current then too, so HTTP client spans nest under it.
            if is_async:
                return LazyAsyncStreamProxy(result, recorder, context)
            return LazySyncStreamProxy(result, recorder, context)
        except Exception:
            log_internal_error("ollama stream wrapping")
            call.succeed({}, None, None, None)  # end the span; the caller gets the bare stream
            return result
    try:
        op.finish(result, call, params)  # reads the response under its own guard, ends the span
    except Exception:
        log_internal_error("ollama result handling")
    return result


def _sync_wrapper(settings: LLMSettings, op: _Operation) -> Callable[..., Any]:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if _IN_CALL.get() or settings.handle.inactive() or not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        try:
            params = _bind(op, args, kwargs)
            call = _start(settings, op, instance, params)
        except Exception:
            log_internal_error("ollama span start")
            return wrapped(*args, **kwargs)
        context = otel_context.set_value(_OPENLLMETRY_SUPPRESS_KEY, True, call.span_context)
        result = run_sync(call, context, _IN_CALL, True, wrapped, args, kwargs)
        return _handle_result(result, call, op, params, context, False)

    return wrapper


def _async_wrapper(settings: LLMSettings, op: _Operation) -> Callable[..., Any]:
    async def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if _IN_CALL.get() or settings.handle.inactive() or not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        try:
            params = _bind(op, args, kwargs)
            call = _start(settings, op, instance, params)
        except Exception:
            log_internal_error("ollama span start")
            return await wrapped(*args, **kwargs)
        context = otel_context.set_value(_OPENLLMETRY_SUPPRESS_KEY, True, call.span_context)
        result = await run_async(call, context, _IN_CALL, True, wrapped, args, kwargs)
        return _handle_result(result, call, op, params, context, True)

    return wrapper


class OllamaInstrumentor(LibraryInstrumentor):
    """Instruments the ollama client library (v0.4 up to, not including, v1).

    Keyword arguments to :meth:`instrument`:

    ``tracer_provider``, ``meter_provider``, ``logger_provider``
        Providers to use; by default the global ones, looked up at call time.
    ``capture_content``
        ``NO_CONTENT``/``SPAN_ONLY``/``EVENT_ONLY``/``SPAN_AND_EVENT`` (or a bool);
        by default ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, read
        at each call. Captured content goes through the shared redaction and
        truncation.
    ``prices``
        Model name -> :class:`otel_agentkit.pricing.ModelPrice`, for the
        ``agentkit.llm.cost`` counter (a self-hosted model usually has none).
    """

    _instruments = _instruments
    _modules = ("ollama",)

    def _check_arguments(self, **kwargs: Any) -> None:
        LLMSettings.from_kwargs(kwargs)  # a bad capture_content or prices raises now

    def _wrap(self, **kwargs: Any) -> None:
        self._rebound: dict[str, Any] = {}
        settings = LLMSettings.from_kwargs(kwargs)
        self._wrapped = wrap_methods(
            (
                "ollama._client",
                cls,
                method,
                (_async_wrapper if is_async else _sync_wrapper)(settings, op),
            )
            for cls, is_async in (("Client", False), ("AsyncClient", True))
            for method, op in _METHODS
        )
        self._rebind_module_functions()

    def _rebind_module_functions(self) -> None:
        """Point ``ollama.chat`` & co. at the (now wrapped) methods of the default client.

        ``ollama/__init__.py`` binds them once, at import (``chat = _client.chat``),
        so wrapping the class does not reach them. A name the user replaced
        meanwhile is left alone. ``from ollama import chat`` done *before*
        instrumenting keeps the old binding (as with any bound method).
        """
        try:
            package = importlib.import_module("ollama")
            default = getattr(package, "_client", None)
            if default is None:
                return
            for method, _ in _METHODS:
                current = getattr(package, method, None)
                # Only the plain bound method ollama made (not a user's replacement).
                if type(current) is not MethodType or current.__self__ is not default:
                    continue
                self._rebound[method] = current
                setattr(package, method, getattr(default, method))
        except Exception:
            log_internal_error("rebinding ollama module functions")

    def _unwrap(self) -> None:
        unwrap_methods(getattr(self, "_wrapped", []), "ollama uninstrument")
        self._wrapped = []
        rebound: dict[str, Any] = getattr(self, "_rebound", {})
        if rebound:
            try:
                package = importlib.import_module("ollama")
                for method, original in rebound.items():
                    current = getattr(package, method, None)
                    # Only undo our own rebinding (a bound method of the wrapper).
                    if getattr(current, "__self__", None) is getattr(original, "__self__", None):
                        setattr(package, method, original)
            except Exception:
                log_internal_error("ollama uninstrument")
        self._rebound = {}
