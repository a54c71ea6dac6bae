"""End the span of a ``chat.completions.stream()`` helper when the helper is closed.

``client.chat.completions.stream(...)`` (and ``client.beta.chat.completions.stream``)
returns a ``ChatCompletionStreamManager`` that calls ``chat.completions.create(stream=True)``
when it is entered, so its span is the ``create`` span and our stream proxy is the
helper's raw stream. But closing the helper (leaving its ``with`` block,
``stream.close()``) closes the HTTP response directly, not the raw stream: without
these hooks a helper left early would end its span only when the proxy is garbage
collected. The hooks end it at the close, and record an exception propagating out
of the ``with`` block as ``error.type``, like the plain stream proxy does.

Each hook calls the original first or last as the close order needs, never raises
into the caller, and does nothing for a raw stream that is not ours.
"""

from __future__ import annotations

from typing import Any

from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._streams import AsyncStreamProxy, SyncStreamProxy

__all__ = ["HELPER_HOOKS"]

_MODULE = "openai.lib.streaming.chat"


def _finish_raw_stream(helper_stream: Any, error: BaseException | None) -> None:
    """End the span of the helper's raw stream, if it is one of our proxies."""
    try:
        raw = getattr(helper_stream, "_raw_stream", None)
        if isinstance(raw, SyncStreamProxy | AsyncStreamProxy):
            raw._self_recorder.finish(error)
    except Exception:
        log_internal_error("openai stream helper close")


#: Where the managers keep the stream they made (name-mangled private attributes).
_MANAGED_STREAM_ATTRS = (
    "_ChatCompletionStreamManager__stream",
    "_AsyncChatCompletionStreamManager__stream",
)


def _managed_stream(manager: Any) -> Any:
    for name in _MANAGED_STREAM_ATTRS:
        stream = getattr(manager, name, None)
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
    (_MODULE, "ChatCompletionStream", "close", _sync_close),
    (_MODULE, "AsyncChatCompletionStream", "close", _async_close),
    (_MODULE, "ChatCompletionStreamManager", "__exit__", _sync_exit),
    (_MODULE, "AsyncChatCompletionStreamManager", "__aexit__", _async_exit),
)
