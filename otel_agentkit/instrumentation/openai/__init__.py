"""OpenAI auto-instrumentation (and every OpenAI-compatible server).

::

    from otel_agentkit.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument()

or, with no code change, ``opentelemetry-instrument python app.py`` (entry
point ``agentkit_openai``; ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=agentkit_openai``
turns it off).

Wraps, sync and async: ``chat.completions.create`` / ``.parse`` (and so
``with_raw_response``, ``with_streaming_response`` and ``.stream()``, which go
through them), ``beta.chat.completions.parse`` where it is a class of its own,
``responses.create``, ``embeddings.create`` and the legacy
``completions.create``. Each call gets one CLIENT span ``{operation} {model}``
with the GenAI semantic-convention attributes, and the GenAI client metrics,
recorded in the span's context. ``_helpers`` ends a ``.stream()`` helper's span
when the helper is closed; ``_unbound`` catches calls made through helpers
bound before ``instrument()`` at the client's ``request``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from types import MethodType
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import INVALID_SPAN, get_current_span

from otel_agentkit import semconv
from otel_agentkit.instrumentation._base import (
    LibraryInstrumentor,
    log_internal_error,
    unwrap_methods,
    wrap_methods,
)
from otel_agentkit.instrumentation._genai import (
    LLMSettings,
    raw_response_mode,
    run_async,
    run_sync,
    start_call,
)
from otel_agentkit.instrumentation._streams import (
    AsyncStreamProxy,
    StreamRecorder,
    SyncStreamProxy,
)
from otel_agentkit.instrumentation.openai import _calls, _completions, _unbound
from otel_agentkit.instrumentation.openai._calls import (
    CLIENT_PROVIDER_ATTR,
    Call,
    ChatStreamRecorder,
    ResponsesStreamRecorder,
)
from otel_agentkit.instrumentation.openai._helpers import HELPER_HOOKS

__all__ = ["OpenAIInstrumentor", "set_provider_name"]

_log = logging.getLogger("otel_agentkit")

#: Versions of openai we support (checked again in ``_instrument``, because the
#: ``opentelemetry-instrument`` launcher skips the dependency check).
_instruments = ("openai >= 1.40, < 4",)

#: Module of the official instrumentation (opentelemetry-instrumentation-openai-v2).
_OFFICIAL_SCOPE_PREFIX = "opentelemetry.instrumentation.openai_v2"
#: Scopes its spans carry: its own, or (openai-v2 2.x) the shared GenAI handler's.
_OFFICIAL_SPAN_SCOPES = (_OFFICIAL_SCOPE_PREFIX, "opentelemetry.util.genai")

_StartFn = Callable[[Mapping[str, Any]], dict[str, Any]]
_FinishFn = Callable[[Any, Call, Mapping[str, Any]], None]
_RecorderFn = Callable[[Call, Mapping[str, Any]], StreamRecorder]


class _Operation:
    """How one wrapped method reads its request and response."""

    __slots__ = ("finish", "name", "recorder", "request_attributes")

    def __init__(
        self,
        name: str,
        request_attributes: _StartFn,
        finish: _FinishFn,
        recorder: _RecorderFn | None,
    ) -> None:
        self.name = name
        self.request_attributes = request_attributes
        self.finish = finish
        self.recorder = recorder


_CHAT = _Operation(
    semconv.OP_CHAT, _calls.chat_request_attributes, _calls.finish_chat, ChatStreamRecorder
)
_RESPONSES = _Operation(
    semconv.OP_CHAT,
    _calls.responses_request_attributes,
    _calls.finish_responses,
    ResponsesStreamRecorder,
)
_EMBEDDINGS = _Operation(
    semconv.OP_EMBEDDINGS, _calls.embeddings_request_attributes, _calls.finish_embeddings, None
)
#: The legacy Completions API: its request arguments are a subset of chat's.
_COMPLETIONS = _Operation(
    semconv.OP_TEXT_COMPLETION,
    _calls.chat_request_attributes,
    _completions.finish_completion,
    _completions.CompletionStreamRecorder,
)

#: (module, class, method, operation, is_async)
_TARGETS: tuple[tuple[str, str, str, _Operation, bool], ...] = (
    ("openai.resources.chat.completions", "Completions", "create", _CHAT, False),
    ("openai.resources.chat.completions", "AsyncCompletions", "create", _CHAT, True),
    ("openai.resources.chat.completions", "Completions", "parse", _CHAT, False),
    ("openai.resources.chat.completions", "AsyncCompletions", "parse", _CHAT, True),
    ("openai.resources.responses", "Responses", "create", _RESPONSES, False),
    ("openai.resources.responses", "AsyncResponses", "create", _RESPONSES, True),
    ("openai.resources.embeddings", "Embeddings", "create", _EMBEDDINGS, False),
    ("openai.resources.embeddings", "AsyncEmbeddings", "create", _EMBEDDINGS, True),
    ("openai.resources.completions", "Completions", "create", _COMPLETIONS, False),
    ("openai.resources.completions", "AsyncCompletions", "create", _COMPLETIONS, True),
    # openai 1.40 up to the version that made beta.chat the chat resource: a class of
    # its own (skipped where the module is gone). Its parse calls chat.completions.create
    # in some versions: the in-call guard keeps that to one span.
    ("openai.resources.beta.chat.completions", "Completions", "parse", _CHAT, False),
    ("openai.resources.beta.chat.completions", "AsyncCompletions", "parse", _CHAT, True),
)

#: API path -> operation, for calls that reach ``request`` without a resource wrapper
#: (helpers bound before ``instrument()``; see _unbound.py).
_PATHS: dict[str, _Operation] = {
    "/chat/completions": _CHAT,
    "/completions": _COMPLETIONS,
    "/embeddings": _EMBEDDINGS,
    "/responses": _RESPONSES,
}


def set_provider_name(client: Any, provider_name: str) -> Any:
    """Name the ``gen_ai.provider.name`` for every call made through ``client``.

    For OpenAI-compatible servers the base URL cannot identify (a vLLM or
    LiteLLM deployment, NVIDIA NIM on your own host)::

        client = set_provider_name(openai.OpenAI(base_url="http://vllm:8000/v1"), "vllm")

    Returns the client.
    """
    setattr(client, CLIENT_PROVIDER_ATTR, provider_name)
    return client


def _official_span_active() -> bool:
    """Whether the current span was started by the official openai-v2 instrumentation."""
    span = get_current_span()
    if span is INVALID_SPAN:  # no span at all: the common case, answered at once
        return False
    scope = getattr(span, "instrumentation_scope", None)
    name = getattr(scope, "name", "") or ""
    return name.startswith(_OFFICIAL_SPAN_SCOPES)


def _is_official_wrapper(func: Any) -> bool:
    if type(func) is MethodType:  # a plain bound method: nobody else wrapped it
        return False
    wrapper = getattr(func, "_self_wrapper", None)
    module = getattr(wrapper, "__module__", "") or ""
    return module.startswith(_OFFICIAL_SCOPE_PREFIX)


#: Set while one of our wrappers runs: a wrapped method calling another
#: (``parse`` -> ``create`` in some versions) gets one span, not two.
_IN_CALL: ContextVar[bool] = ContextVar("otel_agentkit_openai_in_call", default=False)


def _start(settings: LLMSettings, op: _Operation, instance: Any, kwargs: Mapping[str, Any]) -> Call:
    client = getattr(instance, "_client", None)
    # server.address/port and the provider derived from them change only with the
    # client's base URL: remember the last one (most programs use one client).
    # settings.server_cache: (base URL object, client type, host, port, provider).
    url = _calls.base_url_of(client)
    cached = settings.server_cache
    if cached is not None and cached[0] is url and cached[1] is type(client):
        host, port, provider = cached[2], cached[3], cached[4]
    else:
        host, port = _calls.server_of(client)
        provider = _calls.provider_for(type(client), host, port, None)
        settings.server_cache = (url, type(client), host, port, provider)
    per_client = getattr(client, CLIENT_PROVIDER_ATTR, None)
    if per_client:
        provider = str(per_client)
    elif settings.provider_name:
        provider = settings.provider_name
    return start_call(
        settings, op.name, provider, kwargs.get("model"), host, port, op.request_attributes(kwargs)
    )


def _handle_result(
    result: Any, call: Call, op: _Operation, kwargs: Mapping[str, Any], is_async: bool
) -> Any:
    """Finish ``call`` from ``result``; return what the caller gets (maybe a stream proxy)."""
    try:
        raw = raw_response_mode(kwargs)
        if raw == "stream":
            # with_streaming_response: the body is the caller's to read; reading it here
            # would change what they get. The span covers the request up to the headers.
            call.succeed({}, None, None, _request_content(call, op, kwargs))
            return result
        if raw is not None and hasattr(result, "parse"):
            parsed = result.parse()  # LegacyAPIResponse caches it: the caller gets the same
            if kwargs.get("stream") is True and op.recorder is not None:
                proxy = _wrap_stream(parsed, call, op, kwargs, is_async)
                cache = getattr(result, "_parsed_by_type", None)
                if isinstance(cache, dict):
                    for key, value in list(cache.items()):
                        if value is parsed:
                            cache[key] = proxy
                return result
            op.finish(parsed, call, kwargs)
            return result
        if kwargs.get("stream") is True and op.recorder is not None:
            return _wrap_stream(result, call, op, kwargs, is_async)
        op.finish(result, call, kwargs)
    except Exception:
        log_internal_error("openai result handling")
    return result


def _request_content(call: Call, op: _Operation, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    if op is _CHAT:
        return _calls.chat_content(call, kwargs)
    if op is _RESPONSES:
        return _calls.responses_content(call, kwargs)
    if op is _EMBEDDINGS:
        return _calls.embeddings_content(call, kwargs)
    if op is _COMPLETIONS:
        return _completions.completion_content(call, kwargs)
    return {}


def _wrap_stream(
    stream: Any, call: Call, op: _Operation, kwargs: Mapping[str, Any], is_async: bool
) -> Any:
    assert op.recorder is not None
    recorder = op.recorder(call, kwargs)
    if is_async:
        return AsyncStreamProxy(stream, recorder)
    return SyncStreamProxy(stream, recorder)


def _sync_wrapper(settings: LLMSettings, op: _Operation) -> Callable[..., Any]:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if (
            _IN_CALL.get()
            or settings.handle.inactive()
            or not is_instrumentation_enabled()
            or _official_span_active()
        ):
            return wrapped(*args, **kwargs)
        if _is_official_wrapper(wrapped):
            wrapped = wrapped.__wrapped__  # one span per call: ours (see docs/openai.md)
        try:
            call = _start(settings, op, instance, kwargs)
        except Exception:
            log_internal_error("openai span start")
            return wrapped(*args, **kwargs)
        result = run_sync(call, call.span_context, _IN_CALL, True, wrapped, args, kwargs)
        return _handle_result(result, call, op, kwargs, False)

    return wrapper


def _async_wrapper(settings: LLMSettings, op: _Operation) -> Callable[..., Any]:
    async def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if (
            _IN_CALL.get()
            or settings.handle.inactive()
            or not is_instrumentation_enabled()
            or _official_span_active()
        ):
            return await wrapped(*args, **kwargs)
        if _is_official_wrapper(wrapped):
            wrapped = wrapped.__wrapped__
        try:
            call = _start(settings, op, instance, kwargs)
        except Exception:
            log_internal_error("openai span start")
            return await wrapped(*args, **kwargs)
        result = await run_async(call, call.span_context, _IN_CALL, True, wrapped, args, kwargs)
        return _handle_result(result, call, op, kwargs, True)

    return wrapper


class OpenAIInstrumentor(LibraryInstrumentor):
    """Instruments the openai client library (v1.40 up to, not including, v4).

    Keyword arguments to :meth:`instrument`:

    ``tracer_provider``, ``meter_provider``, ``logger_provider``
        Providers to use; by default the global ones, looked up at call time.
    ``capture_content``
        ``NO_CONTENT``/``SPAN_ONLY``/``EVENT_ONLY``/``SPAN_AND_EVENT`` (or a bool);
        by default ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (or
        :func:`otel_agentkit._content.set_capture_mode`), read at each call.
        Captured content goes through the shared redaction (secret patterns,
        ``set_redaction`` hook) and truncation.
    ``provider_name``
        ``gen_ai.provider.name`` for every client (else derived from base_url).
    ``prices``
        Model name -> :class:`otel_agentkit.pricing.ModelPrice`, for the
        ``agentkit.llm.cost`` counter; by default the process-wide table set
        with :func:`otel_agentkit.pricing.set_model_prices`, read at each call.
        Calls to models without a price record no cost.
    """

    _instruments = _instruments
    _modules = ("openai",)

    def _check_arguments(self, **kwargs: Any) -> None:
        LLMSettings.from_kwargs(kwargs)  # a bad capture_content or prices raises now

    def _wrap(self, **kwargs: Any) -> None:
        settings = LLMSettings.from_kwargs(kwargs)
        self._wrapped = wrap_methods(
            (module, cls, method, (_async_wrapper if is_async else _sync_wrapper)(settings, op))
            for module, cls, method, op, is_async in _TARGETS
        )
        # Hooks that end a ``chat.completions.stream()`` span when the helper closes.
        self._wrapped += wrap_methods(HELPER_HOOKS)
        self._wrap_requests(settings)

    def _wrap_requests(self, settings: LLMSettings) -> None:
        """The ``request`` fallback for helpers bound before ``instrument()``."""
        self._requests: list[tuple[Any, Any, Any]] = []
        for module_name, class_name, is_async in _unbound.REQUEST_TARGETS:
            try:
                owner = getattr(importlib.import_module(module_name), class_name)
                factory = _async_wrapper if is_async else _sync_wrapper
                wrappers = {path: factory(settings, op) for path, op in _PATHS.items()}
                self._requests.append(_unbound.install(owner, wrappers, _IN_CALL))
            except Exception:
                _log.debug("otel-agentkit: cannot wrap %s.request", class_name, exc_info=True)

    def _unwrap(self) -> None:
        unwrap_methods(getattr(self, "_wrapped", []), "openai uninstrument")
        self._wrapped = []
        for installed in getattr(self, "_requests", []):
            _unbound.uninstall(installed)
        self._requests = []
