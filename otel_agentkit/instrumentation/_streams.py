"""Stream proxies that end a span exactly once.

A streamed LLM response is an iterator the caller drives. Its span must end
when the caller is done with it, whichever way that happens:

* exhaustion (``StopIteration`` / ``StopAsyncIteration``),
* an exception raised by the stream,
* ``close()`` (sync or async), or the stream's context manager exiting (with
  the caller's exception, if one is propagating),
* the chunk iterator being dropped: a ``for`` loop that ``break``s, or whose
  body raises (the proxy holds its iterator only weakly, so a caller holding
  the stream, or the exception's traceback holding it, does not keep the span
  open; inside the stream's ``with`` block the block's exit ends it instead,
  with the exception leaving the block), or plain garbage collection of a
  stream never iterated (``__del__``).

:class:`StreamRecorder` holds the per-stream state and does the constant,
small work per chunk (library-specific accumulation lives in a subclass's
:meth:`StreamRecorder.process`); :meth:`StreamRecorder.finish` is idempotent.
The proxies are :class:`wrapt.ObjectProxy` subclasses, so every attribute of
the wrapped stream (``response``, ``_iterator``, helper methods) stays
reachable and ``isinstance`` checks against the library's class still pass.
Iterating a proxy hands out a separate iterator that does the per-chunk work
(a generator for sync streams, the small ``_AsyncChunks`` class for async
ones): a proxy's own attribute reads are several times dearer, and they would
be paid on every chunk.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
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

    __slots__ = ("chunks", "finished", "first_chunk_at", "in_block", "started_at")

    def __init__(self, started_at: float) -> None:
        self.started_at = started_at
        self.first_chunk_at: float | None = None
        self.chunks = 0
        self.finished = False
        #: Inside the stream's ``with`` block: the block's exit ends the span (with the
        #: exception leaving it), not a ``for`` loop in the block dropping its iterator.
        self.in_block = False

    def on_chunk(self, chunk: Any) -> None:
        """Record one chunk; never raises.

        The proxies below inline these lines on their per-chunk path (one call
        fewer per chunk); a change here belongs there too. A subclass may
        override it to count chunks its own way: the proxies then call it.
        """
        if not self.chunks:
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


class _EndOnCollect:
    """Ends the stream's telemetry when collected: held only by a chunk generator's frame.

    A generator that was never started runs no code when it is dropped, so its
    ``finally`` cannot end the span; this object, an argument in the
    generator's frame, goes with the frame and does.
    """

    __slots__ = ("recorder",)

    def __init__(self, recorder: StreamRecorder) -> None:
        self.recorder = recorder

    def __del__(self) -> None:
        recorder = getattr(self, "recorder", None)
        if recorder is not None:
            recorder.finish(None)


def _sync_chunks(
    iterator: Iterator[Any], recorder: StreamRecorder, context: Any, owner: _EndOnCollect
) -> Iterator[Any]:
    """The per-chunk path of a sync stream, as a generator (``iter(proxy)`` returns it).

    A ``for`` loop resumes a generator far more cheaply than it calls a
    ``__next__`` written in Python, and far more cheaply than anything on a
    :class:`wrapt.ObjectProxy`: per chunk this is the wrapped iterator's next
    item, a count and the recorder's ``process``. Every way out ends the span:
    exhaustion, an exception from the stream, the generator being closed or
    collected while suspended (``GeneratorExit``), or, never started, ``owner``
    being collected with the frame.
    """
    process = recorder.process  # (``owner`` is only held, by this frame)
    try:
        if context is not None:  # lazy streams send their request at the first next()
            token = otel_context.attach(context)
            try:
                first = next(iterator, _END)
            finally:
                otel_context.detach(token)
            if first is _END:
                recorder.finish(None)
                return
            recorder.on_chunk(first)
            yield first
        if type(recorder).on_chunk is StreamRecorder.on_chunk:
            for chunk in iterator:
                # StreamRecorder.on_chunk, inlined: one call fewer per chunk.
                if not recorder.chunks:
                    recorder.first_chunk_at = time.perf_counter()
                recorder.chunks += 1
                try:
                    process(chunk)
                except Exception:
                    log_internal_error("stream chunk processing")
                yield chunk
        else:  # a recorder that counts chunks its own way (Anthropic: output deltas only)
            on_chunk = recorder.on_chunk
            for chunk in iterator:
                on_chunk(chunk)
                yield chunk
    except GeneratorExit:  # closed, or collected while suspended: the caller stopped
        if not recorder.in_block:
            recorder.finish(None)
        raise
    except BaseException as exc:
        recorder.finish(exc)
        raise
    recorder.finish(None)


_END = object()


class _AsyncChunks:
    """The per-chunk path of an async stream: a small ``__slots__`` iterator, not the proxy.

    Not an async generator like the sync path's: a dropped async generator is
    finalised later, by a task the event loop schedules, and the span must end
    when the stream is collected. This object ends it in ``__del__``.
    """

    __slots__ = ("__weakref__", "_anext", "_context", "_on_chunk", "_owner", "_recorder")

    def __init__(self, wrapped: Any, recorder: StreamRecorder, context: Any = None) -> None:
        self._recorder = recorder
        #: The proxy's :class:`_EndOnCollect`, kept alive while this iterator is.
        self._owner: _EndOnCollect | None = None
        self._context = context  # made current around the first chunk (lazy streams)
        # A recorder that counts chunks its own way gets its on_chunk called; the
        # others have it inlined below.
        self._on_chunk = (
            None if type(recorder).on_chunk is StreamRecorder.on_chunk else recorder.on_chunk
        )
        self._anext = aiter(wrapped).__anext__  # what ``async for`` over the stream would use

    def __aiter__(self) -> _AsyncChunks:
        return self

    async def _first_in_context(self) -> Any:
        token = otel_context.attach(self._context)
        self._context = None
        try:
            return await self.__anext__()
        finally:
            otel_context.detach(token)

    async def __anext__(self) -> Any:
        if self._context is not None:
            return await self._first_in_context()
        recorder = self._recorder
        try:
            chunk = await self._anext()
        except StopAsyncIteration:
            recorder.finish(None)
            raise
        except BaseException as exc:
            recorder.finish(exc)
            raise
        if self._on_chunk is not None:
            self._on_chunk(chunk)
            return chunk
        if not recorder.chunks:
            recorder.first_chunk_at = time.perf_counter()
        recorder.chunks += 1
        try:
            recorder.process(chunk)
        except Exception:
            log_internal_error("stream chunk processing")
        return chunk

    def __del__(self) -> None:
        recorder = getattr(self, "_recorder", None)
        if recorder is not None and not recorder.in_block:
            recorder.finish(None)


class SyncStreamProxy(_ProxyBase):
    """Wraps a synchronous stream; see the module docstring for when the span ends."""

    def __init__(self, wrapped: Any, recorder: StreamRecorder, context: Any = None) -> None:
        super().__init__(wrapped)
        self._self_recorder = recorder
        self._self_context = context
        # Ends the span if the proxy is dropped before any chunk iterator exists (or
        # with the last one): held here and by every chunk generator's frame.
        self._self_owner = _EndOnCollect(recorder)
        # The chunk iterator, held weakly: a for loop's iterator is the loop's alone,
        # so the span ends when the loop drops it (break, or an exception raised in the
        # loop body while the caller still holds this proxy and the exception).
        self._self_chunks: weakref.ref[Iterator[Any]] | None = None
        self._self_next: Iterator[Any] | None = None  # held for next(proxy)

    def __iter__(self) -> Iterator[Any]:
        # Like the library's own stream, whose __iter__ returns a generator: the
        # iterator is a separate object (cheap per chunk), over the same chunks.
        ref = self._self_chunks
        chunks = ref() if ref is not None else None
        if chunks is None:
            # What a for loop over the stream itself would use: openai's Stream.__iter__
            # is a generator over the same chunks (cheaper per chunk than its __next__).
            chunks = _sync_chunks(
                iter(self.__wrapped__), self._self_recorder, self._self_context, self._self_owner
            )
            self._self_context = None  # made current for the first chunk only
            self._self_chunks = weakref.ref(chunks)
        return chunks

    def __next__(self) -> Any:
        chunks = self._self_next
        if chunks is None:
            chunks = self._self_next = self.__iter__()
        return next(chunks)

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
        self._self_recorder.in_block = True
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


class AsyncStreamProxy(_ProxyBase):
    """Wraps an asynchronous stream; see the module docstring for when the span ends."""

    def __init__(self, wrapped: Any, recorder: StreamRecorder, context: Any = None) -> None:
        super().__init__(wrapped)
        self._self_recorder = recorder
        self._self_context = context
        self._self_owner = _EndOnCollect(recorder)
        # Held weakly, as for sync streams: the span ends when an ``async for`` drops it.
        self._self_chunks: weakref.ref[_AsyncChunks] | None = None
        self._self_next: _AsyncChunks | None = None  # held for ``await anext(proxy)``

    def __aiter__(self) -> _AsyncChunks:
        ref = self._self_chunks
        chunks = ref() if ref is not None else None
        if chunks is None:
            chunks = _AsyncChunks(self.__wrapped__, self._self_recorder, self._self_context)
            chunks._owner = self._self_owner
            self._self_context = None
            self._self_chunks = weakref.ref(chunks)
        return chunks

    async def __anext__(self) -> Any:
        chunks = self._self_next
        if chunks is None:
            chunks = self._self_next = self.__aiter__()
        return await chunks.__anext__()

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
        self._self_recorder.in_block = True
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
