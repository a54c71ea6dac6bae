"""Request ids and context propagation helpers.

The request id lives in a :class:`~contextvars.ContextVar` shared by the web
middleware, the log formatters and user code. ``contextvars`` already follow
``await``, ``asyncio.gather`` and ``asyncio.create_task``; threads do not, so
:func:`run_in_executor` and :func:`wrap_executor` copy the caller's context
(OpenTelemetry's current span included) into the worker thread.

Imports only the standard library (``asyncio`` only when :func:`run_in_executor` runs).
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

__all__ = [
    "ContextExecutor",
    "get_request_id",
    "request_id",
    "reset_request_id",
    "run_in_executor",
    "set_request_id",
    "wrap_executor",
]

P = ParamSpec("P")
R = TypeVar("R")

_REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "otel_agentkit_request_id", default=None
)


def set_request_id(value: str | None) -> contextvars.Token[str | None]:
    """Set the current request id; returns a token for :func:`reset_request_id`."""
    return _REQUEST_ID.set(value)


def get_request_id() -> str | None:
    """The request id of the current context, or None."""
    return _REQUEST_ID.get()


def reset_request_id(token: contextvars.Token[str | None]) -> None:
    """Restore the request id that was current before :func:`set_request_id`."""
    _REQUEST_ID.reset(token)


@contextmanager
def request_id(value: str) -> Iterator[str]:
    """Use ``value`` as the request id inside the ``with`` block (queue workers, jobs)."""
    token = _REQUEST_ID.set(value)
    try:
        yield value
    finally:
        _REQUEST_ID.reset(token)


async def run_in_executor(
    executor: Executor | None, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
) -> R:
    """Like ``loop.run_in_executor`` but the function runs in the caller's context.

    The current span and the request id are visible inside ``func``, so spans
    it starts are children of the caller's span.
    """
    import asyncio  # here, not at module level: it costs more than the rest of the package

    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    call = functools.partial(ctx.run, func, *args, **kwargs)
    return await loop.run_in_executor(executor, call)


class ContextExecutor(Executor):
    """An executor wrapper whose ``submit``/``map`` carry the submitter's context."""

    def __init__(self, inner: Executor) -> None:
        self._inner = inner

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """Submit ``fn`` to run in a copy of the caller's context."""
        ctx = contextvars.copy_context()
        return self._inner.submit(functools.partial(ctx.run, fn, *args, **kwargs))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut the wrapped executor down."""
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def wrap_executor(executor: Executor) -> ContextExecutor:
    """Wrap an executor (e.g. ``ThreadPoolExecutor``) so tasks keep the caller's context."""
    if isinstance(executor, ContextExecutor):
        return executor
    return ContextExecutor(executor)
