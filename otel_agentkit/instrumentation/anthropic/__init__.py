"""Anthropic auto-instrumentation (the ``anthropic`` client library, 0.43 to 2.x).

::

    from otel_agentkit.instrumentation.anthropic import AnthropicInstrumentor

    AnthropicInstrumentor().instrument()

or, with no code change, ``opentelemetry-instrument python app.py`` (entry
point ``agentkit_anthropic``; ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=agentkit_anthropic``
turns it off).

Wraps, sync and async: ``messages.create`` (streamed or not), ``messages.parse``,
``messages.stream`` (the ``MessageStreamManager`` helper: the span starts when
the manager is entered, which is when the request is sent) and the same three
on ``beta.messages``. Each call gets one CLIENT span ``chat {model}`` with the
GenAI semantic-convention attributes, and the GenAI client metrics, recorded
in the span's context.

anthropic 2.x traces its own API calls (an ``anthropic.messages.create``
span, on by default). Inside a call we trace, the SDK's span is replaced by
ours: the SDK then starts no span of its own, but still sends our span's trace
context with the request (unless its ``propagation`` is off). Pass
``keep_sdk_spans=True`` to keep both (the SDK's span nests under ours).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextvars import ContextVar
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import NonRecordingSpan

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
    raw_response_mode,
    run_async,
    run_sync,
    server_of,
    start_call,
)
from otel_agentkit.instrumentation._streams import AsyncStreamProxy, SyncStreamProxy, _ProxyBase
from otel_agentkit.instrumentation.anthropic._messages import (
    MessageStreamRecorder,
    finish_message,
    message_content,
    request_attributes,
)

__all__ = ["AnthropicInstrumentor"]

_log = logging.getLogger("otel_agentkit")

#: Versions of anthropic we support (checked again in ``_instrument``, because the
#: ``opentelemetry-instrument`` launcher skips the dependency check).
_instruments = ("anthropic >= 0.43, < 3",)

#: (module, class, method, kind, is_async); kind is "create" or "stream".
_TARGETS: tuple[tuple[str, str, str, str, bool], ...] = tuple(
    (module, prefix + "Messages", method, kind, bool(prefix))
    for module in ("anthropic.resources.messages", "anthropic.resources.beta.messages")
    for prefix in ("", "Async")
    for method, kind in (("create", "create"), ("parse", "create"), ("stream", "stream"))
)

#: Where anthropic 2.x starts the span of its own tracing, per API call.
_SDK_SPAN_HOOK = ("anthropic._base_client", "start_api_call_span")

#: Client class names (anthropic 1.x has no ``_gen_ai_provider_name``) -> provider.
_PROVIDER_BY_CLIENT = (
    ("Bedrock", semconv.PROVIDER_AWS_BEDROCK),
    ("Vertex", semconv.PROVIDER_GCP_VERTEX_AI),
)

#: The call our wrapper is running (so a nested wrapped method, or the SDK's own
#: tracing, knows a span for it exists already).
_CURRENT: ContextVar[Call | None] = ContextVar("otel_agentkit_anthropic_call", default=None)


def _provider(client: Any, override: str | None) -> str:
    if override:
        return override
    named = getattr(type(client), "_gen_ai_provider_name", None)
    if isinstance(named, str) and named:
        return named
    class_name = type(client).__name__
    for marker, provider in _PROVIDER_BY_CLIENT:
        if marker in class_name:
            return provider
    return semconv.PROVIDER_ANTHROPIC


def _skip(settings: LLMSettings) -> bool:
    return (
        _CURRENT.get() is not None or settings.handle.inactive() or not is_instrumentation_enabled()
    )


def _start(settings: LLMSettings, instance: Any, kwargs: Mapping[str, Any], stream: bool) -> Call:
    client = getattr(instance, "_client", None)
    host, port = server_of(client)
    attributes: dict[str, Any] = {}
    # anthropic 2.x clients may carry a conversation id for their own spans
    # (``open_telemetry={"conversation_id": ...}``): ours, which stand in for them, keep it.
    conversation = getattr(getattr(client, "_otel", None), "conversation_id", None)
    if isinstance(conversation, str) and conversation:
        attributes[semconv.GEN_AI_CONVERSATION_ID] = conversation
    attributes.update(request_attributes(kwargs, stream))
    provider = _provider(client, settings.provider_name)
    return start_call(
        settings, semconv.OP_CHAT, provider, kwargs.get("model"), host, port, attributes
    )


def _finish(
    result: Any, call: Call, kwargs: Mapping[str, Any], stream: bool, is_async: bool
) -> Any:
    """Finish ``call`` from ``result``; return what the caller gets (maybe a stream proxy)."""
    try:
        raw = raw_response_mode(kwargs)
        if raw is not None:
            parsed = None
            parse = getattr(result, "parse", None)
            if raw != "stream" and not stream and not is_async and parse is not None:
                try:
                    parsed = parse()  # cached by the response: the caller gets the same
                except Exception:
                    log_internal_error("anthropic raw response parse")
            if parsed is not None:
                finish_message(parsed, call, kwargs)
            else:
                # The body is the caller's to read (or parse asynchronously): the span
                # covers the request up to the response headers.
                call.succeed({}, None, None, message_content(call, kwargs))
            return result
        if stream:
            recorder = MessageStreamRecorder(call, kwargs)
            return (
                AsyncStreamProxy(result, recorder)
                if is_async
                else SyncStreamProxy(result, recorder)
            )
        finish_message(result, call, kwargs)
    except Exception:
        log_internal_error("anthropic result handling")
    return result


def _create_wrapper(settings: LLMSettings, is_async: bool) -> Callable[..., Any]:
    if is_async:

        async def async_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if _skip(settings):
                return await wrapped(*args, **kwargs)
            stream = kwargs.get("stream") is True
            try:
                call = _start(settings, instance, kwargs, stream)
            except Exception:
                log_internal_error("anthropic span start")
                return await wrapped(*args, **kwargs)
            result = await run_async(call, call.span_context, _CURRENT, call, wrapped, args, kwargs)
            return _finish(result, call, kwargs, stream, True)

        return async_wrapper

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if _skip(settings):
            return wrapped(*args, **kwargs)
        stream = kwargs.get("stream") is True
        try:
            call = _start(settings, instance, kwargs, stream)
        except Exception:
            log_internal_error("anthropic span start")
            return wrapped(*args, **kwargs)
        result = run_sync(call, call.span_context, _CURRENT, call, wrapped, args, kwargs)
        return _finish(result, call, kwargs, stream, False)

    return wrapper


def _request_attr(manager: Any) -> str | None:
    """The (name-mangled) attribute where a stream manager keeps its deferred request."""
    for name in vars(manager):
        if isinstance(name, str) and name.endswith("__api_request"):
            return name
    return None


class _ManagerProxy(_ProxyBase):
    """A stream manager whose ``with`` exit tells our stream the exception leaving the block.

    The manager's own exit only closes its stream (a clean end for us); with
    this, a stream left by an exception ends its span with that ``error.type``,
    as ``create(stream=True)`` used as a context manager does. Every other
    attribute is the manager's (``isinstance`` checks still pass).
    """

    def __init__(self, wrapped: Any, slot: list[Any]) -> None:
        super().__init__(wrapped)
        self._self_slot = slot

    def _self_failed(self, exc: BaseException | None) -> None:
        if exc is not None and self._self_slot:
            recorder = getattr(self._self_slot[0], "_self_recorder", None)
            if recorder is not None:
                recorder.finish(exc)

    def __enter__(self) -> Any:
        return self.__wrapped__.__enter__()

    def __exit__(self, *exc_info: Any) -> Any:
        self._self_failed(exc_info[1])
        return self.__wrapped__.__exit__(*exc_info)

    async def __aenter__(self) -> Any:
        return await self.__wrapped__.__aenter__()

    async def __aexit__(self, *exc_info: Any) -> Any:
        self._self_failed(exc_info[1])
        return await self.__wrapped__.__aexit__(*exc_info)


def _traced_sync_request(
    settings: LLMSettings,
    instance: Any,
    kwargs: Mapping[str, Any],
    request: Callable[[], Any],
    slot: list[Any],
) -> Callable[[], Any]:
    def send() -> Any:
        if _skip(settings):
            return request()
        try:
            call = _start(settings, instance, kwargs, True)
        except Exception:
            log_internal_error("anthropic span start")
            return request()
        result = run_sync(call, call.span_context, _CURRENT, call, request, (), {})
        stream = _finish(result, call, kwargs, True, False)
        slot.append(stream)
        return stream

    return send


async def _traced_async_request(
    settings: LLMSettings,
    instance: Any,
    kwargs: Mapping[str, Any],
    request: Coroutine[Any, Any, Any],
    slot: list[Any],
) -> Any:
    if _skip(settings):
        return await request
    try:
        call = _start(settings, instance, kwargs, True)
    except Exception:
        log_internal_error("anthropic span start")
        return await request
    result = await run_async(call, call.span_context, _CURRENT, call, _awaiting, (request,), {})
    stream = _finish(result, call, kwargs, True, True)
    slot.append(stream)
    return stream


async def _awaiting(request: Awaitable[Any]) -> Any:
    """Await the manager's deferred request (what :func:`run_async` runs for a stream)."""
    return await request


