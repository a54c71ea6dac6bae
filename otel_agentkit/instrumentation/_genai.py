"""One LLM API call, from span start to its end: the contract every provider's mapping speaks.

A provider's mapping reads a response (or, for a stream, what its chunks said)
into a :class:`Response`: plain typed fields, nothing else. :class:`Call`
turns it into the span's attributes, the optional content, and the GenAI
client metrics, exactly once (:meth:`Call.succeed` / :meth:`Call.fail`).
Data flows one way: request -> :class:`Call` -> :class:`Response` (or a
:class:`LLMStreamRecorder`, which hands its :class:`Response` and its chunk
timing to the call) -> the span's end. Nothing reads back what the call
recorded.

Also here: small readers of request and response objects that may be dicts
or pydantic models (:func:`get_field`, :func:`dig`, :func:`given`,
:func:`copy_numbers`, :func:`maybe_json`, :func:`stop_sequences`,
:func:`request_content`), the server a client talks
to (:func:`base_url_of`, :func:`server_of`), and :class:`LLMSettings`
(what ``instrument()`` was given). Imports no client library.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Self
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from otel_agentkit import _content, _sanitize, semconv
from otel_agentkit._content import ContentCapture, to_json
from otel_agentkit._instruments import AttributeSet
from otel_agentkit.decorators import agent_scope
from otel_agentkit.instrumentation import _duplicates
from otel_agentkit.instrumentation._base import (
    GenAIInstruments,
    TelemetryHandle,
    explicit_capture,
    log_internal_error,
    mark_failed,
    metric_attributes,
)
from otel_agentkit.instrumentation._streams import StreamRecorder
from otel_agentkit.pricing import ModelPrice, check_prices, price_for

#: ``false`` keeps the enclosing agent's and workflow's names off the LLM metrics.
ENV_AGENT_ATTRIBUTES = "AGENTKIT_LLM_METRICS_AGENT_ATTRIBUTES"

#: type -> whether it is a Mapping (``isinstance`` against the ABC is slow; types are few).
_MAPPING_TYPES: dict[type[Any], bool] = {dict: True}

#: Request parameters -> request-side content (input messages, instructions, tools).
ContentReader = Callable[[Mapping[str, Any]], dict[str, Any]]
#: (first chunk, last chunk, chunk count) of a stream, monotonic seconds.
StreamTiming = tuple[float, float, int]
#: (result, request parameters, response to fill): a provider's reader of a whole response.
ResponseReader = Callable[[Any, Mapping[str, Any], "Response"], None]


def given(value: Any) -> bool:
    """Whether a request argument was really passed (not None, NOT_GIVEN or omit)."""
    return value is not None and type(value).__name__ not in ("NotGiven", "Omit")


def is_mapping(obj: Any) -> bool:
    """Whether ``obj`` is a Mapping (read by key, not attribute; see :func:`get_field`)."""
    kind = type(obj)
    mapping = _MAPPING_TYPES.get(kind)
    if mapping is None:
        mapping = _MAPPING_TYPES[kind] = issubclass(kind, Mapping)
    return mapping


def get_field(obj: Any, name: str) -> Any:
    """Attribute of a pydantic model or key of a dict (request params may be either)."""
    kind = type(obj)
    mapping = _MAPPING_TYPES.get(kind)
    if mapping is None:
        mapping = _MAPPING_TYPES[kind] = issubclass(kind, Mapping)
    if mapping:
        return obj.get(name)
    return getattr(obj, name, None)


def dig(obj: Any, path: str) -> Any:
    """``obj["a"]["b"]`` for ``"a.b"`` (dicts); None where a step is missing."""
    for key in path.split("."):
        obj = obj.get(key) if isinstance(obj, Mapping) else None
    return obj


def copy_numbers(config: Any, names: Mapping[str, str], attrs: dict[str, Any]) -> None:
    """``attrs[names[key]]`` = each ``key`` of ``config`` (a dict or a model) that is a number.

    A bool is an int, but a stray ``True`` is not a temperature: never copied.
    """
    if config is None:
        return
    mapping = is_mapping(config)
    for key, attr in names.items():
        value = config.get(key) if mapping else getattr(config, key, None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attrs[attr] = value


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


def server_of(url: Any) -> tuple[str | None, int | None]:
    """server.address and server.port of a base URL (an httpx URL or a string; no credentials)."""
    if url is None:
        return None, None
    if isinstance(url, str):
        parts = urlsplit(url)
        host, port, scheme = parts.hostname, parts.port, parts.scheme
    else:
        host, port = getattr(url, "host", None), getattr(url, "port", None)
        scheme = getattr(url, "scheme", "")
    if port is None:
        port = 443 if scheme == "https" else 80 if scheme == "http" else None
    return host or None, port


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


def index_order(index: Any) -> tuple[int, int, str]:
    """Sort key for choice / tool-call indexes a server sent: ints in order, anything else after.

    A server may send a null or a string index beside integer ones; sorting
    them must not fail (the stream's telemetry would be lost).
    """
    if type(index) is int:
        return (0, index, "")
    return (1, 0, repr(index))


def stop_sequences(stop: Any) -> list[str]:
    """A ``stop`` argument (one string or several) as ``gen_ai.request.stop_sequences``."""
    return [stop] if isinstance(stop, str) else [str(s) for s in stop]


class Response:
    """What one response said, as a provider's mapping read it; :class:`Call` records it.

    Every field is optional: a mapping sets what the response has. ``capture``
    says whether content capture is on, so a mapping builds
    ``output_messages`` only then. ``attributes`` holds span attributes only
    one provider has (Ollama's server timings, say).
    """

    __slots__ = (
        "attributes",
        "cache_creation_tokens",
        "cache_read_tokens",
        "capture",
        "error_type",
        "finish_reasons",
        "id",
        "input_tokens",
        "model",
        "output_messages",
        "output_tokens",
        "reasoning_tokens",
        "tool_calls",
    )

    def __init__(self, capture: bool) -> None:
        self.capture = capture
        self.id: str | None = None
        self.model: str | None = None
        self.finish_reasons: list[str] | None = None
        #: Input tokens in the conventions' sense: cached ones included.
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cache_read_tokens: int | None = None
        self.cache_creation_tokens: int | None = None
        self.reasoning_tokens: int | None = None
        #: (id, name) of each tool call the model asked for (never the arguments).
        self.tool_calls: list[tuple[str | None, str | None]] = []
        self.output_messages: list[dict[str, Any]] | None = None
        #: An error the response reported in-band (a stream's error event).
        self.error_type: str | None = None
        self.attributes: dict[str, Any] | None = None

    def read_tokens(self, usage: Any, input_field: str, output_field: str) -> None:
        """Input and output token counts from a usage block (a model or a dict), when ints."""
        if usage is None:
            return
        # What get_field reads, without a call per field.
        mapping = is_mapping(usage)
        input_tokens = usage.get(input_field) if mapping else getattr(usage, input_field, None)
        if isinstance(input_tokens, int):
            self.input_tokens = input_tokens
        output_tokens = usage.get(output_field) if mapping else getattr(usage, output_field, None)
        if isinstance(output_tokens, int):
            self.output_tokens = output_tokens

    def read_usage(
        self, usage: Any, names: Mapping[str, tuple[str, ...]], cached_apart: bool = False
    ) -> None:
        """Token counts from a usage block (a model or a dict), where whole numbers.

        ``names``: a token field of this class (``input_tokens``,
        ``cache_read_tokens``...) -> the block's names for it, the first one
        present wins. ``cached_apart``: the block counts cached prompt tokens
        apart from the input ones (Anthropic, Bedrock); they are added to
        ``input_tokens``, which counts them as the conventions do.
        """
        if usage is None:
            return
        mapping = is_mapping(usage)
        found = {}
        for field, keys in names.items():
            for key in keys:
                value = usage.get(key) if mapping else getattr(usage, key, None)
                if isinstance(value, float) and value.is_integer():  # JSON's 6.0 (Titan)
                    value = int(value)
                if isinstance(value, int) and not isinstance(value, bool):
                    found[field] = value
                    setattr(self, field, value)
                    break
        if cached_apart and "input_tokens" in found:
            cached = (self.cache_read_tokens or 0) + (self.cache_creation_tokens or 0)
            self.input_tokens = found["input_tokens"] + cached

    def set_indexed_finish_reasons(self, reasons: Mapping[Any, str]) -> None:
        """Finish reasons from per-choice reasons, in choice order (odd indexes last)."""
        if reasons:
            self.finish_reasons = [reasons[i] for i in sorted(reasons, key=index_order)]

    def make_safe(self) -> None:
        """Make what the response said safe to export (:mod:`otel_agentkit._sanitize`).

        A server's model name, ids, finish reasons, tool names and in-band error
        type become attributes and labels: valid UTF-8, bounded, whatever it sent.
        """
        text = _sanitize.text
        limit = _sanitize.MAX_VALUE_LENGTH
        # A provider's mapping may have copied a server's non-string value: dropped.
        # A short ASCII string is what text() would give back: no call for it.
        model: object = self.model
        if not isinstance(model, str):
            self.model = None
        elif len(model) > limit or not model.isascii():
            self.model = text(model)
        response_id: object = self.id
        if not isinstance(response_id, str):
            self.id = None
        elif len(response_id) > limit or not response_id.isascii():
            self.id = text(response_id)
        if isinstance(self.error_type, str):
            self.error_type = text(self.error_type)
        if self.finish_reasons:
            self.finish_reasons = [text(str(r)) for r in self.finish_reasons]
        if self.tool_calls:
            self.tool_calls = [
                (
                    text(call_id) if isinstance(call_id, str) else None,
                    text(name) if isinstance(name, str) else None,
                )
                for call_id, name in self.tool_calls
            ]
        if self.attributes:
            self.attributes = dict(_sanitize.attributes(self.attributes))

    def span_attributes(self) -> dict[str, Any]:
        """The ``gen_ai.response.*`` / ``gen_ai.usage.*`` span attributes of this response."""
        attrs: dict[str, Any] = {}
        if self.id:
            attrs[semconv.GEN_AI_RESPONSE_ID] = self.id
        if self.model:
            attrs[semconv.GEN_AI_RESPONSE_MODEL] = self.model
        if self.finish_reasons:
            attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = self.finish_reasons
        # One test per count, no table built per call: this runs for every response.
        if self.input_tokens is not None:
            attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] = self.input_tokens
        if self.output_tokens is not None:
            attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] = self.output_tokens
        if self.cache_read_tokens is not None:
            attrs[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = self.cache_read_tokens
        if self.cache_creation_tokens is not None:
            attrs[semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = self.cache_creation_tokens
        if self.reasoning_tokens is not None:
            attrs[semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = self.reasoning_tokens
        calls = self.tool_calls
        if calls:
            if any(call_id is not None for call_id, _ in calls):
                attrs[semconv.AGENTKIT_RESPONSE_TOOL_CALL_IDS] = [c[0] or "" for c in calls]
            attrs[semconv.AGENTKIT_RESPONSE_TOOL_CALL_NAMES] = [c[1] or "" for c in calls]
        if self.error_type:
            attrs[semconv.ERROR_TYPE] = self.error_type
        if self.attributes:
            attrs.update(self.attributes)
        return attrs


#: capture mode -> (any capture, content on the span, content on the event), computed once.
_CAPTURE_FLAGS: dict[ContentCapture, tuple[bool, bool, bool]] = {
    mode: (
        mode is not ContentCapture.NO_CONTENT,
        _content.should_capture_on_span(mode),
        _content.should_capture_on_event(mode),
    )
    for mode in ContentCapture
}

#: Attributes of an ``agentkit.llm.cost.usd`` point (besides gen_ai.token.type).
_COST_ATTRIBUTES = (
    semconv.GEN_AI_PROVIDER_NAME,
    semconv.GEN_AI_REQUEST_MODEL,
    semconv.GEN_AI_AGENT_NAME,
    semconv.GEN_AI_WORKFLOW_NAME,
)


def _with_token_types(points: Mapping[str, Any]) -> tuple[AttributeSet, AttributeSet]:
    """``points`` plus ``gen_ai.token.type`` input, and output, as attribute sets."""
    return (
        AttributeSet({**points, semconv.GEN_AI_TOKEN_TYPE: semconv.TOKEN_TYPE_INPUT}),
        AttributeSet({**points, semconv.GEN_AI_TOKEN_TYPE: semconv.TOKEN_TYPE_OUTPUT}),
    )


class _PointSets:
    """The metric attribute sets of a call's points: duration and chunk timing, and
    the token usage of each type. Built once per distinct set, never changed."""

    __slots__ = ("input", "output", "points")

    def __init__(self, points: Mapping[str, Any]) -> None:
        self.points = AttributeSet(points)
        self.input, self.output = _with_token_types(points)


#: Most response models remembered per request-side attribute set.
_RESPONSE_MODELS_KEPT = 64


class _MetricSets:
    """What the metrics of every call with one request-side attribute set (and agent
    scope) record with: built when such a call is first seen, then only looked up."""

    __slots__ = ("attributes", "by_model", "cost_input", "cost_output")

    def __init__(self, attributes: dict[str, Any]) -> None:
        #: The request's metric attributes (and the agent scope's); never changed.
        self.attributes = attributes
        self.by_model: dict[str | None, _PointSets] = {}
        cost = {key: attributes[key] for key in _COST_ATTRIBUTES if attributes.get(key) is not None}
        self.cost_input, self.cost_output = _with_token_types(cost)

    def points(self, response_model: str | None) -> _PointSets:
        """The point sets of a call that ``response_model`` answered."""
        sets = self.by_model.get(response_model)
        if sets is None:
            by_model = self.by_model
            if len(by_model) >= _RESPONSE_MODELS_KEPT:  # a bound, whatever servers send
                by_model.clear()
            attributes = self.attributes
            if response_model:
                attributes = {**attributes, semconv.GEN_AI_RESPONSE_MODEL: response_model}
            sets = by_model[response_model] = _PointSets(attributes)
        return sets


#: Most request-side attribute sets remembered with their :class:`_MetricSets`.
_METRIC_SETS_KEPT = 256
#: Request attributes (as given) -> (whether they were safe as they are, their sets).
_metric_sets: dict[tuple[Any, ...], tuple[bool, _MetricSets]] = {}


def request_sets(
    attributes: Mapping[str, Any], scope: Mapping[str, str] | None
) -> tuple[Mapping[str, Any], _MetricSets]:
    """A call's span attributes made safe (:func:`_sanitize.attributes`) and its
    :class:`_MetricSets` in this agent scope.

    Looked up by the attributes' items and their values' types (``1``,
    ``1.0`` and ``True`` are equal keys but different attributes): a call like
    an earlier one skips both the safety pass and the metric filtering. A
    call with an unhashable attribute value (a list) gets both afresh.
    """
    try:
        key = (
            tuple(attributes.items()),
            tuple(map(type, attributes.values())),
            tuple(scope.items()) if scope else None,
        )
        cached = _metric_sets.get(key)
    except TypeError:
        key, cached = None, None
    if cached is not None:
        safe_as_given, sets = cached
        return (attributes if safe_as_given else _sanitize.attributes(attributes)), sets
    safe = _sanitize.attributes(attributes)
    kept = metric_attributes(safe)
    if scope:
        kept.update(scope)
    sets = _MetricSets(kept)
    if key is not None:
        if len(_metric_sets) >= _METRIC_SETS_KEPT:  # a bound, whatever the requests say
            _metric_sets.clear()
        _metric_sets[key] = (safe is attributes, sets)
    return safe, sets


class Call:
    """The CLIENT span and metrics of one LLM API call; ends exactly once.

    Started with the request's attributes (``start_time``, in ``time.time_ns()``
    units, back-dates it); ended by :meth:`succeed` with a
    :class:`Response` or by :meth:`fail` with the exception. Request-side
    content is read (by ``content_reader``) only when capture is on, at the end.
    ``context`` is the current context when the caller has read it already
    (the agent scope is read from it).
    """

    __slots__ = (
        "capture_enabled",
        "content_on_event",
        "content_on_span",
        "content_reader",
        "handle",
        "metrics",
        "params",
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
        content_reader: ContentReader | None = None,
        params: Mapping[str, Any] | None = None,
        start_time: int | None = None,
        agent_attributes: bool = True,
        context: otel_context.Context | None = None,
    ) -> None:
        self.handle = handle
        # What the request (or a gateway) gave becomes the span name, attributes and
        # labels: made safe once, here, for every provider (valid UTF-8, bounded).
        if request_model is not None:
            request_model = _sanitize.text(request_model)
        # The attributes made safe, and the request's metric attribute sets (with the
        # enclosing @traced_agent / @traced_workflow's names): shared by calls alike.
        safe, self.metrics = request_sets(
            attributes, agent_scope(context) if agent_attributes else None
        )
        self.request_model = request_model
        self.prices = prices  # None: the process-wide table (set_model_prices)
        self.capture_enabled, self.content_on_span, self.content_on_event = _CAPTURE_FLAGS[capture]
        self.content_reader = content_reader
        self.params = params
        name = f"{operation} {request_model}" if request_model else operation
        self.span: Span = handle.tracer().start_span(
            name, kind=SpanKind.CLIENT, attributes=safe, start_time=start_time
        )
        self.span_context = trace.set_span_in_context(self.span)
        self.started_at = time.perf_counter()
        if start_time is not None:  # back-dated: a call known only once it is over
            self.started_at -= max(0, time.time_ns() - start_time) / 1e9

    def succeed(
        self,
        response: Response,
        ended_at: float | None = None,
        timing: StreamTiming | None = None,
    ) -> None:
        """Record ``response`` (attributes, content, metrics, cost) and end the span."""
        try:
            end = ended_at if ended_at is not None else time.perf_counter()
            response.make_safe()
            sets = self._points(response.model, timing)
            if response.error_type:
                sets = _PointSets(
                    {**sets.points.attributes, semconv.ERROR_TYPE: response.error_type}
                )
            span = self.span
            content = self._content(response) if self.capture_enabled else None
            if span.is_recording():
                attributes = response.span_attributes()
                if content and self.content_on_span:
                    # One set_attributes call: each one costs the SDK a lock and a loop.
                    span_attrs = dict(attributes)
                    for key, value in content.items():
                        if value is not None:
                            span_attrs[key] = to_json(value)
                    span.set_attributes(span_attrs)
                else:
                    span.set_attributes(attributes)
            else:
                attributes = None
            if content and self.content_on_event:
                self._emit_event(attributes or response.span_attributes(), content)
            instruments = self.handle.instruments()
            ctx = self.span_context
            instruments.duration.record_set(end - self.started_at, sets.points, context=ctx)
            # The sets' dicts are shared by every call alike and never changed (an
            # SDK may keep a measurement's dict by reference): each is its own dict.
            input_tokens, output_tokens = response.input_tokens, response.output_tokens
            if input_tokens is not None:
                instruments.token_usage.record_set(input_tokens, sets.input, context=ctx)
            if output_tokens is not None:
                instruments.token_usage.record_set(output_tokens, sets.output, context=ctx)
            price = price_for(self.prices, response.model, self.request_model)
            if price is not None:
                input_cost = price.input_cost(
                    input_tokens or 0, response.cache_read_tokens, response.cache_creation_tokens
                )
                output_cost = price.output_cost(output_tokens or 0)
                self._record_cost(instruments, input_cost, output_cost)
        except Exception:
            log_internal_error("LLM response handling")
        finally:
            self.span.end()

    def succeed_with(self, read: ResponseReader, result: Any, params: Mapping[str, Any]) -> None:
        """:meth:`succeed` with what ``read`` gets from ``result`` (minus what it cannot read)."""
        response = Response(self.capture_enabled)
        try:
            read(result, params, response)
        except Exception:
            log_internal_error("reading a response")
        self.succeed(response)

    def fail(
        self,
        exc: BaseException,
        ended_at: float | None = None,
        response: Response | None = None,
        timing: StreamTiming | None = None,
    ) -> None:
        """Record the failure (``error.type``, status, duration) and end the span.

        ``response`` is what a stream said before it failed: its id and model are kept.
        """
        try:
            end = ended_at if ended_at is not None else time.perf_counter()
            span = self.span
            if response is not None:
                response.make_safe()
            model = response.model if response is not None else None
            points = self._points(model, timing).points.attributes
            error = mark_failed(span, exc)
            if response is not None and span.is_recording():
                if response.id:
                    span.set_attribute(semconv.GEN_AI_RESPONSE_ID, response.id)
                if model:
                    span.set_attribute(semconv.GEN_AI_RESPONSE_MODEL, model)
            self.handle.instruments().duration.record(
                end - self.started_at,
                {**points, semconv.ERROR_TYPE: error},
                context=self.span_context,
            )
        except Exception:
            log_internal_error("LLM call error handling")
        finally:
            self.span.end()

    def _points(self, response_model: str | None, timing: StreamTiming | None) -> _PointSets:
        """Metric attribute sets for this call's points; records a stream's chunk timing."""
        sets = self.metrics.points(response_model)
        if timing is not None:
            first, last, chunks = timing
            instruments = self.handle.instruments()
            ctx = self.span_context
            to_first = first - self.started_at
            points = sets.points
            instruments.time_to_first_chunk.record_set(to_first, points, context=ctx)
            if chunks > 1:
                instruments.time_per_output_chunk.record_set(
                    (last - first) / (chunks - 1), points, context=ctx
                )
            if self.span.is_recording():
                self.span.set_attribute(semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, to_first)
        return sets

    def _content(self, response: Response) -> dict[str, Any]:
        """Request-side content and the response's output messages (capture on only)."""
        content: dict[str, Any] = {}
        reader = self.content_reader
        if reader is not None:
            try:
                content = reader(self.params or {})
            except Exception:
                log_internal_error("reading request content")
        if response.output_messages is not None:
            content[semconv.GEN_AI_OUTPUT_MESSAGES] = response.output_messages
        return content

    def _record_cost(
        self, instruments: GenAIInstruments, input_cost: float, output_cost: float
    ) -> None:
        """Add the call's estimated USD to ``agentkit.llm.cost.usd``, one point per token type."""
        metrics = self.metrics
        if input_cost > 0:
            instruments.cost.add_set(input_cost, metrics.cost_input, context=self.span_context)
        if output_cost > 0:
            instruments.cost.add_set(output_cost, metrics.cost_output, context=self.span_context)

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
    """A :class:`StreamRecorder` that ends one :class:`Call`.

    A subclass accumulates in :meth:`~StreamRecorder.process` (constant, small
    work per chunk) and reads what it gathered into a :class:`Response` in
    :meth:`read`, once, at the end; the recorder hands that and its chunk
    timing to the call. A recorder that counts only some chunks (Anthropic's
    and Bedrock's output deltas) overrides ``on_chunk`` to call
    :meth:`count_output` for those, which sets :attr:`last_chunk_at`;
    otherwise the stream's end time closes the per-chunk timing.
    """

    __slots__ = ("call", "capture", "last_chunk_at")

    def __init__(self, call: Call) -> None:
        super().__init__(call.started_at)
        self.call = call
        self.capture = call.capture_enabled
        self.last_chunk_at: float | None = None

    def complete(self, error: BaseException | None, ended_at: float) -> None:
        """End the call with what the stream said; an error reading it keeps what was read."""
        response = Response(self.capture)
        try:
            self.read(response)
        except Exception:
            log_internal_error("reading a stream")
        timing = None
        try:
            first = self.first_chunk_at
            if first is not None:
                last = self.last_chunk_at
                timing = (first, last if last is not None else ended_at, self.chunks)
        except Exception:  # a subclass's odd timing: the span still ends
            log_internal_error("stream timing")
        if error is None:
            self.call.succeed(response, ended_at, timing)
        else:
            self.call.fail(error, ended_at, response, timing)

    def count_output(self) -> None:
        """Count one chunk now: for a recorder whose ``on_chunk`` counts output events only."""
        now = self.last_chunk_at = time.perf_counter()
        if self.first_chunk_at is None:
            self.first_chunk_at = now
        self.chunks += 1

    def read(self, response: Response) -> None:
        """Fill ``response`` from what the stream said (also when it failed: what was seen)."""


class LLMSettings:
    """What ``instrument()`` was given, as the LLM instrumentors' wrappers read it."""

    __slots__ = (
        "agent_attributes",
        "capture",
        "handle",
        "keep_duplicates",
        "options",
        "prices",
        "provider_name",
        "server_cache",
    )

    def __init__(
        self,
        handle: TelemetryHandle,
        capture: ContentCapture | None,
        provider_name: str | None = None,
        prices: Mapping[str, ModelPrice] | None = None,
        options: Mapping[str, Any] | None = None,
        keep_duplicates: bool = False,
        agent_attributes: bool = True,
    ) -> None:
        self.handle = handle
        #: Put the enclosing agent's and workflow's names on the metrics.
        self.agent_attributes = agent_attributes
        #: An explicit ``capture_content=``; None: the env var, read at each call.
        self.capture = capture
        #: ``gen_ai.provider.name`` for every client, when given.
        self.provider_name = provider_name
        #: None: the process-wide price table (set_model_prices).
        self.prices = prices
        #: Every ``instrument()`` keyword argument, for a provider's own options.
        self.options: Mapping[str, Any] = options or {}
        #: Make our span even inside another instrumentation's span of the same request
        #: (and do not ask the others to step aside); see ``_duplicates``.
        self.keep_duplicates = keep_duplicates
        #: (base URL object, client type, host, port, provider) of the last client seen.
        self.server_cache: tuple[Any, type[Any], str | None, int | None, str] | None = None

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> Self:
        """Settings from ``instrument()`` keyword arguments (providers, capture, prices,
        ``keep_duplicate_spans``).

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
        agent_attributes = kwargs.get("agent_attributes")
        if agent_attributes is None:
            agent_attributes = os.environ.get(ENV_AGENT_ATTRIBUTES, "").strip().lower() not in (
                "false",
                "0",
                "no",
                "off",
            )
        return cls(
            handle,
            capture,
            kwargs.get("provider_name"),
            prices,
            dict(kwargs),
            _duplicates.keep_duplicates(kwargs),
            bool(agent_attributes),
        )
