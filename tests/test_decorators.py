"""traced_* decorators: every decorator x every flavor x success/failure, via the public fixture."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import otel_agentkit.decorators as dec
from otel_agentkit import _instruments, semconv
from otel_agentkit.testing import TelemetryCapture
from tests.decorators_helpers import FLAVORS, Errors, drive, last_frame_name, make_callable


@dataclass
class Kind:
    """What one decorator must produce."""

    decorator: Callable[[Callable[..., Any]], Callable[..., Any]]
    span_name: str
    span_attributes: dict[str, Any]
    metric: str | None
    metric_attributes: dict[str, Any] = field(default_factory=dict)
    success_attributes: dict[str, Any] = field(default_factory=dict)


KINDS = {
    "tool": Kind(
        dec.traced_tool(name="lookup", description="Looks things up"),
        "execute_tool lookup",
        {
            semconv.GEN_AI_OPERATION_NAME: semconv.OP_EXECUTE_TOOL,
            semconv.GEN_AI_TOOL_NAME: "lookup",
            semconv.GEN_AI_TOOL_TYPE: semconv.TOOL_TYPE_FUNCTION,
            semconv.GEN_AI_TOOL_DESCRIPTION: "Looks things up",
        },
        semconv.GEN_AI_EXECUTE_TOOL_DURATION,
        {
            semconv.GEN_AI_OPERATION_NAME: semconv.OP_EXECUTE_TOOL,
            semconv.GEN_AI_TOOL_NAME: "lookup",
            semconv.GEN_AI_TOOL_TYPE: semconv.TOOL_TYPE_FUNCTION,
        },
    ),
    "agent": Kind(
        dec.traced_agent(name="planner", agent_id="agent-7", description="Plans"),
        "invoke_agent planner",
        {
            semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_AGENT,
            semconv.GEN_AI_AGENT_NAME: "planner",
            semconv.GEN_AI_AGENT_ID: "agent-7",
            semconv.GEN_AI_AGENT_DESCRIPTION: "Plans",
        },
        semconv.GEN_AI_INVOKE_AGENT_DURATION,
        {
            semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_AGENT,
            semconv.GEN_AI_AGENT_NAME: "planner",
        },
    ),
    "workflow": Kind(
        dec.traced_workflow(name="ingest"),
        "invoke_workflow ingest",
        {
            semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_WORKFLOW,
            semconv.GEN_AI_WORKFLOW_NAME: "ingest",
        },
        semconv.GEN_AI_INVOKE_WORKFLOW_DURATION,
        {
            semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_WORKFLOW,
            semconv.GEN_AI_WORKFLOW_NAME: "ingest",
        },
    ),
    "retrieval": Kind(
        dec.traced_retrieval(data_source="kb"),
        "retrieval kb",
        {
            semconv.GEN_AI_OPERATION_NAME: semconv.OP_RETRIEVAL,
            semconv.GEN_AI_DATA_SOURCE_ID: "kb",
        },
        None,
        success_attributes={semconv.AGENTKIT_RETRIEVAL_RETURNED_DOCUMENTS: 2},
    ),
    "guardrail": Kind(
        dec.traced_guardrail(name="pii"),
        "apply_guardrail pii",
        {
            semconv.GEN_AI_OPERATION_NAME: semconv.OP_APPLY_GUARDRAIL,
            semconv.AGENTKIT_GUARDRAIL_NAME: "pii",
        },
        None,
        success_attributes={semconv.AGENTKIT_GUARDRAIL_DECISION: semconv.GUARDRAIL_ALLOW},
    ),
}

DURATION_METRICS = (
    semconv.GEN_AI_EXECUTE_TOOL_DURATION,
    semconv.GEN_AI_INVOKE_AGENT_DURATION,
    semconv.GEN_AI_INVOKE_WORKFLOW_DURATION,
)


def assert_metric_attributes_allowed(capture: TelemetryCapture) -> None:
    for name, metric in capture.metrics().items():
        for point in metric.data.data_points:
            extra = set(point.attributes or {}) - semconv.METRIC_ATTRIBUTE_ALLOWLIST
            assert not extra, f"{name} carries non-allow-listed attributes {extra}"


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("kind_name", sorted(KINDS))
def test_success(agentkit_telemetry: TelemetryCapture, kind_name: str, flavor: str) -> None:
    kind = KINDS[kind_name]
    fn = kind.decorator(make_callable(flavor, fail=False, raised=[]))
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("parent") as parent:
        result = drive(flavor, fn, "x")
    assert result == ["x", "x"]

    span = agentkit_telemetry.span(kind.span_name)
    assert span.kind is SpanKind.INTERNAL
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {**kind.span_attributes, **kind.success_attributes}
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.context.trace_id == parent.get_span_context().trace_id
    assert span.events == ()

    for metric in DURATION_METRICS:
        points = agentkit_telemetry.metric_points(metric)
        if metric != kind.metric:
            assert points == [], f"{kind_name} must not record {metric}"
            continue
        (point,) = points
        assert dict(point.attributes) == kind.metric_attributes
        assert point.count == 1
        assert 0 < point.sum < 5
    assert agentkit_telemetry.metric_points(semconv.AGENTKIT_GUARDRAIL_VIOLATIONS) == []
    assert_metric_attributes_allowed(agentkit_telemetry)


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("kind_name", sorted(KINDS))
def test_failure(agentkit_telemetry: TelemetryCapture, kind_name: str, flavor: str) -> None:
    kind = KINDS[kind_name]
    raised: list[BaseException] = []
    original = make_callable(flavor, fail=True, raised=raised)
    fn = kind.decorator(original)
    tracer = trace.get_tracer("test")
    with (
        tracer.start_as_current_span("parent") as parent,
        pytest.raises(Errors.Boom) as info,
    ):
        drive(flavor, fn, "x")

    # Same object, traceback still reaching the original raise, nothing chained.
    (exc,) = raised
    assert info.value is exc
    assert last_frame_name(exc.__traceback__) == original.__code__.co_name
    assert exc.__context__ is None
    assert exc.__cause__ is None

    span = agentkit_telemetry.span(kind.span_name)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "Errors.Boom: bad x"
    assert span.attributes is not None
    assert span.attributes[semconv.ERROR_TYPE] == "Errors.Boom"
    for key, value in kind.span_attributes.items():
        assert span.attributes[key] == value
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.message"] == "bad x"
    assert "Boom" in str(event.attributes["exception.type"])

    if kind.metric is not None:
        (point,) = agentkit_telemetry.metric_points(kind.metric)
        assert dict(point.attributes) == {
            **kind.metric_attributes,
            semconv.ERROR_TYPE: "Errors.Boom",
        }
        assert point.count == 1
    assert agentkit_telemetry.metric_points(semconv.AGENTKIT_GUARDRAIL_VIOLATIONS) == []
    assert_metric_attributes_allowed(agentkit_telemetry)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_nested_calls_form_one_trace(agentkit_telemetry: TelemetryCapture, flavor: str) -> None:
    """A decorated tool called from inside a decorated agent of each flavor is its child."""

    @dec.traced_tool
    def inner(x: str) -> str:
        return x

    if flavor == "sync":

        @dec.traced_agent(name="outer")
        def outer(x: str) -> list[str]:
            return [inner(x)]

    elif flavor == "async":

        @dec.traced_agent(name="outer")
        async def outer(x: str) -> list[str]:
            return [inner(x)]

    elif flavor == "generator":

        @dec.traced_agent(name="outer")
        def outer(x: str) -> Any:
            yield inner(x)

    else:

        @dec.traced_agent(name="outer")
        async def outer(x: str) -> Any:
            yield inner(x)

    assert drive(flavor, outer, "v") == ["v"]
    tool = agentkit_telemetry.span("execute_tool inner")
    agent = agentkit_telemetry.span("invoke_agent outer")
    assert agent.parent is None
    assert tool.parent is not None
    assert tool.parent.span_id == agent.context.span_id
    assert tool.context.trace_id == agent.context.trace_id


def test_bare_and_positional_name_forms(agentkit_telemetry: TelemetryCapture) -> None:
    @dec.traced_tool
    def bare() -> int:
        return 1

    @dec.traced_tool("named")
    def positional() -> int:
        return 2

    @dec.traced_workflow
    def flow() -> int:
        return 3

    @dec.traced_retrieval
    def fetch() -> list[int]:
        return [1]

    assert (bare(), positional(), flow(), fetch()) == (1, 2, 3, [1])
    names = {s.name for s in agentkit_telemetry.spans()}
    assert names == {"execute_tool bare", "execute_tool named", "invoke_workflow flow", "retrieval"}
    span = agentkit_telemetry.span("retrieval")
    assert semconv.GEN_AI_DATA_SOURCE_ID not in (span.attributes or {})


def test_tool_call_id_and_type_from_arguments(agentkit_telemetry: TelemetryCapture) -> None:
    @dec.traced_tool(tool_type=semconv.TOOL_TYPE_EXTENSION, call_id_arg="call_id")
    def run(query: str, call_id: str | None = None) -> str:
        return query

    run("a", call_id="call_1")
    run("b", "call_2")
    run("c")
    ids = [s.attributes.get(semconv.GEN_AI_TOOL_CALL_ID) for s in agentkit_telemetry.spans()]
    assert ids == ["call_1", "call_2", None]
    (point,) = agentkit_telemetry.metric_points(semconv.GEN_AI_EXECUTE_TOOL_DURATION)
    assert point.attributes[semconv.GEN_AI_TOOL_TYPE] == semconv.TOOL_TYPE_EXTENSION
    assert point.count == 3


def test_agent_conversation_id_from_argument(agentkit_telemetry: TelemetryCapture) -> None:
    @dec.traced_agent(name="chat", conversation_id_arg="conversation")
    async def chat(message: str, conversation: str) -> str:
        return message

    asyncio.run(chat("hi", conversation="conv-42"))
    span = agentkit_telemetry.span("invoke_agent chat")
    assert span.attributes is not None
    assert span.attributes[semconv.GEN_AI_CONVERSATION_ID] == "conv-42"
    # never on metrics
    (point,) = agentkit_telemetry.metric_points(semconv.GEN_AI_INVOKE_AGENT_DURATION)
    assert semconv.GEN_AI_CONVERSATION_ID not in point.attributes


def test_missing_argument_names_fail_at_decoration() -> None:
    with pytest.raises(TypeError, match="no parameter named 'call_id'"):

        @dec.traced_tool(call_id_arg="call_id")
        def tool(query: str) -> str:
            return query

    with pytest.raises(TypeError, match="conversation_id_arg='cid'"):

        @dec.traced_agent(conversation_id_arg="cid")
        def agent() -> None:
            pass


@pytest.mark.parametrize("bad", ["", 3])
def test_bad_names_are_rejected(bad: Any) -> None:
    with pytest.raises(TypeError, match="non-empty string"):
        dec.traced_tool(name=bad)
    with pytest.raises(TypeError, match="non-empty string"):
        dec.tool_span(bad)


def test_decorating_a_non_callable_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="@traced_agent expects a function"):
        dec.traced_agent(name="x")(42)  # type: ignore[call-overload]


def test_retrieval_top_k_and_document_count(agentkit_telemetry: TelemetryCapture) -> None:
    @dec.traced_retrieval(data_source="docs")
    def search(query: str, top_k: int = 4) -> list[str]:
        return ["d"] * top_k

    @dec.traced_retrieval(data_source="fixed", top_k=2)
    def fixed(query: str) -> str:
        return "not a document list"

    search("q")
    search("q", 3)
    search("q", top_k=1)
    fixed("q")
    found = [
        (
            s.attributes.get(semconv.GEN_AI_REQUEST_TOP_K),
            s.attributes.get(semconv.AGENTKIT_RETRIEVAL_RETURNED_DOCUMENTS),
        )
        for s in agentkit_telemetry.spans()
    ]
    assert found == [(4, 4), (3, 3), (1, 1), (2, None)]


# -- guardrails ---------------------------------------------------------------------


def test_guardrail_decisions_and_violation_counter(agentkit_telemetry: TelemetryCapture) -> None:
    @dec.traced_guardrail(name="pii")
    def check(text: str) -> dec.GuardrailDecision:
        if "ssn" in text:
            raise dec.GuardrailViolation("found an ssn", guardrail="pii")
        if "email" in text:
            return dec.GuardrailDecision.modify(text.replace("email", "***"), "masked email")
        return dec.GuardrailDecision.allow()

    assert check("hello").action == "allow"
    assert check("my email").value == "my ***"
    with pytest.raises(dec.GuardrailViolation) as info:
        check("my ssn")
    assert info.value.reason == "found an ssn"

    allow, modify, block = agentkit_telemetry.spans_named("apply_guardrail pii")
    assert allow.attributes[semconv.AGENTKIT_GUARDRAIL_DECISION] == "allow"
    assert semconv.AGENTKIT_GUARDRAIL_REASON not in allow.attributes
    assert modify.attributes[semconv.AGENTKIT_GUARDRAIL_DECISION] == "modify"
    assert modify.attributes[semconv.AGENTKIT_GUARDRAIL_REASON] == "masked email"
    assert block.attributes[semconv.AGENTKIT_GUARDRAIL_DECISION] == "block"
    assert block.attributes[semconv.AGENTKIT_GUARDRAIL_REASON] == "found an ssn"
    # A violation is the guardrail working: recorded, but not an error.
    for span in (allow, modify, block):
        assert span.status.status_code is StatusCode.UNSET
        assert semconv.ERROR_TYPE not in span.attributes
    assert [e.name for e in block.events] == ["exception"]

    points = agentkit_telemetry.metric_points(semconv.AGENTKIT_GUARDRAIL_VIOLATIONS)
    counts = {p.attributes[semconv.AGENTKIT_GUARDRAIL_DECISION]: p.value for p in points}
    assert counts == {"modify": 1, "block": 1}
    for point in points:
        assert set(point.attributes) == {
            semconv.AGENTKIT_GUARDRAIL_NAME,
            semconv.AGENTKIT_GUARDRAIL_DECISION,
        }
        assert point.attributes[semconv.AGENTKIT_GUARDRAIL_NAME] == "pii"


def test_guardrail_violation_can_carry_a_modify_decision(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    @dec.traced_guardrail
    async def rewrite(text: str) -> None:
        raise dec.GuardrailViolation(
            "rewritten", decision=dec.GuardrailDecision.modify("clean", "rewritten")
        )

    with pytest.raises(dec.GuardrailViolation):
        asyncio.run(rewrite("dirty"))
    span = agentkit_telemetry.span("apply_guardrail rewrite")
    assert span.attributes[semconv.AGENTKIT_GUARDRAIL_DECISION] == "modify"
    (point,) = agentkit_telemetry.metric_points(semconv.AGENTKIT_GUARDRAIL_VIOLATIONS)
    assert point.attributes[semconv.AGENTKIT_GUARDRAIL_DECISION] == "modify"


def test_guardrail_decision_validates_action() -> None:
    with pytest.raises(ValueError, match="must be one of"):
        dec.GuardrailDecision("maybe")  # type: ignore[arg-type]
    assert dec.GuardrailDecision.block("x").is_violation
    assert not dec.GuardrailDecision.allow().is_violation


# -- methods and signatures -----------------------------------------------------------


class Toolbox:
    """Methods decorated in every order."""

    factor = 10

    @dec.traced_tool
    def instance(self, x: int) -> int:
        return x * self.factor

    @dec.traced_tool
    @classmethod
    def over_classmethod(cls, x: int) -> int:
        return x * cls.factor

    @classmethod
    @dec.traced_tool
    def under_classmethod(cls, x: int) -> int:
        return x * cls.factor

    @dec.traced_tool
    @staticmethod
    def over_staticmethod(x: int) -> int:
        return x + 1

    @staticmethod
    @dec.traced_tool
    def under_staticmethod(x: int) -> int:
        return x + 2

    @dec.traced_agent
    async def async_method(self, x: int) -> int:
        return x - 1


def test_methods(agentkit_telemetry: TelemetryCapture) -> None:
    box = Toolbox()
    assert box.instance(2) == 20
    assert Toolbox.over_classmethod(3) == 30
    assert box.under_classmethod(4) == 40
    assert Toolbox.over_staticmethod(1) == 2
    assert box.under_staticmethod(1) == 3
    assert asyncio.run(box.async_method(5)) == 4
    names = [s.name for s in agentkit_telemetry.spans()]
    assert names == [
        "execute_tool instance",
        "execute_tool over_classmethod",
        "execute_tool under_classmethod",
        "execute_tool over_staticmethod",
        "execute_tool under_staticmethod",
        "invoke_agent async_method",
    ]
    assert isinstance(Toolbox.__dict__["over_classmethod"], classmethod)
    assert isinstance(Toolbox.__dict__["over_staticmethod"], staticmethod)


def _original(query: str, *, limit: int = 5, **extra: Any) -> list[str]:
    """Search for things."""
    return [query] * limit


async def _original_async(query: str, limit: int = 5) -> list[str]:
    """Async search."""
    return [query]


def _original_gen(query: str) -> Any:
    """Generator search."""
    yield query


async def _original_agen(query: str) -> Any:
    """Async generator search."""
    yield query


@pytest.mark.parametrize(
    "decorator",
    [
        dec.traced_tool,
        dec.traced_agent,
        dec.traced_workflow,
        dec.traced_retrieval,
        dec.traced_guardrail,
    ],
    ids=lambda d: d.__name__,
)
@pytest.mark.parametrize("original", [_original, _original_async, _original_gen, _original_agen])
def test_signature_name_doc_and_kind_preserved(
    decorator: Callable[[Callable[..., Any]], Callable[..., Any]], original: Callable[..., Any]
) -> None:
    wrapped = decorator(original)
    assert wrapped is not original
    assert wrapped.__name__ == original.__name__
    assert wrapped.__qualname__ == original.__qualname__
    assert wrapped.__doc__ == original.__doc__
    assert wrapped.__module__ == original.__module__
    assert wrapped.__wrapped__ is original  # type: ignore[attr-defined]
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert inspect.iscoroutinefunction(wrapped) == inspect.iscoroutinefunction(original)
    assert inspect.isgeneratorfunction(wrapped) == inspect.isgeneratorfunction(original)
    assert inspect.isasyncgenfunction(wrapped) == inspect.isasyncgenfunction(original)


# -- cost when nothing records -----------------------------------------------------------


class CountsSerialisation:
    """An argument that notices every attempt to serialise or repr it."""

    calls = 0

    def model_dump(self, mode: str = "python") -> dict[str, int]:
        CountsSerialisation.calls += 1
        return {}

    def __repr__(self) -> str:
        CountsSerialisation.calls += 1
        return "CountsSerialisation()"

    def __len__(self) -> int:
        CountsSerialisation.calls += 1
        return 0


def test_no_sdk_calls_straight_through() -> None:
    CountsSerialisation.calls = 0

    @dec.traced_tool(capture_content=True, call_id_arg="arg")
    def tool(arg: Any) -> Any:
        return arg

    @dec.traced_retrieval
    def fetch(arg: Any) -> Any:
        return arg

    value = CountsSerialisation()
    assert tool(value) is value
    assert fetch(value) is value
    assert list(dec.traced_tool(_original_gen)("q")) == ["q"]
    assert _instruments.current() is None
    assert trace.get_current_span() is trace.INVALID_SPAN
    assert CountsSerialisation.calls == 0


def test_unsampled_spans_do_no_attribute_work() -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from otel_agentkit.testing import capture_telemetry

    CountsSerialisation.calls = 0

    @dec.traced_tool(capture_content=True, call_id_arg="arg")
    def tool(arg: Any) -> Any:
        return arg

    @dec.traced_retrieval
    def fetch(arg: Any) -> Any:
        return arg

    with capture_telemetry(sampler=ALWAYS_OFF) as capture:
        value = CountsSerialisation()
        assert tool(value) is value
        assert fetch(value) is value
        assert capture.spans() == []
        # Metrics do not depend on sampling.
        (point,) = capture.metric_points(semconv.GEN_AI_EXECUTE_TOOL_DURATION)
        assert point.count == 1
    assert CountsSerialisation.calls == 0


def test_internal_errors_never_reach_the_caller(
    agentkit_telemetry: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulates a bug inside our own recording code (nothing real can fail on
    # demand here); the user's call must still return its result.
    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("bug in otel_agentkit")

    monkeypatch.setattr(dec._content, "to_json", broken)

    @dec.traced_tool(capture_content=True)
    def tool(x: int) -> int:
        return x + 1

    assert tool(1) == 2
    span = agentkit_telemetry.span("execute_tool tool")
    assert span.end_time is not None
    (point,) = agentkit_telemetry.metric_points(semconv.GEN_AI_EXECUTE_TOOL_DURATION)
    assert point.count == 1


def test_decorator_modules_import_only_the_api() -> None:
    """decorators, metrics and _content must not pull in the SDK or exporters."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import otel_agentkit.decorators, otel_agentkit.metrics, otel_agentkit._content\n"
        "heavy = ('opentelemetry.sdk', 'opentelemetry.exporter', 'prometheus_client', 'grpc')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_cancellation_is_recorded_and_propagates(agentkit_telemetry: TelemetryCapture) -> None:
    started = asyncio.Event()

    @dec.traced_tool
    async def slow() -> None:
        started.set()
        await asyncio.sleep(60)

    async def main() -> None:
        task = asyncio.create_task(slow())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    span = agentkit_telemetry.span("execute_tool slow")
    assert span.attributes[semconv.ERROR_TYPE] == "CancelledError"
    (point,) = agentkit_telemetry.metric_points(semconv.GEN_AI_EXECUTE_TOOL_DURATION)
    assert point.attributes[semconv.ERROR_TYPE] == "CancelledError"
