"""Stream proxies that end a span exactly once.

A streamed LLM response is an iterator the caller drives. Its span must end
when the caller is done with it, whichever way that happens:

* exhaustion (``StopIteration`` / ``StopAsyncIteration``),
* an exception raised by the stream,
* ``close()`` (sync or async), or the stream's context manager exiting (with
  the caller's exception, if one is propagating),
* ``break`` followed by the proxy being dropped, or plain garbage collection
  (``__del__``).

:class:`StreamRecorder` holds the per-stream state and does the constant,
small work per chunk (library-specific accumulation lives in a subclass's
:meth:`StreamRecorder.process`); :meth:`StreamRecorder.finish` is idempotent.
The proxies are :class:`wrapt.ObjectProxy` subclasses, so every attribute of
the wrapped stream (``response``, ``_iterator``, helper methods) stays
reachable and ``isinstance`` checks against the library's class still pass.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

import wrapt
from opentelemetry import context as otel_context

from otel_agentkit.instrumentation._base import log_internal_error

if TYPE_CHECKING:
    _ProxyBase = wrapt.ObjectProxy[Any]
else:  # wrapt < 2 cannot be subscripted at runtime
    _ProxyBase = wrapt.ObjectProxy


class StreamRecorder:
    """Per-stream state: timing, chunk count, the exactly-once end.

    Subclasses override :meth:`process` (called for each chunk) and
    :meth:`complete` (called once, with the error that ended the stream, if
    any, and the monotonic end time).
    """

    __slots__ = ("chunks", "finished", "first_chunk_at", "started_at")

    def __init__(self, started_at: float) -> None:
        self.started_at = started_at
        self.first_chunk_at: float | None = None
        self.chunks = 0
        self.finished = False

    def on_chunk(self, chunk: Any) -> None:
        """Record one chunk; never raises."""
        if self.first_chunk_at is None:
            self.first_chunk_at = time.perf_counter()
        self.chunks += 1
        try:
            self.process(chunk)
        except Exception:
            log_internal_error("stream chunk processing")

    def finish(self, error: BaseException | None = None) -> None:
        """End the stream's telemetry; the first call wins, later calls do nothing."""
        if self.finished:
            return
        self.finished = True
        try:
            self.complete(error, time.perf_counter())
        except Exception:
            log_internal_error("stream completion")

    def process(self, chunk: Any) -> None:
        """Accumulate what the span needs from one chunk (constant, small work)."""

    def complete(self, error: BaseException | None, ended_at: float) -> None:
        """Set the final attributes, end the span, record the metrics."""


class SyncStreamProxy(_ProxyBase):
    """Wraps a synchronous stream; see the module docstring for when the span ends."""

    def __init__(self, wrapped: Any, recorder: StreamRecorder) -> None:
        super().__init__(wrapped)
        self._self_recorder = recorder

    def __iter__(self) -> SyncStreamProxy:
        return self

    def __next__(self) -> Any:
        try:
            chunk = self.__wrapped__.__next__()
        except StopIteration:
            self._self_recorder.finish(None)
            raise
        except BaseException as exc:
            self._self_recorder.finish(exc)
            raise
        self._self_recorder.on_chunk(chunk)
        return chunk

    def close(self) -> Any:
        """Close the wrapped stream, then end the span."""
        try:
            return self.__wrapped__.close()
        finally:
            self._self_recorder.finish(None)

    def __enter__(self) -> SyncStreamProxy:
        enter = getattr(self.__wrapped__, "__enter__", None)
        if enter is not None:
            enter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        try:
            exit_ = getattr(self.__wrapped__, "__exit__", None)
            return exit_(exc_type, exc, tb) if exit_ is not None else None
        finally:
            self._self_recorder.finish(exc)

    def __del__(self) -> None:
        recorder = getattr(self, "_self_recorder", None)
        if recorder is not None:
            recorder.finish(None)


class AsyncStreamProxy(_ProxyBase):
    """Wraps an asynchronous stream; see the module docstring for when the span ends."""

    def __init__(self, wrapped: Any, recorder: StreamRecorder) -> None:
        super().__init__(wrapped)
        self._self_recorder = recorder

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_recorder.finish(None)
            raise
        except BaseException as exc:
            self._self_recorder.finish(exc)
            raise
        self._self_recorder.on_chunk(chunk)
        return chunk

    async def close(self) -> Any:
        """Close the wrapped stream, then end the span."""
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_recorder.finish(None)

    async def aclose(self) -> Any:
        """``aclose()`` for streams that have it (async generators); else ``close()``."""
        try:
            closer = getattr(self.__wrapped__, "aclose", None) or self.__wrapped__.close
            return await closer()
        finally:
            self._self_recorder.finish(None)

    async def __aenter__(self) -> AsyncStreamProxy:
        enter = getattr(self.__wrapped__, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        try:
            exit_ = getattr(self.__wrapped__, "__aexit__", None)
            return await exit_(exc_type, exc, tb) if exit_ is not None else None
        finally:
            self._self_recorder.finish(exc)

    def __del__(self) -> None:
        recorder = getattr(self, "_self_recorder", None)
        if recorder is not None:
            recorder.finish(None)


class LazySyncStreamProxy(SyncStreamProxy):
    """A :class:`SyncStreamProxy` for streams that send their request at the first ``next()``.

    A generator-based client (ollama) returns the stream before anything is
    sent: the call's span is made current around the first ``next()`` as well,
    so the HTTP request (and any HTTP client span) happens inside it. Later
    chunks cost nothing extra.
    """

    def __init__(self, wrapped: Any, recorder: StreamRecorder, context: Any) -> None:
        super().__init__(wrapped, recorder)
        self._self_context = context

    def __next__(self) -> Any:
        context = self._self_context
        if context is None:
            return super().__next__()
        self._self_context = None
        token = otel_context.attach(context)
        try:
            return super().__next__()
        finally:
            otel_context.detach(token)


class LazyAsyncStreamProxy(AsyncStreamProxy):
    """The asynchronous :class:`LazySyncStreamProxy` (the span is current for the first chunk)."""

    def __init__(self, wrapped: Any, recorder: StreamRecorder, context: Any) -> None:
        super().__init__(wrapped, recorder)
        self._self_context = context

    async def __anext__(self) -> Any:
        context = self._self_context
        if context is None:
            return await super().__anext__()
        self._self_context = None
        token = otel_context.attach(context)
        try:
            return await super().__anext__()
        finally:
            otel_context.detach(token)
