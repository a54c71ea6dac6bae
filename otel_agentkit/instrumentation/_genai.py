"""What the LLM client instrumentors (OpenAI, Anthropic, Ollama) share about one call.

* :class:`Call`: the CLIENT span of one API call, its metric attributes, and
  how it ends (:meth:`Call.succeed` / :meth:`Call.fail`, exactly once per call),
  recording the GenAI client metrics in the span's context, the optional
  content (span attributes and/or the inference-details event) and the cost.
* Small readers of request/response objects that may be dicts or pydantic
  models (:func:`get_field`, :func:`maybe_json`), the server of an httpx-based
  client (:func:`server_of`), the response readers every API shares
  (:func:`response_id_and_model`, :func:`token_counts`,
  :func:`indexed_finish_reasons`, :func:`stop_sequences`, :func:`request_content`), the tool-call
  attributes, :func:`given` (an argument really passed, not
  ``None``/``NOT_GIVEN``/``omit``) and :func:`raw_response_mode`
  (Stainless-generated clients: openai, anthropic).
* :class:`LLMStreamRecorder`: a :class:`~._streams.StreamRecorder` bound to a
  :class:`Call`, with the time-to-first-chunk / time-per-chunk metrics and the
  end every stream shares (timing, then fail or :meth:`~LLMStreamRecorder.succeeded`).
* What every LLM wrapper does around one call: :class:`LLMSettings` (what
  ``instrument()`` was given), :func:`start_call` (the span's common attributes
  and the :class:`Call`), :func:`run_sync` / :func:`run_async` (the wrapped call
  with the span current and the in-call flag set; an exception fails the call).

Imports no client library.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any, Self

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from otel_agentkit import _content, semconv
from otel_agentkit._content import ContentCapture, capture_mode, parse_capture_mode, to_json
from otel_agentkit.instrumentation._base import (
    GenAIInstruments,
    TelemetryHandle,
    log_internal_error,
    mark_failed,
    metric_attributes,
)
from otel_agentkit.instrumentation._streams import StreamRecorder
from otel_agentkit.pricing import ModelPrice, check_prices, price_for

#: type -> whether it is a Mapping (``isinstance`` against the ABC is slow; types are few).
_MAPPING_TYPES: dict[type[Any], bool] = {dict: True}


def given(value: Any) -> bool:
    """Whether a request argument was really passed (not None, NOT_GIVEN or omit)."""
    return value is not None and type(value).__name__ not in ("NotGiven", "Omit")


#: Header the Stainless-generated clients (openai, anthropic) set on
#: ``with_raw_response`` ("true"/"raw") and ``with_streaming_response`` ("stream") calls.
RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"


def raw_response_mode(kwargs: Mapping[str, Any]) -> str | None:
    """The raw-response header value of a call's ``extra_headers`` (None for a plain call)."""
    headers = kwargs.get("extra_headers")
    if not headers:
        return None
    try:
        value = headers.get(RAW_RESPONSE_HEADER)
    except Exception:
        return None
    return str(value) if value else None


def get_field(obj: Any, name: str) -> Any:
    """Attribute of a pydantic model or key of a dict (request params may be either)."""
    kind = type(obj)
    is_mapping = _MAPPING_TYPES.get(kind)
    if is_mapping is None:
        is_mapping = _MAPPING_TYPES[kind] = issubclass(kind, Mapping)
    if is_mapping:
        return obj.get(name)
    return getattr(obj, name, None)