def _stream_wrapper(settings: LLMSettings, is_async: bool) -> Callable[..., Any]:
    """``messages.stream()`` returns a manager; the request is sent when it is entered.

    The manager's deferred request is replaced by one that starts our span when
    it runs, and hands the manager's ``MessageStream`` our stream proxy, so the
    span ends with the stream (exhausted, closed, the ``with`` block left, or
    garbage collected). The caller gets the manager behind a :class:`_ManagerProxy`.
    """

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        manager = wrapped(*args, **kwargs)
        if _skip(settings):
            return manager
        try:
            name = _request_attr(manager)
            if name is None:
                _log.debug("otel-agentkit: unknown anthropic stream manager %r", type(manager))
                return manager
            request = getattr(manager, name)
            slot: list[Any] = []
            if is_async:
                traced: Any = _traced_async_request(settings, instance, kwargs, request, slot)
            else:
                traced = _traced_sync_request(settings, instance, kwargs, request, slot)
            setattr(manager, name, traced)
            return _ManagerProxy(manager, slot)
        except Exception:
            log_internal_error("anthropic stream manager")
        return manager

    return wrapper


def _sdk_span_hook(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """Stand our span in for the anthropic SDK's own span, inside calls we trace.

    The SDK gets a non-recording span with our span's context: it records
    nothing, starts nothing, and propagates our trace context on the request.
    """
    call = _CURRENT.get()
    if call is None:
        return wrapped(*args, **kwargs)
    try:
        return NonRecordingSpan(call.span.get_span_context())
    except Exception:
        log_internal_error("anthropic sdk span hook")
        return wrapped(*args, **kwargs)


class AnthropicInstrumentor(LibraryInstrumentor):
    """Instruments the anthropic client library (v0.43 up to, not including, v3).

    Keyword arguments to :meth:`instrument`:

    ``tracer_provider``, ``meter_provider``, ``logger_provider``
        Providers to use; by default the global ones, looked up at call time.
    ``capture_content``
        ``NO_CONTENT``/``SPAN_ONLY``/``EVENT_ONLY``/``SPAN_AND_EVENT`` (or a bool);
        by default ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, read at
        each call. Captured content goes through the shared redaction and truncation.
    ``provider_name``
        ``gen_ai.provider.name`` for every client (else ``anthropic``, or
        ``aws.bedrock`` / ``gcp.vertex_ai`` for those clients).
    ``prices``
        Model name -> :class:`otel_agentkit.pricing.ModelPrice`, for the
        ``agentkit.llm.cost`` counter (default: the process-wide table).
    ``keep_sdk_spans``
        anthropic 2.x's own span per API call is replaced by ours inside the
        calls we trace (default); ``True`` keeps it, nested under ours.
    """

    _instruments = _instruments
    _modules = ("anthropic",)

    def _check_arguments(self, **kwargs: Any) -> None:
        LLMSettings.from_kwargs(kwargs)  # a bad capture_content or prices raises now

    def _wrap(self, **kwargs: Any) -> None:
        settings = LLMSettings.from_kwargs(kwargs)
        self._wrapped = wrap_methods(
            (
                module,
                cls,
                method,
                (_stream_wrapper if kind == "stream" else _create_wrapper)(settings, is_async),
            )
            for module, cls, method, kind, is_async in _TARGETS
        )
        if not kwargs.get("keep_sdk_spans"):
            module, function = _SDK_SPAN_HOOK
            self._wrapped += wrap_methods([(module, None, function, _sdk_span_hook)])

    def _unwrap(self) -> None:
        unwrap_methods(getattr(self, "_wrapped", []), "anthropic uninstrument")
        self._wrapped = []
