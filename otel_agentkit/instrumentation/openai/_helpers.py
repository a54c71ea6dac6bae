"""End the span of a ``.stream()`` helper (chat completions, Responses) when it is closed.

``client.chat.completions.stream(...)`` (and ``client.beta.chat.completions.stream``)
returns a ``ChatCompletionStreamManager`` that calls ``chat.completions.create(stream=True)``
when it is entered, so its span is the ``create`` span and our stream proxy is the
helper's raw stream. But closing the helper (leaving its ``with`` block,
``stream.close()``) closes the HTTP response directly, not the raw stream: without
these hooks a helper left early would end its span only when the proxy is garbage
collected. The hooks end it at the close, and record an exception propagating out
of the ``with`` block as ``error.type``, like the plain stream proxy does.
``client.responses.stream(...)`` (``ResponseStreamManager``) has the same shape and
gets the same hooks.

Each hook calls the original first or last as the close order needs, never raises
into the caller, and does nothing for a raw stream that is not ours.
"""

from __future__ import annotations

from typing import Any

from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._streams import AsyncStreamProxy, SyncStreamProxy

__all__ = ["HELPER_HOOKS"]

_CHAT = "openai.lib.streaming.chat"
_RESPONSES = "openai.lib.streaming.responses"


def _finish_raw_stream(helper_stream: Any, error: BaseException | None) -> None:
    """End the span of the helper's raw stream, if it is one of our proxies."""
    try:
        raw = getattr(helper_stream, "_raw_stream", None)
        if isinstance(raw, SyncStreamProxy | AsyncStreamProxy):
            raw._self_recorder.finish(error)
    except Exception:
        log_internal_error("openai stream helper close")


def _managed_stream(manager: Any) -> Any:
    """The stream a manager made: its name-mangled private ``__stream`` attribute."""
    for cls in type(manager).__mro__:
        stream = getattr(manager, f"_{cls.__name__}__stream", None)
        if stream is not None:
            return stream
    return None


def _sync_close(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    try:
        return wrapped(*args, **kwargs)
    finally:
        _finish_raw_stream(instance, None)


async def _async_close(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    try:
        return await wrapped(*args, **kwargs)
    finally:
        _finish_raw_stream(instance, None)


def _exit_error(args: Any, kwargs: Any) -> BaseException | None:
    exc = args[1] if len(args) > 1 else kwargs.get("exc")
    return exc if isinstance(exc, BaseException) else None


def _sync_exit(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    # The caller's exception (if any) is recorded before the close ends the span.
    error = _exit_error(args, kwargs)
    if error is not None:
        _finish_raw_stream(_managed_stream(instance), error)
    return wrapped(*args, **kwargs)


async def _async_exit(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    error = _exit_error(args, kwargs)
    if error is not None:
        _finish_raw_stream(_managed_stream(instance), error)
    return await wrapped(*args, **kwargs)


#: (module, class, method, wrapper) installed next to the resource-method wrappers.
HELPER_HOOKS: tuple[tuple[str, str, str, Any], ...] = (
    (_CHAT, "ChatCompletionStream", "close", _sync_close),
    (_CHAT, "AsyncChatCompletionStream", "close", _async_close),
    (_CHAT, "ChatCompletionStreamManager", "__exit__", _sync_exit),
    (_CHAT, "AsyncChatCompletionStreamManager", "__aexit__", _async_exit),
    (_RESPONSES, "ResponseStream", "close", _sync_close),
    (_RESPONSES, "AsyncResponseStream", "close", _async_close),
    (_RESPONSES, "ResponseStreamManager", "__exit__", _sync_exit),
    (_RESPONSES, "AsyncResponseStreamManager", "__aexit__", _async_exit),
)
