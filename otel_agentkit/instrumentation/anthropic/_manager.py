"""``messages.stream()``: a manager that sends the request when it is entered.

The wrapper replaces the manager's deferred request by one that starts our
span when it runs and hands the manager's ``MessageStream`` our stream proxy,
so the span ends with the stream (exhausted, closed, the ``with`` block left,
or garbage collected). The caller gets the manager behind a
:class:`_ManagerProxy`, whose exit tells our stream the exception leaving the
``with`` block.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from opentelemetry.context import Context

from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._genai import Call, LLMSettings
from otel_agentkit.instrumentation._llm import LLMInstrumentor, Method, Wrapper, run_async, run_sync
from otel_agentkit.instrumentation._streams import _ProxyBase

__all__ = ["manager_wrapper"]

_log = logging.getLogger("otel_agentkit")


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


class _Send:
    """The manager's deferred request, run as a traced call; keeps the stream it returns."""

    __slots__ = ("instance", "instrumentor", "method", "params", "settings", "slot")

    def __init__(
        self,
        instrumentor: LLMInstrumentor,
        settings: LLMSettings,
        method: Method,
        instance: Any,
        params: Mapping[str, Any],
    ) -> None:
        self.instrumentor = instrumentor
        self.settings = settings
        self.method = method
        self.instance = instance
        self.params = params
        self.slot: list[Any] = []  # the stream proxy, once the request ran

    def _begin(self) -> tuple[Call, Context, Mapping[str, Any]] | None:
        return self.instrumentor.begin(
            self.settings, self.method.api, self.instance, (), self.params
        )

    def _finish(self, result: Any, call: Call, context: Context, is_async: bool) -> Any:
        api = self.method.api
        stream = self.instrumentor.finish(result, call, api, self.params, context, is_async)
        self.slot.append(stream)
        return stream

    def sync(self, request: Callable[[], Any]) -> Callable[[], Any]:
        """A stand-in for the sync manager's deferred request."""

        def send() -> Any:
            begun = self._begin()
            if begun is None:
                return request()
            call, context, _ = begun
            result = run_sync(call, context, self.instrumentor._in_call, request, (), {})
            return self._finish(result, call, context, False)

        return send

    async def run_async(self, request: Coroutine[Any, Any, Any]) -> Any:
        """A stand-in for the async manager's deferred request (awaited by the manager)."""
        begun = self._begin()
        if begun is None:
            return await request
        call, context, _ = begun
        in_call = self.instrumentor._in_call
        result = await run_async(call, context, in_call, _awaiting, (request,), {})
        return self._finish(result, call, context, True)


async def _awaiting(request: Awaitable[Any]) -> Any:
    """Await the manager's deferred request (what :func:`run_async` runs for a stream)."""
    return await request


def manager_wrapper(
    instrumentor: LLMInstrumentor, settings: LLMSettings, method: Method
) -> Wrapper:
    """The wrapper of ``messages.stream`` (a :data:`~.._llm.WrapperFactory`)."""

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        manager = wrapped(*args, **kwargs)
        try:
            name = _request_attr(manager)
            if name is None:
                _log.debug("otel-agentkit: unknown anthropic stream manager %r", type(manager))
                return manager
            request = getattr(manager, name)
            send = _Send(instrumentor, settings, method, instance, {**kwargs, "stream": True})
            traced = send.run_async(request) if method.is_async else send.sync(request)
            setattr(manager, name, traced)
            return _ManagerProxy(manager, send.slot)
        except Exception:
            log_internal_error("anthropic stream manager")
        return manager

    return wrapper
