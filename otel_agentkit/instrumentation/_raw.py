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
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context

from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._genai import Call, Response
from otel_agentkit.instrumentation._streams import _ProxyBase

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

    def end(parsed: Any) -> Any:
        """End ``call`` from what ``parse()`` gave; what the caller gets (a stream: proxied)."""
        if api.recorder is not None and params.get("stream") is True:
            proxy = stream(parsed, call, api, None, is_async)
            cache = getattr(result, "_parsed_by_type", None)  # parse() returns it from now on
            if isinstance(cache, dict):
                for key, value in list(cache.items()):
                    if value is parsed:
                        cache[key] = proxy
            return proxy
        call.succeed_with(api.response, parsed, params)
        return parsed

    asynchronous = inspect.iscoroutinefunction(parse)
    if raw_mode == "stream" or asynchronous:
        return _DeferredParse(result, _Pending(call, end), asynchronous)
    end(parse())
    return result


class _Pending:
    """A call waiting for its response's ``parse()``; ends it (once) if that never comes."""

    __slots__ = ("call", "end", "recorder")

    def __init__(self, call: Call, end: Callable[[Any], Any]) -> None:
        self.call: Call | None = call
        self.end = end
        self.recorder: Any = None  # the parsed stream's recorder, once there is one

    def parsed(self, parsed: Any) -> Any:
        """End the call from what ``parse()`` returned; returns what the caller gets."""
        if self.call is None:  # parsed before: the response's cache gave the same object
            return parsed
        self.call = None
        try:
            given = self.end(parsed)
            self.recorder = getattr(given, "_self_recorder", None)
            return given
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
    """A raw response whose ``parse()`` (or ``close()``) ends the call.

    For an async response (``asynchronous``) both return coroutines, as the
    wrapped ones do.
    """

    def __init__(self, wrapped: Any, pending: _Pending, asynchronous: bool) -> None:
        super().__init__(wrapped)
        self._self_pending = pending
        self._self_async = asynchronous

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        """The wrapped ``parse()``; the call ends from its result."""
        parsed = self.__wrapped__.parse(*args, **kwargs)
        if self._self_async:
            return self._self_parsed_later(parsed)
        return self._self_pending.parsed(parsed)

    async def _self_parsed_later(self, parsing: Awaitable[Any]) -> Any:
        return self._self_pending.parsed(await parsing)

    def close(self) -> Any:
        """Close the wrapped response, then end the call if ``parse()`` did not."""
        if self._self_async:
            return self._self_close_later()
        try:
            return self.__wrapped__.close()
        finally:
            self._self_pending.closed()

    async def _self_close_later(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_pending.closed()
