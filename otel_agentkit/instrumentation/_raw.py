"""Raw-response calls of the Stainless-generated clients (openai, anthropic).

``client.chat.completions.with_raw_response.create(...)`` and
``.with_streaming_response.create(...)`` run the same (wrapped) method with the
``X-Stainless-Raw-Response`` header set, and get a response object back whose
``parse()`` returns what a plain call would have (a message, or a stream).

* Raw responses (``"true"``/``"raw"``) whose ``parse()`` is synchronous have
  their body read already: the response is parsed at once (it caches the
  result, so the caller's ``parse()`` gets the same object) and the span ends
  from it; a stream gets its proxy, put into that cache.
* Otherwise (``with_streaming_response``, or an async ``parse()``), the body is
  the caller's to read, later or never: the response goes back behind a
  proxy whose ``parse()`` ends the span from what it returns (a stream is
  proxied and ends the span with it, as in a plain ``stream=True`` call). A
  response closed or dropped without ``parse()`` ends the span then, with the
  request's attributes only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context

from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._genai import Call, Response
from otel_agentkit.instrumentation._streams import AsyncStreamProxy, SyncStreamProxy, _ProxyBase

if TYPE_CHECKING:
    from otel_agentkit.instrumentation._llm import API

__all__ = ["RAW_RESPONSE_HEADER", "finish", "mode"]

#: Header the Stainless-generated clients set on ``with_raw_response`` ("true"/"raw")
#: and ``with_streaming_response`` ("stream") calls.
RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"

#: (stream, call, api, first-chunk context, is_async) -> the stream behind its proxy.
StreamFn = Callable[[Any, Call, "API", otel_context.Context | None, bool], Any]


def mode(params: Mapping[str, Any]) -> str | None:
    """The raw-response header value of a call's ``extra_headers`` (None for a plain call)."""
    headers = params.get("extra_headers")
    if not headers:
        return None
    try:
        value = headers.get(RAW_RESPONSE_HEADER)
    except Exception:
        return None
    return str(value) if value else None


def finish(
    result: Any,
    call: Call,
    api: API,
    params: Mapping[str, Any],
    raw_mode: str,
    stream: StreamFn,
    is_async: bool,
) -> Any:
    """End ``call`` from a raw response now, or hand it back behind a proxy that will."""
    parse = getattr(result, "parse", None)
    if parse is None:  # not a response object we know: the span covers the request
        call.succeed(Response(call.capture_enabled))
        return result
    streamed = api.recorder is not None and params.get("stream") is True
    if raw_mode == "stream" or inspect.iscoroutinefunction(parse):
        pending = _Pending(call, api, params, stream, streamed, is_async)
        if inspect.iscoroutinefunction(parse):
            return _AsyncDeferredParse(result, pending)
        return _DeferredParse(result, pending)
    parsed = parse()
    if streamed:
        proxy = stream(parsed, call, api, None, is_async)
        _replace_cached(result, parsed, proxy)
    else:
        call.succeed_with(api.response, parsed, params)
    return result


def _replace_cached(response: Any, parsed: Any, replacement: Any) -> None:
    """Make the response's ``parse()`` cache return ``replacement`` for ``parsed``."""
    cache = getattr(response, "_parsed_by_type", None)
    if isinstance(cache, dict):
        for key, value in list(cache.items()):
            if value is parsed:
                cache[key] = replacement


class _Pending:
    """A call waiting for its response's ``parse()``; ends it (once) if that never comes."""

    __slots__ = ("api", "call", "is_async", "params", "recorder", "stream", "streamed")

    def __init__(
        self,
        call: Call,
        api: API,
        params: Mapping[str, Any],
        stream: StreamFn,
        streamed: bool,
        is_async: bool,
    ) -> None:
        self.call: Call | None = call
        self.api = api
        self.params = params
        self.stream = stream
        self.streamed = streamed
        self.is_async = is_async
        self.recorder: Any = None  # the parsed stream's recorder, once there is one

    def parsed(self, response: Any, parsed: Any) -> Any:
        """End the call from what ``parse()`` returned; returns what the caller gets."""
        call, self.call = self.call, None
        if call is None:
            return parsed
        try:
            if self.streamed and not isinstance(parsed, SyncStreamProxy | AsyncStreamProxy):
                proxy = self.stream(parsed, call, self.api, None, self.is_async)
                self.recorder = getattr(proxy, "_self_recorder", None)
                _replace_cached(response, parsed, proxy)
                return proxy
            call.succeed_with(self.api.response, parsed, self.params)
        except Exception:
            log_internal_error("raw response parse")
        return parsed

    def closed(self) -> None:
        """The response was closed (or dropped): end the call, or the parsed stream's span."""
        call, self.call = self.call, None
        if call is not None:
            call.succeed(Response(call.capture_enabled))
        elif self.recorder is not None:
            self.recorder.finish(None)

    def __del__(self) -> None:
        if getattr(self, "call", None) is not None:
            self.closed()


class _DeferredParse(_ProxyBase):
    """A synchronous raw response whose ``parse()`` (or ``close()``) ends the call."""

    def __init__(self, wrapped: Any, pending: _Pending) -> None:
        super().__init__(wrapped)
        self._self_pending = pending

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        """The wrapped ``parse()``; the call ends from its result."""
        return self._self_pending.parsed(self.__wrapped__, self.__wrapped__.parse(*args, **kwargs))

    def close(self) -> Any:
        """Close the wrapped response, then end the call if ``parse()`` did not."""
        try:
            return self.__wrapped__.close()
        finally:
            self._self_pending.closed()


class _AsyncDeferredParse(_ProxyBase):
    """:class:`_DeferredParse` for a response whose ``parse()`` and ``close()`` are async."""

    def __init__(self, wrapped: Any, pending: _Pending) -> None:
        super().__init__(wrapped)
        self._self_pending = pending

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        """The wrapped ``parse()``; the call ends from its result."""
        parsed = await self.__wrapped__.parse(*args, **kwargs)
        return self._self_pending.parsed(self.__wrapped__, parsed)

    async def close(self) -> Any:
        """Close the wrapped response, then end the call if ``parse()`` did not."""
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_pending.closed()
