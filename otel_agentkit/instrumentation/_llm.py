"""The shared skeleton of every LLM client instrumentor: a table of methods and one wrapper.

A provider describes itself as data, the way a vector store does in
:mod:`._vector`:

* an :class:`API` per kind of call: its ``gen_ai.operation.name``, how to read
  the request (span attributes, and the content when capture is on), how to
  read a response into a :class:`~._genai.Response`, and the
  :class:`~._genai.LLMStreamRecorder` for ``stream=True``;
* a tuple of :class:`Method`\\ s: where each API is called (module, class,
  method, sync or async);
* an :class:`LLMInstrumentor` subclass holding the two, with its provider's
  few specifics as class attributes and small overridable hooks (where its
  client and base URL are, the provider name from a client, extra things to
  wrap).

Everything else is here, once: the wrapper for sync and async methods (skip
when nothing records or another span stands for the call, under the one
duplicate policy of :mod:`._duplicates`; start the
:class:`~._genai.Call`; run the call with its span current; end it from the
result, or hand a stream proxy back), the raw-response variants of the
Stainless-generated clients (``with_raw_response``,
``with_streaming_response``), and instrument/uninstrument.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from types import MethodType
from typing import Any, ClassVar, NamedTuple

from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_agentkit import semconv
from otel_agentkit._content import capture_mode
from otel_agentkit.instrumentation import _duplicates, _raw
from otel_agentkit.instrumentation._base import (
    LibraryInstrumentor,
    WrapTarget,
    log_internal_error,
    unwrap_methods,
    wrap_methods,
)
from otel_agentkit.instrumentation._genai import (
    Call,
    ContentReader,
    LLMSettings,
    LLMStreamRecorder,
    Response,
    ResponseReader,
    base_url_of,
    server_of,
)
from otel_agentkit.instrumentation._streams import AsyncStreamProxy, SyncStreamProxy

#: The two context keys is_instrumentation_enabled() reads, to read them off one context.
_SUPPRESSED: str | None
_SUPPRESSED_PLAIN: str
try:
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
    from opentelemetry.instrumentation.utils import _SUPPRESS_INSTRUMENTATION_KEY_PLAIN

    _SUPPRESSED, _SUPPRESSED_PLAIN = (
        _SUPPRESS_INSTRUMENTATION_KEY,
        _SUPPRESS_INSTRUMENTATION_KEY_PLAIN,
    )
except ImportError:  # pragma: no cover - an SDK that names them otherwise
    _SUPPRESSED, _SUPPRESSED_PLAIN = None, ""

__all__ = [
    "API",
    "CLIENT_PROVIDER_ATTR",
    "LLMInstrumentor",
    "Method",
    "run_async",
    "run_sync",
    "set_provider_name",
    "streaming",
]

_log = logging.getLogger("otel_agentkit")

#: A wrapt wrapper: ``(wrapped, instance, args, kwargs) -> result``.
Wrapper = Callable[[Any, Any, Any, Any], Any]

#: Attribute a user may set on a client (through :func:`set_provider_name`) to name its provider.
CLIENT_PROVIDER_ATTR = "_agentkit_provider_name"


def _no_content(params: Mapping[str, Any]) -> dict[str, Any]:
    return {}


class API(NamedTuple):
    """How to read one kind of call (chat, embeddings, ...) of one provider."""

    #: ``gen_ai.operation.name`` (and the span name's first word).
    operation: str
    #: Request parameters -> ``gen_ai.request.*`` span attributes (cheap: every call).
    request: Callable[[Mapping[str, Any]], dict[str, Any]]
    #: (result, request parameters, response to fill): reads a whole response.
    response: ResponseReader
    #: Request parameters -> request-side content; called only with capture on.
    content: ContentReader = _no_content
    #: The recorder of a streamed response (``stream=True``); None: the API does not stream.
    recorder: Callable[[Call], LLMStreamRecorder] | None = None
    #: Names of the parameters the method takes by position (after ``self``), in order.
    positional: tuple[str, ...] = ()
    #: The request parameter that names the model (``gen_ai.request.model``).
    model_param: str = "model"
    #: Every call streams (a method of its own, not ``stream=True``): ``recorder`` reads it.
    streams: bool = False


def streaming(api: API, recorder: Callable[[Call], LLMStreamRecorder] | None = None) -> API:
    """``api`` for a method of its own that always streams (``generate_content_stream``).

    Its spans say ``gen_ai.request.stream``; ``recorder`` (by default ``api``'s) reads the stream.
    """
    request = api.request

    def stream_request(params: Mapping[str, Any]) -> dict[str, Any]:
        return {**request(params), semconv.GEN_AI_REQUEST_STREAM: True}

    return api._replace(request=stream_request, recorder=recorder or api.recorder, streams=True)


#: Makes the wrapper of one :class:`Method` (for methods that need their own).
WrapperFactory = Callable[["LLMInstrumentor", LLMSettings, "Method"], Wrapper]


class Method(NamedTuple):
    """A method to wrap: ``module.cls.method``, calling ``api``."""

    module: str
    cls: str | None
    method: str
    api: API
    is_async: bool = False
    #: A wrapper of its own (Anthropic's stream manager); None: the shared one.
    wrapper: WrapperFactory | None = None


def set_provider_name(client: Any, provider_name: str) -> Any:
    """Name the ``gen_ai.provider.name`` for every call made through ``client``.

    For OpenAI-compatible servers the base URL cannot identify (a vLLM or
    LiteLLM deployment, NVIDIA NIM on your own host)::

        client = set_provider_name(openai.OpenAI(base_url="http://vllm:8000/v1"), "vllm")

    Returns the client.
    """
    setattr(client, CLIENT_PROVIDER_ATTR, provider_name)
    return client


def _bind(api: API, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """The call's parameters by name (positional ones too, for clients that take them)."""
    if not args:
        return kwargs
    params = dict(zip(api.positional, args, strict=False))
    params.update(kwargs)
    return params


def _without_foreign_wrapper(wrapped: Any, modules: tuple[str, ...]) -> Any:
    """``wrapped`` minus a wrapt layer another instrumentation (of ``modules``) put on it."""
    if type(wrapped) is MethodType:  # a plain bound method: nobody else wrapped it
        return wrapped
    wrapper = getattr(wrapped, "_self_wrapper", None)
    module = getattr(wrapper, "__module__", "") or ""
    return wrapped.__wrapped__ if module.startswith(modules) else wrapped


def run_sync(
    call: Call,
    context: otel_context.Context,
    flag: ContextVar[Call | None],
    wrapped: Callable[..., Any],
    args: Any,
    kwargs: Any,
) -> Any:
    """``wrapped(*args, **kwargs)`` with ``context`` current and ``flag`` set to ``call``.

    ``context`` carries the call's span (so HTTP client spans nest under it);
    ``flag`` tells a nested wrapper (or the SDK's own tracing) that a span for
    this call exists. An exception fails ``call`` and propagates untouched.
    """
    token = otel_context.attach(context)
    mark = flag.set(call)
    try:
        return wrapped(*args, **kwargs)
    except BaseException as exc:
        call.fail(exc)
        raise
    finally:
        flag.reset(mark)
        otel_context.detach(token)


# run_async repeats run_sync line for line: both sit on every call's path, where a
# shared helper would cost a call and a coroutine check each time.
async def run_async(
    call: Call,
    context: otel_context.Context,
    flag: ContextVar[Call | None],
    wrapped: Callable[..., Awaitable[Any]],
    args: Any,
    kwargs: Any,
) -> Any:
    """:func:`run_sync` for a coroutine function: the result is awaited with the span current."""
    token = otel_context.attach(context)
    mark = flag.set(call)
    try:
        return await wrapped(*args, **kwargs)
    except BaseException as exc:
        call.fail(exc)
        raise
    finally:
        flag.reset(mark)
        otel_context.detach(token)


class LLMInstrumentor(LibraryInstrumentor):
    """Instruments one LLM client library from its table of :class:`Method`\\ s.

    Keyword arguments to :meth:`instrument` (every provider):

    ``tracer_provider``, ``meter_provider``, ``logger_provider``
        Providers to use; by default the global ones, looked up at call time.
    ``capture_content``
        ``NO_CONTENT``/``SPAN_ONLY``/``EVENT_ONLY``/``SPAN_AND_EVENT`` (or a bool);
        by default ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (or
        :func:`otel_agentkit.content.set_capture_mode`), read at each call.
        Captured content goes through the shared redaction and truncation.
    ``provider_name``
        ``gen_ai.provider.name`` for every client (else derived from the client).
    ``prices``
        Model name -> :class:`otel_agentkit.pricing.ModelPrice`, for the
        ``agentkit.llm.cost.usd`` counter; by default the process-wide table set
        with :func:`otel_agentkit.pricing.set_model_prices`, read at each call.
    ``keep_duplicate_spans``
        ``True`` makes our span (and metrics) even for a request another
        instrumentation already has a span for, and does not ask the others to
        step aside (default: ``AGENTKIT_KEEP_DUPLICATE_LLM_SPANS``, else
        ``False``: one span per request; see :mod:`._duplicates`).
    ``agent_attributes``
        Put ``gen_ai.agent.name`` / ``gen_ai.workflow.name`` of the enclosing
        ``@traced_agent`` / ``@traced_workflow`` on the token, duration and
        cost metrics (default True; env ``AGENTKIT_LLM_METRICS_AGENT_ATTRIBUTES=false``
        turns it off).

    A subclass sets the class attributes below and overrides the hooks it needs.
    """

    #: What to wrap.
    _methods: ClassVar[tuple[Method, ...]]
    #: Set while one of this provider's wrappers runs: a wrapped method calling
    #: another (``parse`` -> ``create``) gets one span, not two.
    _in_call: ClassVar[ContextVar[Call | None]]
    #: ``gen_ai.provider.name`` when nothing more specific is known.
    _provider_name: ClassVar[str]
    #: Streams whose request is sent at the first ``next()`` (generators): the span
    #: is made current around the first chunk too.
    _lazy_streams: ClassVar[bool] = False
    #: Stainless-generated clients: ``with_raw_response`` / ``with_streaming_response``.
    _raw_responses: ClassVar[bool] = False
    #: Look through wrapt wrappers installed by these modules (another instrumentation
    #: of the same library that has no way to be told to step aside): one span, ours.
    _look_through: ClassVar[tuple[str, ...]] = ()
    #: Context values set while a call runs, besides the shared ones
    #: (``_duplicates.SUPPRESS_KEYS``) that tell other instrumentations to step aside.
    _context_values: ClassVar[tuple[tuple[str, object], ...]] = ()

    # -- hooks ---------------------------------------------------------------

    def _provider_for(self, client: Any, host: str | None, port: int | None) -> str:
        """``gen_ai.provider.name`` for ``client`` (its class, a flag) talking to ``host:port``."""
        return self._provider_name

    def _endpoint_of(self, instance: Any) -> tuple[Any, Any]:
        """(client, base URL) behind a wrapped method's ``self``: by default its ``_client``
        and that client's base URL (an httpx URL or a string; see :func:`server_of`).
        """
        client = getattr(instance, "_client", None)
        return client, base_url_of(client)

    def _client_attributes(self, client: Any) -> dict[str, Any]:
        """Span attributes a client carries for every call (none by default)."""
        return {}

    def _extra_targets(self, settings: LLMSettings) -> list[WrapTarget]:
        """Further ``(module, class, method, wrapper)`` to wrap with the methods (hooks)."""
        return []

    def _after_wrap(self, settings: LLMSettings) -> None:
        """Set up what is not a wrapt wrapper, once the methods are wrapped."""

    def _after_unwrap(self) -> None:
        """Undo what :meth:`_after_wrap` set up."""

    # -- instrument / uninstrument -------------------------------------------

    def _check_arguments(self, **kwargs: Any) -> None:
        LLMSettings.from_kwargs(kwargs)  # a bad capture_content or prices raises now

    def _wrap(self, **kwargs: Any) -> None:
        """Install the wrappers (the library is imported)."""
        settings = LLMSettings.from_kwargs(kwargs)
        targets: list[WrapTarget] = [
            (m.module, m.cls, m.method, (m.wrapper or type(self).wrapper)(self, settings, m))
            for m in self._methods
        ]
        targets += self._extra_targets(settings)
        self._wrapped = wrap_methods(targets)
        self._after_wrap(settings)

    def _unwrap(self) -> None:
        """Remove every wrapper :meth:`_wrap` installed."""
        unwrap_methods(getattr(self, "_wrapped", []), f"{type(self).__name__} uninstrument")
        self._wrapped = []
        self._after_unwrap()

    # -- one call --------------------------------------------------------------

    def wrapper(self, settings: LLMSettings, method: Method) -> Wrapper:
        """The wrapt wrapper of ``method``: one span per call, the result untouched.

        A call that another instrumentation's span stands for runs with the
        values that tell the rest to step aside too (:meth:`aside`).
        """
        api = method.api
        in_call = self._in_call
        begin = self.begin
        aside = self.aside
        look_through = () if settings.keep_duplicates else self._look_through

        if method.is_async:

            async def async_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
                begun = begin(settings, api, instance, args, kwargs, method)
                if begun is None:
                    context = aside(settings, instance, method)
                    if context is None:
                        return await wrapped(*args, **kwargs)
                    token = otel_context.attach(context)
                    try:
                        return await wrapped(*args, **kwargs)
                    finally:
                        otel_context.detach(token)
                if look_through:
                    wrapped = _without_foreign_wrapper(wrapped, look_through)
                call, context, params = begun
                result = await run_async(call, context, in_call, wrapped, args, kwargs)
                return self.finish(result, call, api, params, context, True)

            return async_wrapper

        def sync_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            begun = begin(settings, api, instance, args, kwargs, method)
            if begun is None:
                context = aside(settings, instance, method)
                if context is None:
                    return wrapped(*args, **kwargs)
                token = otel_context.attach(context)
                try:
                    return wrapped(*args, **kwargs)
                finally:
                    otel_context.detach(token)
            if look_through:
                wrapped = _without_foreign_wrapper(wrapped, look_through)
            call, context, params = begun
            result = run_sync(call, context, in_call, wrapped, args, kwargs)
            return self.finish(result, call, api, params, context, False)

        return sync_wrapper

    def aside(
        self, settings: LLMSettings, instance: Any, method: Method
    ) -> otel_context.Context | None:
        """The context to run a call in that :meth:`begin` passed through because a
        span of another instrumentation stands for it: the current one with the
        values that tell instrumentations inside ours to step aside too. None (run
        as it is) when it passed through for another reason, or duplicates are kept.
        """
        if settings.keep_duplicates or settings.handle.inactive():
            return None
        if self._foreign_wrapper_outside(instance, method):
            return _duplicates.suppressing(otel_context.get_current())
        return _duplicates.aside_context()

    def _foreign_wrapper_outside(self, instance: Any, method: Method) -> bool:
        """Whether ``method``, as installed on ``instance``'s class, is the wrapper of an
        instrumentation of :attr:`_look_through` around ours: that one makes the span."""
        modules = self._look_through
        if not modules or method.cls is None:
            return False
        for klass in type(instance).__mro__:
            installed = klass.__dict__.get(method.method)
            if installed is not None:
                wrapper = getattr(installed, "_self_wrapper", None)
                return (getattr(wrapper, "__module__", "") or "").startswith(modules)
        return False

    def begin(
        self,
        settings: LLMSettings,
        api: API,
        instance: Any,
        args: Any,
        kwargs: Any,
        method: Method | None = None,
    ) -> tuple[Call, otel_context.Context, Mapping[str, Any]] | None:
        """The call's :class:`Call`, the context to run it in, and its parameters by name.

        None when the call should pass straight through: a span for it exists
        already (ours, from an outer wrapper; or another instrumentation's, see
        :mod:`._duplicates`, or will: the wrapper of ``method`` another
        instrumentation put around ours), nothing would record one, or starting
        it failed (logged). Whenever a span stands for the call (ours, or another
        instrumentation's), a framework watching for the request's span
        (:func:`._duplicates.watch_llm_requests`) learns so.
        """
        # One read of the context for the suppression check (what
        # is_instrumentation_enabled() reads), the duplicate policy, the watch and
        # the agent scope.
        current = otel_context.get_current()
        if (
            self._in_call.get() is not None
            or settings.handle.inactive()
            or (
                current.get(_SUPPRESSED) or current.get(_SUPPRESSED_PLAIN)
                if _SUPPRESSED is not None
                else not is_instrumentation_enabled()
            )
        ):
            return None
        if not settings.keep_duplicates and (
            _duplicates.spoken_for(current)
            or (method is not None and self._foreign_wrapper_outside(instance, method))
        ):
            _duplicates.note_llm_span(current)
            return None
        try:
            params = _bind(api, args, kwargs)
            call = self.start(settings, api, instance, params, current)
            _duplicates.note_llm_span(current)
            return call, self.call_context(call, settings), params
        except Exception:
            log_internal_error(f"{type(self).__name__} span start")
            return None

    def start(
        self,
        settings: LLMSettings,
        api: API,
        instance: Any,
        params: Mapping[str, Any],
        context: otel_context.Context | None = None,
    ) -> Call:
        """Start the :class:`Call` of one request: the common attributes, then the API's own.

        ``context``: the current context, when the caller has read it already.
        """
        client, url = self._endpoint_of(instance)
        # server.address/port and the provider derived from them change only with the
        # client's base URL: remember the last one (most programs use one client).
        cached = settings.server_cache
        if cached is not None and cached[0] is url and cached[1] is type(client):
            host, port, provider = cached[2], cached[3], cached[4]
        else:
            host, port = server_of(url)
            provider = self._provider_for(client, host, port)
            settings.server_cache = (url, type(client), host, port, provider)
        provider = getattr(client, CLIENT_PROVIDER_ATTR, None) or settings.provider_name or provider
        model = params.get(api.model_param)
        request_model = model if isinstance(model, str) and model else None
        attributes: dict[str, Any] = {
            semconv.GEN_AI_OPERATION_NAME: api.operation,
            semconv.GEN_AI_PROVIDER_NAME: str(provider),
        }
        if request_model:
            attributes[semconv.GEN_AI_REQUEST_MODEL] = request_model
        if host:
            attributes[semconv.SERVER_ADDRESS] = host
        if port is not None:
            attributes[semconv.SERVER_PORT] = port
        extra = self._client_attributes(client)
        if extra:
            attributes.update(extra)
        extra = api.request(params)
        if extra:
            attributes.update(extra)
        # An explicit capture_content= wins; otherwise the env var / set_capture_mode(),
        # read now (cached per raw value), so a change takes effect without re-instrumenting.
        capture = settings.capture or capture_mode()
        return Call(
            settings.handle,
            api.operation,
            request_model,
            attributes,
            capture,
            settings.prices,
            api.content,
            params,
            agent_attributes=settings.agent_attributes,
            context=context,
        )

    def call_context(self, call: Call, settings: LLMSettings) -> otel_context.Context:
        """The context a call runs in: its span current, and the values that tell
        other instrumentations to step aside (unless duplicates are kept)."""
        context = call.span_context
        if not settings.keep_duplicates:
            context = _duplicates.suppressing(context)
        for key, value in self._context_values:
            context = otel_context.set_value(key, value, context)
        return context

    def finish(
        self,
        result: Any,
        call: Call,
        api: API,
        params: Mapping[str, Any],
        context: otel_context.Context,
        is_async: bool,
    ) -> Any:
        """End ``call`` from ``result``; return what the caller gets (maybe a stream proxy)."""
        try:
            if self._raw_responses and params.get("extra_headers"):
                mode = _raw.mode(params)
                if mode is not None:
                    return _raw.finish(result, call, api, params, mode, self.stream, is_async)
            if api.recorder is not None and (api.streams or params.get("stream") is True):
                return self.stream(result, call, api, context, is_async)
            call.succeed_with(api.response, result, params)
        except Exception:
            log_internal_error(f"{type(self).__name__} result handling")
        return result

    def stream(
        self,
        stream: Any,
        call: Call,
        api: API,
        context: otel_context.Context | None,
        is_async: bool,
    ) -> Any:
        """``stream`` behind a proxy that ends ``call`` with it (the bare stream if that fails)."""
        try:
            assert api.recorder is not None
            recorder = api.recorder(call)
            first_chunk_context = context if self._lazy_streams else None
            if is_async:
                return AsyncStreamProxy(stream, recorder, first_chunk_context)
            return SyncStreamProxy(stream, recorder, first_chunk_context)
        except Exception:
            log_internal_error(f"{type(self).__name__} stream wrapping")
            call.succeed(Response(call.capture_enabled))
            return stream
