"""Decorators and context managers that trace agent code.

::

    import otel_agentkit as agentkit

    @agentkit.traced_tool
    def get_weather(city: str) -> str: ...

    @agentkit.traced_tool(name="web_search", description="Search the web")
    async def search(query: str) -> list[str]: ...

    @agentkit.traced_agent(name="planner")
    async def plan(goal: str) -> Plan: ...

    with agentkit.tool_span("calculator") as op:
        op.set_result(eval_expression(text))

Each decorated call becomes one span named after the GenAI semantic
conventions (``execute_tool {name}``, ``invoke_agent {name}``,
``invoke_workflow {name}``, ``retrieval {data_source}``; guardrails, which have
no convention, get ``apply_guardrail {name}``) and, for tools, agents and
workflows, one point on a duration histogram.

The decorators work on functions, ``async def`` functions, generators and
async generators, and on methods (put them under or over ``@classmethod`` /
``@staticmethod``). The wrapper is chosen once, at decoration time; it keeps
the function's name, docstring, signature and (through ``ParamSpec``) its
static type. A generator's span covers its whole iteration and ends exactly
once: when it is exhausted, closed, abandoned, or raises.

Exceptions pass through untouched (same object, same traceback); the span
records them (status ERROR, ``error.type``, an exception event) and the
duration point gets ``error.type``. Nothing the instrumentation itself does
can raise into the decorated code: internal errors are logged at debug level.

When no OpenTelemetry SDK is installed the wrapper calls straight through;
when the span is not sampled no attribute or serialisation work is done.

Imports only the OpenTelemetry API and the standard library.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import operator
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sized
from types import TracebackType
from typing import Any, Final, Literal, ParamSpec, Protocol, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import Counter, Histogram
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from otel_agentkit import _content, _instruments, _sanitize, semconv
from otel_agentkit._instruments import Instruments
from otel_agentkit.errors import AgentkitError

__all__ = [
    "GuardrailDecision",
    "GuardrailViolation",
    "TracedOperation",
    "agent_span",
    "guardrail_span",
    "retrieval_span",
    "tool_span",
    "traced_agent",
    "traced_guardrail",
    "traced_retrieval",
    "traced_tool",
    "traced_workflow",
    "workflow_span",
]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

_log = logging.getLogger("otel_agentkit")

# Hot-path aliases: module globals are one dict lookup, attribute chains are more.
_current = _instruments.current
_perf = time.perf_counter
_attach = otel_context.attach
_detach = otel_context.detach
_set_span = trace.set_span_in_context
_INTERNAL: Final = SpanKind.INTERNAL

#: Context key of the enclosing agent and workflow, as metric attributes
#: (``gen_ai.agent.name``, ``gen_ai.workflow.name``): set by the agent and
#: workflow spans for the code they run, read by the LLM instrumentations.
_AGENT_SCOPE: Final = otel_context.create_key("otel_agentkit.agent_scope")
_get_value = otel_context.get_value
_set_value = otel_context.set_value


def agent_scope(context: Context | None = None) -> Mapping[str, str] | None:
    """Metric attributes naming the enclosing ``@traced_agent`` / ``@traced_workflow``, if any.

    One context lookup: the LLM instrumentations call it for every request to
    put ``gen_ai.agent.name`` and ``gen_ai.workflow.name`` on their metrics.
    The names come from code (decorator arguments and function names), so
    they are bounded by construction. ``context``: the current context, when
    the caller has it already (else it is read here).
    """
    return _get_value(_AGENT_SCOPE, context)  # type: ignore[return-value]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final = _Missing()


def _error_type(exc: BaseException) -> str:
    return _sanitize.text(type(exc).__qualname__)


# ---------------------------------------------------------------------------
# Guardrail decisions
# ---------------------------------------------------------------------------

GuardrailAction = Literal["allow", "block", "modify"]
_ACTIONS: Final = frozenset(
    {semconv.GUARDRAIL_ALLOW, semconv.GUARDRAIL_BLOCK, semconv.GUARDRAIL_MODIFY}
)


@dataclasses.dataclass(frozen=True, slots=True)
class GuardrailDecision:
    """What a guardrail decided: ``allow``, ``block`` or ``modify``.

    Return one from a ``@traced_guardrail`` function (or pass it to
    :meth:`TracedOperation.set_decision`); the span records the action and
    reason, and ``block``/``modify`` add one to ``agentkit.guardrail.violations``.
    ``value`` carries the modified content for ``modify``; it is never recorded.
    """

    action: GuardrailAction
    reason: str | None = None
    value: Any = None

    def __post_init__(self) -> None:
        if self.action not in _ACTIONS:
            raise ValueError(
                f"GuardrailDecision action must be one of {sorted(_ACTIONS)}, got {self.action!r}"
            )

    @classmethod
    def allow(cls, reason: str | None = None) -> GuardrailDecision:
        """Let the content through unchanged."""
        return cls("allow", reason)

    @classmethod
    def block(cls, reason: str | None = None) -> GuardrailDecision:
        """Stop the content."""
        return cls("block", reason)

    @classmethod
    def modify(cls, value: Any = None, reason: str | None = None) -> GuardrailDecision:
        """Let a changed version of the content (``value``) through."""
        return cls("modify", reason, value)

    @property
    def is_violation(self) -> bool:
        """True for ``block`` and ``modify``: the decisions counted as violations."""
        return self.action != semconv.GUARDRAIL_ALLOW


class GuardrailViolation(AgentkitError):  # noqa: N818 - a decision, not a failure
    """Raise from a ``@traced_guardrail`` function to block.

    The span records the decision (``block`` unless ``decision`` says
    otherwise) and the exception event, but keeps status UNSET: the guardrail
    did its job. The exception propagates to the caller as usual.
    """

    def __init__(
        self,
        reason: str,
        *,
        guardrail: str | None = None,
        decision: GuardrailDecision | None = None,
    ) -> None:
        self.reason = reason
        self.guardrail = guardrail
        self.decision = decision if decision is not None else GuardrailDecision.block(reason)
        super().__init__(f"guardrail {guardrail!r} blocked: {reason}" if guardrail else reason)


# ---------------------------------------------------------------------------
# Operations: what each kind of span records
# ---------------------------------------------------------------------------


class _ArgRef:
    """Where to find one argument of a call: by keyword, else by position, else default."""

    __slots__ = ("default", "index", "name")

    def __init__(self, name: str, index: int | None, default: object) -> None:
        self.name = name
        self.index = index
        self.default = default

    @classmethod
    def find(
        cls, signature: inspect.Signature | None, name: str | None, *, required: str | None
    ) -> _ArgRef | None:
        """Locate parameter ``name``; raise TypeError naming ``required`` if it must exist."""
        if name is None:
            return None
        params = signature.parameters if signature is not None else {}
        param = params.get(name)
        if param is None:
            if required is None:
                return None
            raise TypeError(f"{required}: the function has no parameter named {name!r}")
        index: int | None = None
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            index = list(params).index(name)
        default = _MISSING if param.default is param.empty else param.default
        return cls(name, index, default)

    def get(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> object:
        value = kwargs.get(self.name, _MISSING)
        if value is _MISSING and self.index is not None and self.index < len(args):
            value = args[self.index]
        if value is _MISSING:
            value = self.default
        return value


def _signature(func: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


class _Op:
    """Static description of one traced operation, built once per decoration."""

    __slots__ = (
        "histogram_of",
        "metric_attributes",
        "result_work",
        "scope",
        "span_attributes",
        "span_name",
        "start_work",
    )

    def __init__(
        self,
        span_name: str,
        span_attributes: Mapping[str, AttributeValue | None],
        metric_attributes: Mapping[str, AttributeValue | None] | None = None,
        histogram_of: Callable[[Instruments], Histogram] | None = None,
        *,
        result_work: bool = False,
    ) -> None:
        # Names may be built at run time (tool_span(name)): made safe once, here.
        self.span_name = _sanitize.text(span_name)
        self.span_attributes: dict[str, AttributeValue] = dict(
            _sanitize.attributes({k: v for k, v in span_attributes.items() if v is not None})
        )
        self.metric_attributes = dict(
            _sanitize.attributes(_instruments.metric_attributes(metric_attributes or {}))
        )
        self.histogram_of = histogram_of
        self.result_work = result_work
        #: True when :meth:`on_start` has something to do for a recording span.
        self.start_work = False
        #: Agents and workflows: the metric attribute naming them for the code
        #: they run (see :func:`agent_scope`); None for the other operations.
        self.scope: tuple[str, str] | None = None

    def enter_scope(self, ctx: Context) -> Context:
        """``ctx`` with this agent's or workflow's name added to the enclosing scope."""
        key, name = self.scope  # type: ignore[misc]
        parent: Any = _get_value(_AGENT_SCOPE)
        value = {**parent, key: name} if parent else {key: name}
        return _set_value(_AGENT_SCOPE, value, ctx)

    # Called only for recording spans; each must not raise (callers guard anyway).
    def on_start(self, span: Span, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        """Record per-call attributes taken from the arguments."""

    def on_arguments(self, span: Span, value: object) -> None:
        """Record explicitly given arguments (context-manager form)."""

    def on_result(self, span: Span, result: object, count: int | None) -> None:
        """Record attributes derived from the result (``count``: items a generator yielded)."""

    # ``ctx`` is the span's own context (the one made current while the operation
    # ran): the duration point is recorded with it, so its exemplar names this
    # span, also after the span stopped being current.
    def succeed(
        self,
        inst: Instruments,
        span: Span,
        ctx: Context,
        result: object,
        duration: float,
        count: int | None = None,
    ) -> None:
        """Record a normal end and end the span."""
        try:
            histogram_of = self.histogram_of
            if histogram_of is not None:
                histogram_of(inst).record(duration, self.metric_attributes, ctx)
            if self.result_work and span.is_recording():
                self.on_result(span, result, count)
        except Exception:
            _log.debug("otel_agentkit: failed to record %s", self.span_name, exc_info=True)
        finally:
            span.end()

    def fail(
        self, inst: Instruments, span: Span, ctx: Context, exc: BaseException, duration: float
    ) -> None:
        """Record an exception that escaped the operation and end the span."""
        if isinstance(exc, GeneratorExit):  # the consumer stopped early: not an error
            self.succeed(inst, span, ctx, _MISSING, duration)
            return
        self.fail_as(inst, span, ctx, _error_type(exc), None, duration, exc)

    def fail_as(
        self,
        inst: Instruments,
        span: Span,
        ctx: Context,
        error_type: str,
        description: str | None,
        duration: float,
        exc: BaseException | None = None,
    ) -> None:
        """Record a failure known by its ``error.type`` (and exception, if there is one)
        and end the span. ``description`` is the status text; None: the exception's."""
        try:
            histogram_of = self.histogram_of
            if histogram_of is not None:
                attributes = dict(self.metric_attributes)
                attributes[semconv.ERROR_TYPE] = error_type
                histogram_of(inst).record(duration, attributes, ctx)
            if span.is_recording():
                span.set_attribute(semconv.ERROR_TYPE, error_type)
                if exc is not None:
                    _sanitize.record_exception(span, exc, status=description)
                else:
                    span.set_status(Status(StatusCode.ERROR, _sanitize.message(description or "")))
        except Exception:
            _log.debug("otel_agentkit: failed to record %s", self.span_name, exc_info=True)
        finally:
            span.end()

    def start(self, span: Span, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        """Guarded :meth:`on_start` for a span known to be recording."""
        try:
            self.on_start(span, args, kwargs)
        except Exception:
            _log.debug("otel_agentkit: failed to record %s", self.span_name, exc_info=True)


def _resolve_capture(setting: bool | None) -> bool:
    if setting is not None:
        return setting
    return _content.should_capture_on_span(_content.capture_mode())


class _ToolOp(_Op):
    __slots__ = ("call_id", "capture_content", "signature", "skip_first")

    def __init__(
        self,
        name: str,
        *,
        description: str | None,
        tool_type: str,
        call_id: str | None = None,
        call_id_ref: _ArgRef | None = None,
        capture_content: bool | None = None,
        signature: inspect.Signature | None = None,
    ) -> None:
        super().__init__(
            f"{semconv.OP_EXECUTE_TOOL} {name}",
            {
                semconv.GEN_AI_OPERATION_NAME: semconv.OP_EXECUTE_TOOL,
                semconv.GEN_AI_TOOL_NAME: name,
                semconv.GEN_AI_TOOL_TYPE: tool_type,
                semconv.GEN_AI_TOOL_DESCRIPTION: description,
                semconv.GEN_AI_TOOL_CALL_ID: call_id,
            },
            {
                semconv.GEN_AI_OPERATION_NAME: semconv.OP_EXECUTE_TOOL,
                semconv.GEN_AI_TOOL_NAME: name,
                semconv.GEN_AI_TOOL_TYPE: tool_type,
            },
            operator.attrgetter("execute_tool_duration"),
            result_work=capture_content is not False,
        )
        self.call_id = call_id_ref
        self.capture_content = capture_content
        self.signature = signature
        params = list(signature.parameters) if signature is not None else []
        self.skip_first = bool(params) and params[0] in ("self", "cls")
        self.start_work = call_id_ref is not None or capture_content is not False

    def on_start(self, span: Span, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        if self.call_id is not None:
            value = self.call_id.get(args, kwargs)
            if value is not _MISSING and value is not None:
                span.set_attribute(semconv.GEN_AI_TOOL_CALL_ID, str(value))
        if _resolve_capture(self.capture_content):
            span.set_attribute(
                semconv.GEN_AI_TOOL_CALL_ARGUMENTS, _content.to_json(self._arguments(args, kwargs))
            )

    def on_arguments(self, span: Span, value: object) -> None:
        if _resolve_capture(self.capture_content):
            span.set_attribute(semconv.GEN_AI_TOOL_CALL_ARGUMENTS, _content.to_json(value))

    def _arguments(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> object:
        if self.skip_first and args:
            args = args[1:]
            signature = self.signature
            if signature is not None:
                params = list(signature.parameters.values())[1:]
                signature = signature.replace(parameters=params)
        else:
            signature = self.signature
        if signature is not None:
            try:
                return dict(signature.bind(*args, **kwargs).arguments)
            except TypeError:
                pass
        return {"args": list(args), "kwargs": dict(kwargs)}

    def on_result(self, span: Span, result: object, count: int | None) -> None:
        if result is _MISSING or count is not None:  # nothing set / generator: no single result
            return
        if _resolve_capture(self.capture_content):
            span.set_attribute(semconv.GEN_AI_TOOL_CALL_RESULT, _content.to_json(result))


class _AgentOp(_Op):
    __slots__ = ("conversation_id",)

    def __init__(
        self,
        name: str,
        *,
        agent_id: str | None,
        description: str | None,
        conversation_id: str | None = None,
        conversation_id_ref: _ArgRef | None = None,
    ) -> None:
        super().__init__(
            f"{semconv.OP_INVOKE_AGENT} {name}",
            {
                semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_AGENT,
                semconv.GEN_AI_AGENT_NAME: name,
                semconv.GEN_AI_AGENT_ID: agent_id,
                semconv.GEN_AI_AGENT_DESCRIPTION: description,
                semconv.GEN_AI_CONVERSATION_ID: conversation_id,
            },
            {
                semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_AGENT,
                semconv.GEN_AI_AGENT_NAME: name,
            },
            operator.attrgetter("invoke_agent_duration"),
        )
        self.conversation_id = conversation_id_ref
        self.start_work = conversation_id_ref is not None
        self.scope = (semconv.GEN_AI_AGENT_NAME, name)

    def on_start(self, span: Span, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        if self.conversation_id is not None:
            value = self.conversation_id.get(args, kwargs)
            if value is not _MISSING and value is not None:
                span.set_attribute(semconv.GEN_AI_CONVERSATION_ID, str(value))


class _WorkflowOp(_Op):
    __slots__ = ()

    def __init__(self, name: str) -> None:
        super().__init__(
            f"{semconv.OP_INVOKE_WORKFLOW} {name}",
            {
                semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_WORKFLOW,
                semconv.GEN_AI_WORKFLOW_NAME: name,
            },
            {
                semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_WORKFLOW,
                semconv.GEN_AI_WORKFLOW_NAME: name,
            },
            operator.attrgetter("invoke_workflow_duration"),
        )
        self.scope = (semconv.GEN_AI_WORKFLOW_NAME, name)


def _document_count(result: object) -> int | None:
    if isinstance(result, (str, bytes, bytearray, Mapping)) or not isinstance(result, Sized):
        return None
    try:
        return len(result)
    except Exception:
        return None


class _RetrievalOp(_Op):
    __slots__ = ("top_k",)

    def __init__(
        self,
        data_source: str | None,
        *,
        top_k: int | None = None,
        top_k_ref: _ArgRef | None = None,
    ) -> None:
        span_name = f"{semconv.OP_RETRIEVAL} {data_source}" if data_source else semconv.OP_RETRIEVAL
        super().__init__(
            span_name,
            {
                semconv.GEN_AI_OPERATION_NAME: semconv.OP_RETRIEVAL,
                semconv.GEN_AI_DATA_SOURCE_ID: data_source,
                semconv.GEN_AI_REQUEST_TOP_K: top_k,
            },
            result_work=True,
        )
        self.top_k = top_k_ref
        self.start_work = top_k_ref is not None

    def on_start(self, span: Span, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        if self.top_k is not None:
            value = self.top_k.get(args, kwargs)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                span.set_attribute(semconv.GEN_AI_REQUEST_TOP_K, value)

    def on_result(self, span: Span, result: object, count: int | None) -> None:
        if count is None and result is not _MISSING:
            count = _document_count(result)
        if count is not None:
            span.set_attribute(semconv.AGENTKIT_RETRIEVAL_RETURNED_DOCUMENTS, count)


class _GuardrailOp(_Op):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        super().__init__(
            f"{semconv.OP_APPLY_GUARDRAIL} {name}",
            {
                semconv.GEN_AI_OPERATION_NAME: semconv.OP_APPLY_GUARDRAIL,
                semconv.AGENTKIT_GUARDRAIL_NAME: name,
            },
        )
        self.name = name

    def _decide(
        self, inst: Instruments, span: Span, ctx: Context, decision: GuardrailDecision
    ) -> None:
        if decision.is_violation:
            counter: Counter = inst.guardrail_violations
            counter.add(
                1,
                {
                    semconv.AGENTKIT_GUARDRAIL_NAME: self.name,
                    semconv.AGENTKIT_GUARDRAIL_DECISION: decision.action,
                },
                ctx,
            )
        if span.is_recording():
            span.set_attribute(semconv.AGENTKIT_GUARDRAIL_DECISION, decision.action)
            if decision.reason:
                span.set_attribute(semconv.AGENTKIT_GUARDRAIL_REASON, decision.reason)

    def succeed(
        self,
        inst: Instruments,
        span: Span,
        ctx: Context,
        result: object,
        duration: float,
        count: int | None = None,
    ) -> None:
        try:
            # Returned without deciding and without raising: the content passed.
            decision = result if isinstance(result, GuardrailDecision) else _ALLOW
            self._decide(inst, span, ctx, decision)
        except Exception:
            _log.debug("otel_agentkit: failed to record %s", self.span_name, exc_info=True)
        finally:
            span.end()

    def fail(
        self, inst: Instruments, span: Span, ctx: Context, exc: BaseException, duration: float
    ) -> None:
        if not isinstance(exc, GuardrailViolation):
            super().fail(inst, span, ctx, exc, duration)
            return
        try:
            self._decide(inst, span, ctx, exc.decision)
            if span.is_recording():
                _sanitize.record_exception(span, exc, status="")
        except Exception:
            _log.debug("otel_agentkit: failed to record %s", self.span_name, exc_info=True)
        finally:
            span.end()


_ALLOW: Final = GuardrailDecision.allow()


# ---------------------------------------------------------------------------
# Wrappers: one per kind of callable, chosen at decoration time
# ---------------------------------------------------------------------------


def _wrap_function(op: _Op, func: Callable[..., Any]) -> Callable[..., Any]:
    span_name = op.span_name
    attributes = op.span_attributes
    start_work = op.start_work
    scoped = op.scope is not None

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        inst = _current()
        if inst is None:
            return func(*args, **kwargs)
        try:
            span = inst.tracer.start_span(span_name, kind=_INTERNAL, attributes=attributes)
            if start_work and span.is_recording():
                op.start(span, args, kwargs)
            ctx = _set_span(span)
            if scoped:
                ctx = op.enter_scope(ctx)
            token = _attach(ctx)
        except Exception:  # pragma: no cover - defensive: never break the host program
            _log.debug("otel_agentkit: could not start %s", span_name, exc_info=True)
            return func(*args, **kwargs)
        start = _perf()
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            _detach(token)
            op.fail(inst, span, ctx, exc, _perf() - start)
            raise
        _detach(token)
        op.succeed(inst, span, ctx, result, _perf() - start)
        return result

    return wrapper


def _wrap_coroutine_function(op: _Op, func: Callable[..., Any]) -> Callable[..., Any]:
    span_name = op.span_name
    attributes = op.span_attributes
    start_work = op.start_work
    scoped = op.scope is not None

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        inst = _current()
        if inst is None:
            return await func(*args, **kwargs)
        try:
            span = inst.tracer.start_span(span_name, kind=_INTERNAL, attributes=attributes)
            if start_work and span.is_recording():
                op.start(span, args, kwargs)
            ctx = _set_span(span)
            if scoped:
                ctx = op.enter_scope(ctx)
            token = _attach(ctx)
        except Exception:  # pragma: no cover - defensive
            _log.debug("otel_agentkit: could not start %s", span_name, exc_info=True)
            return await func(*args, **kwargs)
        start = _perf()
        try:
            result = await func(*args, **kwargs)
        except BaseException as exc:
            _detach(token)
            op.fail(inst, span, ctx, exc, _perf() - start)
            raise
        _detach(token)
        op.succeed(inst, span, ctx, result, _perf() - start)
        return result

    return wrapper


def _wrap_generator_function(op: _Op, func: Callable[..., Any]) -> Callable[..., Any]:
    span_name = op.span_name
    attributes = op.span_attributes
    start_work = op.start_work
    scoped = op.scope is not None

    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        inst = _current()
        if inst is None:
            return (yield from func(*args, **kwargs))
        # The span starts at the first next(): it covers the iteration, not creation.
        try:
            span = inst.tracer.start_span(span_name, kind=_INTERNAL, attributes=attributes)
            if start_work and span.is_recording():
                op.start(span, args, kwargs)
            ctx = _set_span(span)
            if scoped:
                ctx = op.enter_scope(ctx)
        except Exception:  # pragma: no cover - defensive: never break the host program
            _log.debug("otel_agentkit: could not start %s", span_name, exc_info=True)
            return (yield from func(*args, **kwargs))
        start = _perf()
        count = 0
        try:
            gen = func(*args, **kwargs)
            to_send: Any = None
            to_throw: BaseException | None = None
            while True:
                # The span is current only while the generator's own code runs,
                # never in the consumer between items.
                token = _attach(ctx)
                try:
                    if to_throw is None:
                        item = gen.send(to_send)
                    else:
                        item, to_throw = gen.throw(to_throw), None
                except StopIteration as stop:
                    result = stop.value
                    break
                finally:
                    _detach(token)
                count += 1
                try:
                    to_send = yield item
                except GeneratorExit:
                    token = _attach(ctx)
                    try:
                        gen.close()
                    finally:
                        _detach(token)
                    raise
                except BaseException as exc:  # thrown in by the consumer: forward it
                    to_send, to_throw = None, exc
        except GeneratorExit:  # closed or abandoned by the consumer: a normal end
            op.succeed(inst, span, ctx, _MISSING, _perf() - start, count)
            raise
        except BaseException as exc:
            op.fail(inst, span, ctx, exc, _perf() - start)
            raise
        op.succeed(inst, span, ctx, result, _perf() - start, count)
        return result

    return wrapper


def _wrap_async_generator_function(op: _Op, func: Callable[..., Any]) -> Callable[..., Any]:
    span_name = op.span_name
    attributes = op.span_attributes
    start_work = op.start_work
    scoped = op.scope is not None

    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        # There is no ``yield from`` for async generators: one loop forwards
        # asend/athrow/aclose, with or without a span (span is None: no SDK).
        inst = _current()
        span: Span | None = None
        ctx: Any = None
        if inst is not None:
            try:
                span = inst.tracer.start_span(span_name, kind=_INTERNAL, attributes=attributes)
                if start_work and span.is_recording():
                    op.start(span, args, kwargs)
                ctx = _set_span(span)
                if scoped:
                    ctx = op.enter_scope(ctx)
            except Exception:  # pragma: no cover - defensive: never break the host program
                _log.debug("otel_agentkit: could not start %s", span_name, exc_info=True)
                inst = span = ctx = None
        start = _perf()
        count = 0
        try:
            agen = func(*args, **kwargs)
            to_send: Any = None
            to_throw: BaseException | None = None
            while True:
                token = None if ctx is None else _attach(ctx)
                try:
                    if to_throw is None:
                        item = await agen.asend(to_send)
                    else:
                        item, to_throw = await agen.athrow(to_throw), None
                except StopAsyncIteration:
                    break
                finally:
                    if token is not None:
                        _detach(token)
                count += 1
                try:
                    to_send = yield item
                except GeneratorExit:
                    token = None if ctx is None else _attach(ctx)
                    try:
                        await agen.aclose()
                    finally:
                        if token is not None:
                            _detach(token)
                    raise
                except BaseException as exc:  # thrown in by the consumer: forward it
                    to_send, to_throw = None, exc
        except GeneratorExit:
            if inst is not None and span is not None:
                op.succeed(inst, span, ctx, _MISSING, _perf() - start, count)
            raise
        except BaseException as exc:
            if inst is not None and span is not None:
                op.fail(inst, span, ctx, exc, _perf() - start)
            raise
        if inst is not None and span is not None:
            op.succeed(inst, span, ctx, _MISSING, _perf() - start, count)

    return wrapper


class _Decorator(Protocol):
    @overload
    def __call__(self, func: classmethod[T, P, R], /) -> classmethod[T, P, R]: ...
    @overload
    def __call__(self, func: staticmethod[P, R], /) -> staticmethod[P, R]: ...
    @overload
    def __call__(self, func: Callable[P, R], /) -> Callable[P, R]: ...


def _decorate(decorator: str, func: Any, make_op: Callable[[Callable[..., Any], str], _Op]) -> Any:
    if isinstance(func, (classmethod, staticmethod)):
        return type(func)(_decorate(decorator, func.__func__, make_op))
    if not callable(func):
        raise TypeError(f"@{decorator} expects a function or method, got {type(func).__name__}")
    name = getattr(func, "__name__", None) or type(func).__name__
    op = make_op(func, name)
    if inspect.isasyncgenfunction(func):
        wrapper = _wrap_async_generator_function(op, func)
    elif inspect.isgeneratorfunction(func):
        wrapper = _wrap_generator_function(op, func)
    elif inspect.iscoroutinefunction(func):
        wrapper = _wrap_coroutine_function(op, func)
    else:
        wrapper = _wrap_function(op, func)
    try:
        functools.update_wrapper(wrapper, func)
    except Exception:  # pragma: no cover - callables without the usual attributes
        wrapper.__wrapped__ = func  # type: ignore[attr-defined]
    return wrapper


def _apply(decorator: str, func: Any, make_op: Callable[[Callable[..., Any], str], _Op]) -> Any:
    """Bare use (``@traced_x``) decorates ``func``; otherwise return the decorator."""
    if func is None:
        return functools.partial(_decorate, decorator, make_op=make_op)
    return _decorate(decorator, func, make_op)


def _check_name(decorator: str, name: object) -> None:
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"@{decorator}: name must be a non-empty string, got {name!r}")


# ---------------------------------------------------------------------------
# Public decorators
# ---------------------------------------------------------------------------


@overload
def traced_tool(func: classmethod[T, P, R], /) -> classmethod[T, P, R]: ...
@overload
def traced_tool(func: staticmethod[P, R], /) -> staticmethod[P, R]: ...
@overload
def traced_tool(func: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def traced_tool(
    func: str | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    tool_type: str = semconv.TOOL_TYPE_FUNCTION,
    call_id_arg: str | None = None,
    capture_content: bool | None = None,
) -> _Decorator: ...
def traced_tool(
    func: Any = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    tool_type: str = semconv.TOOL_TYPE_FUNCTION,
    call_id_arg: str | None = None,
    capture_content: bool | None = None,
) -> Any:
    """Trace a tool: span ``execute_tool {name}`` and ``gen_ai.execute_tool.duration``.

    Use bare (``@traced_tool``), with a name (``@traced_tool("web_search")``)
    or with keywords. ``name`` defaults to the function's ``__name__``;
    ``description`` becomes ``gen_ai.tool.description``; ``tool_type`` is
    ``gen_ai.tool.type`` (``function``, ``extension`` or ``datastore``).
    ``call_id_arg`` names the parameter that carries the model's tool-call id
    (recorded as ``gen_ai.tool.call.id``). ``capture_content`` records the
    arguments and result as JSON (``gen_ai.tool.call.arguments`` /
    ``.result``): ``True``/``False`` force it on/off for this tool, ``None``
    follows ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``.
    """
    if isinstance(func, str):
        name, func = func, None
    _check_name("traced_tool", name)

    def make_op(fn: Callable[..., Any], default_name: str) -> _Op:
        signature = _signature(fn)
        return _ToolOp(
            name or default_name,
            description=description,
            tool_type=tool_type,
            call_id_ref=_ArgRef.find(
                signature, call_id_arg, required=f"@traced_tool(call_id_arg={call_id_arg!r})"
            ),
            capture_content=capture_content,
            signature=signature,
        )

    return _apply("traced_tool", func, make_op)


@overload
def traced_agent(func: classmethod[T, P, R], /) -> classmethod[T, P, R]: ...
@overload
def traced_agent(func: staticmethod[P, R], /) -> staticmethod[P, R]: ...
@overload
def traced_agent(func: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def traced_agent(
    func: str | None = None,
    /,
    *,
    name: str | None = None,
    agent_id: str | None = None,
    description: str | None = None,
    conversation_id_arg: str | None = None,
) -> _Decorator: ...
def traced_agent(
    func: Any = None,
    /,
    *,
    name: str | None = None,
    agent_id: str | None = None,
    description: str | None = None,
    conversation_id_arg: str | None = None,
) -> Any:
    """Trace an agent run: span ``invoke_agent {name}`` and ``gen_ai.invoke_agent.duration``.

    ``name`` (default: the function's ``__name__``) is ``gen_ai.agent.name``;
    ``agent_id`` and ``description`` become ``gen_ai.agent.id`` /
    ``gen_ai.agent.description``. ``conversation_id_arg`` names the parameter
    whose value is recorded as ``gen_ai.conversation.id`` (spans only).
    """
    if isinstance(func, str):
        name, func = func, None
    _check_name("traced_agent", name)

    def make_op(fn: Callable[..., Any], default_name: str) -> _Op:
        return _AgentOp(
            name or default_name,
            agent_id=agent_id,
            description=description,
            conversation_id_ref=_ArgRef.find(
                _signature(fn),
                conversation_id_arg,
                required=f"@traced_agent(conversation_id_arg={conversation_id_arg!r})",
            ),
        )

    return _apply("traced_agent", func, make_op)


@overload
def traced_workflow(func: classmethod[T, P, R], /) -> classmethod[T, P, R]: ...
@overload
def traced_workflow(func: staticmethod[P, R], /) -> staticmethod[P, R]: ...
@overload
def traced_workflow(func: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def traced_workflow(func: str | None = None, /, *, name: str | None = None) -> _Decorator: ...
def traced_workflow(func: Any = None, /, *, name: str | None = None) -> Any:
    """Trace a workflow: span ``invoke_workflow {name}`` and ``gen_ai.invoke_workflow.duration``.

    ``name`` (default: the function's ``__name__``) is ``gen_ai.workflow.name``.
    """
    if isinstance(func, str):
        name, func = func, None
    _check_name("traced_workflow", name)
    return _apply("traced_workflow", func, lambda fn, default: _WorkflowOp(name or default))


@overload
def traced_retrieval(func: classmethod[T, P, R], /) -> classmethod[T, P, R]: ...
@overload
def traced_retrieval(func: staticmethod[P, R], /) -> staticmethod[P, R]: ...
@overload
def traced_retrieval(func: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def traced_retrieval(
    func: str | None = None,
    /,
    *,
    data_source: str | None = None,
    top_k: int | None = None,
    top_k_arg: str | None = "top_k",
) -> _Decorator: ...
def traced_retrieval(
    func: Any = None,
    /,
    *,
    data_source: str | None = None,
    top_k: int | None = None,
    top_k_arg: str | None = "top_k",
) -> Any:
    """Trace a retrieval step: span ``retrieval {data_source}`` (``retrieval`` without one).

    ``data_source`` is ``gen_ai.data_source.id``. ``gen_ai.request.top_k``
    comes from ``top_k``, or else from the call's argument named ``top_k_arg``
    (``"top_k"`` by default, ignored when the function has no such parameter).
    The number of documents returned (``len()`` of a list-like result, or the
    items a generator yielded) is ``agentkit.retrieval.returned_documents``.
    """
    if isinstance(func, str):
        data_source, func = func, None
    _check_name("traced_retrieval", data_source)

    def make_op(fn: Callable[..., Any], default_name: str) -> _Op:
        ref = None
        if top_k is None:
            ref = _ArgRef.find(_signature(fn), top_k_arg, required=None)
        return _RetrievalOp(data_source, top_k=top_k, top_k_ref=ref)

    return _apply("traced_retrieval", func, make_op)


@overload
def traced_guardrail(func: classmethod[T, P, R], /) -> classmethod[T, P, R]: ...
@overload
def traced_guardrail(func: staticmethod[P, R], /) -> staticmethod[P, R]: ...
@overload
def traced_guardrail(func: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def traced_guardrail(func: str | None = None, /, *, name: str | None = None) -> _Decorator: ...
def traced_guardrail(func: Any = None, /, *, name: str | None = None) -> Any:
    """Trace a guardrail: span ``apply_guardrail {name}`` with ``agentkit.guardrail.*``.

    The function decides by returning a :class:`GuardrailDecision` or raising
    :class:`GuardrailViolation` (recorded as ``block``); returning anything
    else counts as ``allow``. ``block`` and ``modify`` add one to
    ``agentkit.guardrail.violations`` (by guardrail name and decision). A
    violation is the guardrail working, so its span status stays UNSET; any
    other exception is recorded as an error.
    """
    if isinstance(func, str):
        name, func = func, None
    _check_name("traced_guardrail", name)
    return _apply("traced_guardrail", func, lambda fn, default: _GuardrailOp(name or default))


# ---------------------------------------------------------------------------
# Context-manager forms
# ---------------------------------------------------------------------------


class TracedOperation:
    """A span opened by :func:`tool_span`, :func:`agent_span`, :func:`workflow_span`,
    :func:`retrieval_span` or :func:`guardrail_span`; use it in a ``with`` (or
    ``async with``) block.

    The block's body is the operation: the span is current inside it, ends
    when the block exits, and records an escaping exception like the
    decorators do (the exception still propagates). ``span`` is the
    OpenTelemetry span (a non-recording one when no SDK is installed).

    Where an operation's start and end are two separate events (a
    framework's callbacks), call :meth:`start` and :meth:`end` instead of
    using ``with``: the span is then made current only where you attach its
    context yourself.
    """

    __slots__ = (
        "_ctx",
        "_inst",
        "_op",
        "_result",
        "_start",
        "_token",
        "_used",
        "context",
        "count",
        "span",
    )

    def __init__(self, op: _Op) -> None:
        self._op = op
        self._inst: Instruments | None = None
        self._ctx: Context | None = None
        self._token: Any = None
        self._start = 0.0
        self._result: object = _MISSING
        self._used = False
        self.count: int | None = None
        self.span: Span = INVALID_SPAN
        #: The span's context once started (its parent's, plus the span); None before,
        #: or when nothing records.
        self.context: Context | None = None

    def start(self, parent: Context | None = None, *, start_time: int | None = None) -> None:
        """Start the span now, a child of ``parent``'s span (default: the current one),
        without making it current; :attr:`context` then holds its context.

        ``start_time`` (``time.time_ns()`` units) back-dates it, for an operation
        only known once it is over; the duration counts from it too.
        """
        if self._used:
            raise RuntimeError("a TracedOperation can be started only once; create a new one")
        self._used = True
        inst = _current()
        if inst is None:
            return
        try:
            op = self._op
            span = inst.tracer.start_span(
                op.span_name,
                parent,
                kind=_INTERNAL,
                attributes=op.span_attributes,
                start_time=start_time,
            )
            ctx = _set_span(span, parent)
            if op.scope is not None:
                ctx = op.enter_scope(ctx)
            self.context = self._ctx = ctx
            self.span = span
            self._inst = inst
        except Exception:  # pragma: no cover - defensive
            _log.debug("otel_agentkit: could not start %s", self._op.span_name, exc_info=True)
            return
        self._start = _perf()
        if start_time is not None:
            self._start -= max(0, time.time_ns() - start_time) / 1e9

    def end(self, exc: BaseException | None = None) -> None:
        """End the span (once; later calls do nothing): a success, or a failure with ``exc``."""
        inst, ctx = self._inst, self._ctx
        if inst is None or ctx is None:
            return
        self._inst = None
        duration = _perf() - self._start
        if exc is None:
            self._op.succeed(inst, self.span, ctx, self._result, duration, self.count)
        else:
            self._op.fail(inst, self.span, ctx, exc, duration)

    def end_with_error(self, error_type: str, description: str | None = None) -> None:
        """End the span as failed with ``error.type`` ``error_type``, for a failure that is
        reported without an exception (a framework's error record); once, like :meth:`end`."""
        inst, ctx = self._inst, self._ctx
        if inst is None or ctx is None:
            return
        self._inst = None
        duration = _perf() - self._start
        self._op.fail_as(inst, self.span, ctx, error_type, description or error_type, duration)

    def __enter__(self) -> TracedOperation:
        if self._used:
            raise RuntimeError("a TracedOperation can be entered only once; create a new one")
        self.start()
        if self.context is not None:
            self._token = _attach(self.context)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._inst is None:
            return
        try:
            _detach(self._token)
        except Exception:  # pragma: no cover - exited in another context
            _log.debug("otel_agentkit: could not detach %s", self._op.span_name, exc_info=True)
        self.end(exc)

    async def __aenter__(self) -> TracedOperation:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        """Set a span attribute (skipped when the span is not recording)."""
        if self.span.is_recording():
            self.span.set_attribute(key, value)

    def set_arguments(self, value: object) -> None:
        """Tools: the call's arguments, recorded as JSON when content capture is on."""
        if self.span.is_recording():
            try:
                self._op.on_arguments(self.span, value)
            except Exception:  # pragma: no cover - on_arguments never raises
                _log.debug("otel_agentkit: could not record arguments", exc_info=True)

    def set_result(self, value: object) -> None:
        """The operation's result, recorded at exit as the decorators would record a
        return value: tool result (content capture), document count, guardrail decision."""
        self._result = value

    def set_decision(self, decision: GuardrailDecision) -> None:
        """Guardrails: record ``decision`` when the block exits."""
        if not isinstance(decision, GuardrailDecision):
            raise TypeError(f"set_decision expects a GuardrailDecision, got {decision!r}")
        self._result = decision

    def set_returned_documents(self, count: int) -> None:
        """Retrievals: the number of documents returned."""
        self.count = count


def tool_span(
    name: str,
    *,
    description: str | None = None,
    tool_type: str = semconv.TOOL_TYPE_FUNCTION,
    call_id: str | None = None,
    arguments: object = _MISSING,
    capture_content: bool | None = None,
) -> TracedOperation:
    """``with tool_span("calculator", arguments={...}) as op: op.set_result(...)``.

    The context-manager form of :func:`traced_tool`; ``arguments`` and
    :meth:`TracedOperation.set_result` are recorded only when content capture is on.
    """
    _check_name("tool_span", name)
    op = _ToolOp(
        name,
        description=description,
        tool_type=tool_type,
        call_id=call_id,
        capture_content=capture_content,
    )
    if arguments is not _MISSING:
        return _WithArguments(op, arguments)
    return TracedOperation(op)


class _WithArguments(TracedOperation):
    __slots__ = ("_arguments",)

    def __init__(self, op: _Op, arguments: object) -> None:
        super().__init__(op)
        self._arguments = arguments

    def __enter__(self) -> TracedOperation:
        super().__enter__()
        self.set_arguments(self._arguments)
        return self


def agent_span(
    name: str,
    *,
    agent_id: str | None = None,
    description: str | None = None,
    conversation_id: str | None = None,
) -> TracedOperation:
    """``with agent_span("planner", conversation_id=cid):`` -- the form of :func:`traced_agent`."""
    _check_name("agent_span", name)
    return TracedOperation(
        _AgentOp(name, agent_id=agent_id, description=description, conversation_id=conversation_id)
    )


def workflow_span(name: str) -> TracedOperation:
    """``with workflow_span("ingest"):`` -- the context-manager form of :func:`traced_workflow`."""
    _check_name("workflow_span", name)
    return TracedOperation(_WorkflowOp(name))


def retrieval_span(data_source: str | None = None, *, top_k: int | None = None) -> TracedOperation:
    """``with retrieval_span("kb", top_k=5) as op: op.set_result(docs)`` -- see
    :func:`traced_retrieval`."""
    _check_name("retrieval_span", data_source)
    return TracedOperation(_RetrievalOp(data_source, top_k=top_k))


def guardrail_span(name: str) -> TracedOperation:
    """``with guardrail_span("pii") as g: g.set_decision(GuardrailDecision.block("ssn"))``.

    Raising :class:`GuardrailViolation` inside the block records ``block``;
    leaving without a decision records ``allow``.
    """
    _check_name("guardrail_span", name)
    return TracedOperation(_GuardrailOp(name))