def explicit_capture(value: Any) -> ContentCapture | None:
    """``instrument(capture_content=...)`` as a mode; None when not given.

    A bool means SPAN_ONLY / NO_CONTENT; a string goes through
    :func:`otel_agentkit._content.parse_capture_mode` (which names a bad value).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return ContentCapture.SPAN_ONLY if value else ContentCapture.NO_CONTENT
    return parse_capture_mode(value)


def maybe_json(text: Any) -> Any:
    """A JSON string decoded (tool-call arguments); anything else as it is."""
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def base_url_of(client: Any) -> Any:
    """The client's base URL object (the stored one: openai 3.x's property re-parses it)."""
    url = getattr(client, "_base_url", None)
    return url if url is not None else getattr(client, "base_url", None)


def server_of(client: Any) -> tuple[str | None, int | None]:
    """server.address and server.port from the client's base_url (never its credentials)."""
    url = base_url_of(client)
    if url is None:
        return None, None
    host = getattr(url, "host", None) or None
    port = getattr(url, "port", None)
    if port is None:
        scheme = getattr(url, "scheme", "")
        port = 443 if scheme == "https" else 80 if scheme == "http" else None
    return host, port


def request_content(
    input_messages: list[dict[str, Any]],
    system_instructions: list[dict[str, Any]] | None = None,
    tool_definitions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Request-side content: the input messages; instructions and tools when there are any."""
    content: dict[str, Any] = {semconv.GEN_AI_INPUT_MESSAGES: input_messages}
    if system_instructions:
        content[semconv.GEN_AI_SYSTEM_INSTRUCTIONS] = system_instructions
    if tool_definitions:
        content[semconv.GEN_AI_TOOL_DEFINITIONS] = tool_definitions
    return content


def stop_sequences(stop: Any) -> list[str]:
    """A ``stop`` argument (one string or several) as ``gen_ai.request.stop_sequences``."""
    return [stop] if isinstance(stop, str) else [str(s) for s in stop]


def response_id_and_model(attrs: dict[str, Any], response_id: Any, response_model: Any) -> None:
    """``gen_ai.response.id`` and ``gen_ai.response.model``, each when the response has one."""
    if response_id:
        attrs[semconv.GEN_AI_RESPONSE_ID] = response_id
    if response_model:
        attrs[semconv.GEN_AI_RESPONSE_MODEL] = response_model


def token_counts(
    usage: Any, input_field: str, output_field: str, attrs: dict[str, Any]
) -> tuple[int | None, int | None]:
    """``gen_ai.usage.input_tokens`` / ``output_tokens`` from a usage block (model or dict).

    Returns the two counts for the token metrics; a field that is not an int
    (absent, None) gives no attribute and None.
    """
    if usage is None:
        return None, None
    input_tokens = get_field(usage, input_field)
    output_tokens = get_field(usage, output_field)
    if isinstance(input_tokens, int):
        attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] = input_tokens
    else:
        input_tokens = None
    if isinstance(output_tokens, int):
        attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] = output_tokens
    else:
        output_tokens = None
    return input_tokens, output_tokens


def indexed_finish_reasons(reasons: Mapping[int, str], attrs: dict[str, Any]) -> None:
    """``gen_ai.response.finish_reasons`` from per-choice reasons, in choice order."""
    if reasons:
        attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = [reasons[i] for i in sorted(reasons)]


def tool_call_attributes(calls: list[tuple[str | None, str | None]], attrs: dict[str, Any]) -> None:
    """Tool-call ids and names a response asked for (no arguments: those are content)."""
    if calls:
        attrs[semconv.AGENTKIT_RESPONSE_TOOL_CALL_IDS] = [c[0] or "" for c in calls]
        attrs[semconv.AGENTKIT_RESPONSE_TOOL_CALL_NAMES] = [c[1] or "" for c in calls]


#: capture mode -> (any capture, content on the span, content on the event), computed once.
_CAPTURE_FLAGS: dict[ContentCapture, tuple[bool, bool, bool]] = {
    mode: (
        mode is not ContentCapture.NO_CONTENT,
        _content.should_capture_on_span(mode),
        _content.should_capture_on_event(mode),
    )
    for mode in ContentCapture
}


#: Attributes of an ``agentkit.llm.cost`` point (besides gen_ai.token.type).
_COST_ATTRIBUTES = (semconv.GEN_AI_PROVIDER_NAME, semconv.GEN_AI_REQUEST_MODEL)


class Call:
    """The span and metric state of one LLM API call (shared by the LLM instrumentors)."""

    __slots__ = (
        "capture_enabled",
        "content_on_event",
        "content_on_span",
        "handle",
        "metric_attrs",
        "operation",
        "prices",
        "request_model",
        "span",
        "span_context",
        "started_at",
    )

    def __init__(
        self,
        handle: TelemetryHandle,
        operation: str,
        request_model: str | None,
        attributes: dict[str, Any],
        capture: ContentCapture,
        prices: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        self.handle = handle
        self.operation = operation
        self.request_model = request_model
        self.prices = prices  # None: the process-wide table (set_model_prices)
        self.capture_enabled, self.content_on_span, self.content_on_event = _CAPTURE_FLAGS[capture]
        name = f"{operation} {request_model}" if request_model else operation
        self.span: Span = handle.tracer().start_span(
            name, kind=SpanKind.CLIENT, attributes=attributes
        )
        self.span_context = trace.set_span_in_context(self.span)
        self.metric_attrs = metric_attributes(attributes)
        self.started_at = time.perf_counter()

    # -- ending ---------------------------------------------------------------

    def fail(self, exc: BaseException, ended_at: float | None = None) -> None:
        """End the span and record the duration for a failed call."""
        try:
            self.metric_attrs[semconv.ERROR_TYPE] = mark_failed(self.span, exc)
            self._record_duration(ended_at)
        except Exception:
            log_internal_error("LLM call error handling")
        finally:
            self.span.end()

    def succeed(
        self,
        attributes: Mapping[str, Any],
        input_tokens: int | None,
        output_tokens: int | None,
        content: Mapping[str, Any] | None,
        ended_at: float | None = None,
    ) -> None:
        """Set response attributes, emit content, record metrics, end the span."""
        try:
            response_model = attributes.get(semconv.GEN_AI_RESPONSE_MODEL)
            if response_model:
                self.metric_attrs[semconv.GEN_AI_RESPONSE_MODEL] = response_model
            if self.span.is_recording():
                if content and self.content_on_span:
                    # One set_attributes call: each one costs the SDK a lock and a loop.
                    span_attrs = dict(attributes)
                    for key, value in content.items():
                        if value is not None:
                            span_attrs[key] = to_json(value)
                    self.span.set_attributes(span_attrs)
                else:
                    self.span.set_attributes(attributes)
            if content and self.content_on_event:
                self._emit_event(attributes, content)
            instruments = self.handle.instruments()
            end = ended_at if ended_at is not None else time.perf_counter()
            metric_attrs = self.metric_attrs
            ctx = self.span_context
            instruments.duration.record(end - self.started_at, metric_attrs, context=ctx)
            # A fresh dict per point: older SDKs keep the measurement's dict by reference.
            if isinstance(input_tokens, int):
                instruments.token_usage.record(
                    input_tokens,
                    {**metric_attrs, semconv.GEN_AI_TOKEN_TYPE: semconv.TOKEN_TYPE_INPUT},
                    context=ctx,
                )
            if isinstance(output_tokens, int):
                instruments.token_usage.record(
                    output_tokens,
                    {**metric_attrs, semconv.GEN_AI_TOKEN_TYPE: semconv.TOKEN_TYPE_OUTPUT},
                    context=ctx,
                )
            price = price_for(self.prices, response_model, self.request_model)
            if price is not None:
                self._record_cost(instruments, price, input_tokens, output_tokens)
        except Exception:
            log_internal_error("LLM response handling")
        finally:
            self.span.end()

    def _record_cost(
        self,
        instruments: GenAIInstruments,
        price: ModelPrice,
        input_tokens: int | None,
        output_tokens: int | None,
    ) -> None:
        """Add the call's estimated USD to ``agentkit.llm.cost``, one point per token type."""
        base = {
            key: self.metric_attrs[key]
            for key in _COST_ATTRIBUTES
            if self.metric_attrs.get(key) is not None
        }
        for tokens, token_type, cost in (
            (input_tokens, semconv.TOKEN_TYPE_INPUT, price.input_cost),
            (output_tokens, semconv.TOKEN_TYPE_OUTPUT, price.output_cost),
        ):
            if isinstance(tokens, int) and tokens > 0:
                instruments.cost.add(
                    cost(tokens),
                    {**base, semconv.GEN_AI_TOKEN_TYPE: token_type},
                    context=self.span_context,
                )

    def record_stream_timing(
        self, recorder: StreamRecorder, ended_at: float, response_model: str | None
    ) -> None:
        """Time to first chunk and time per output chunk of a finished stream.

        Also puts the response model on later metric points and the time to first
        chunk on the span.
        """
        if response_model:
            self.metric_attrs[semconv.GEN_AI_RESPONSE_MODEL] = response_model
        first = recorder.first_chunk_at
        if first is None:
            return
        instruments = self.handle.instruments()
        metric_attrs = self.metric_attrs
        ctx = self.span_context
        instruments.time_to_first_chunk.record(first - self.started_at, metric_attrs, context=ctx)
        if recorder.chunks > 1:
            instruments.time_per_output_chunk.record(
                (ended_at - first) / (recorder.chunks - 1), metric_attrs, context=ctx
            )
        if self.span.is_recording():
            self.span.set_attribute(
                semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, first - self.started_at
            )

    def _record_duration(self, ended_at: float | None) -> None:
        end = ended_at if ended_at is not None else time.perf_counter()
        self.handle.instruments().duration.record(
            end - self.started_at, self.metric_attrs, context=self.span_context
        )

    def _emit_event(self, attributes: Mapping[str, Any], content: Mapping[str, Any]) -> None:
        event_attrs: dict[str, Any] = dict(getattr(self.span, "attributes", None) or {})
        event_attrs.update(attributes)
        event_attrs.update({k: to_json(v) for k, v in content.items() if v is not None})
        self.handle.event_logger().emit(
            event_name=semconv.GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS_EVENT,
            attributes=event_attrs,
            context=self.span_context,
        )


class LLMStreamRecorder(StreamRecorder):
    """A :class:`StreamRecorder` bound to one :class:`Call` (and the request's arguments).

    :meth:`complete` records the chunk timing, then fails the call (keeping the
    response id and model seen so far) or hands over to :meth:`succeeded`, which
    a subclass overrides to set the response attributes and end the span.
    """

    __slots__ = ("call", "kwargs")

    def __init__(self, call: Call, kwargs: Mapping[str, Any]) -> None:
        super().__init__(call.started_at)
        self.call = call
        self.kwargs = kwargs

    def complete(self, error: BaseException | None, ended_at: float) -> None:
        try:
            self.record_timing(ended_at)
        except Exception:
            log_internal_error("stream timing")
        if error is not None:
            self._partial_attributes()
            self.call.fail(error, ended_at)
            return
        self.succeeded(ended_at)

    def record_timing(self, ended_at: float) -> None:
        """Time to first chunk and per chunk (the response model on later metric points)."""
        self.call.record_stream_timing(self, ended_at, getattr(self, "response_model", None))

    def succeeded(self, ended_at: float) -> None:
        """The stream ended cleanly: set what it told, end the span (a subclass says how)."""
        self.call.succeed({}, None, None, None, ended_at)

    def _partial_attributes(self) -> None:
        """On a failed stream, keep the response id and model seen before the failure."""
        span = self.call.span
        response_id = getattr(self, "response_id", None)
        response_model = getattr(self, "response_model", None)
        if span.is_recording():
            if response_id:
                span.set_attribute(semconv.GEN_AI_RESPONSE_ID, response_id)
            if response_model:
                span.set_attribute(semconv.GEN_AI_RESPONSE_MODEL, response_model)


# ---------------------------------------------------------------------------
# Around one wrapped call (shared by the three LLM instrumentors' wrappers)
# ---------------------------------------------------------------------------


class LLMSettings:
    """What ``instrument()`` was given, as the LLM instrumentors' wrappers read it."""

    __slots__ = ("capture", "handle", "prices", "provider_name", "server_cache")

    def __init__(
        self,
        handle: TelemetryHandle,
        capture: ContentCapture | None,
        provider_name: str | None = None,
        prices: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        self.handle = handle
        #: An explicit ``capture_content=``; None: the env var, read at each call.
        self.capture = capture
        #: ``gen_ai.provider.name`` for every client, when given.
        self.provider_name = provider_name
        #: None: the process-wide price table (set_model_prices).
        self.prices = prices
        #: What an instrumentor derived from the last client's base URL (its own shape).
        self.server_cache: Any = None

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> Self:
        """Settings from ``instrument()`` keyword arguments (providers, capture, prices).

        A bad ``capture_content`` or ``prices`` raises an error that names it.
        """
        handle = TelemetryHandle(
            tracer_provider=kwargs.get("tracer_provider"),
            meter_provider=kwargs.get("meter_provider"),
            logger_provider=kwargs.get("logger_provider"),
        )
        capture = explicit_capture(kwargs.get("capture_content"))
        prices = kwargs.get("prices")
        if prices is not None:
            prices = check_prices(prices, "instrument(prices)")
        return cls(handle, capture, kwargs.get("provider_name"), prices)


def start_call(
    settings: LLMSettings,
    operation: str,
    provider: str,
    model: Any,
    host: str | None,
    port: int | None,
    request_attributes: Mapping[str, Any],
) -> Call:
    """Start the :class:`Call` of one request: the common attributes, then the API's own.

    ``model`` is the request's ``model`` argument (only a non-empty string names
    the span); ``request_attributes`` are the API-specific ``gen_ai.request.*``.
    """
    request_model = model if isinstance(model, str) and model else None
    attributes: dict[str, Any] = {
        semconv.GEN_AI_OPERATION_NAME: operation,
        semconv.GEN_AI_PROVIDER_NAME: provider,
    }
    if request_model:
        attributes[semconv.GEN_AI_REQUEST_MODEL] = request_model
    if host:
        attributes[semconv.SERVER_ADDRESS] = host
    if port is not None:
        attributes[semconv.SERVER_PORT] = port
    attributes.update(request_attributes)
    # An explicit capture_content= wins; otherwise the env var / set_capture_mode(),
    # read now (cached per raw value), so a change takes effect without re-instrumenting.
    capture = settings.capture or capture_mode()
    return Call(settings.handle, operation, request_model, attributes, capture, settings.prices)


def run_sync(
    call: Call,
    context: otel_context.Context,
    flag: ContextVar[Any],
    value: Any,
    wrapped: Callable[..., Any],
    args: Any,
    kwargs: Any,
) -> Any:
    """``wrapped(*args, **kwargs)`` with ``context`` current and ``flag`` set to ``value``.

    ``context`` carries the call's span (so HTTP client spans nest under it);
    ``flag`` tells a nested wrapper (or the SDK's own tracing) that a span for
    this call exists. An exception fails ``call`` and propagates untouched; the
    result is returned for the caller's own result handling.
    """
    token = otel_context.attach(context)
    mark = flag.set(value)
    try:
        return wrapped(*args, **kwargs)
    except BaseException as exc:
        call.fail(exc)
        raise
    finally:
        flag.reset(mark)
        otel_context.detach(token)


async def run_async(
    call: Call,
    context: otel_context.Context,
    flag: ContextVar[Any],
    value: Any,
    wrapped: Callable[..., Awaitable[Any]],
    args: Any,
    kwargs: Any,
) -> Any:
    """:func:`run_sync` for a coroutine function: the result is awaited with the span current."""
    token = otel_context.attach(context)
    mark = flag.set(value)
    try:
        return await wrapped(*args, **kwargs)
    except BaseException as exc:
        call.fail(exc)
        raise
    finally:
        flag.reset(mark)
        otel_context.detach(token)
