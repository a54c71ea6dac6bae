"""Generator and async-generator spans: whole iteration, ended exactly once, context per step."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from otel_agentkit import semconv
from otel_agentkit.decorators import traced_retrieval, traced_tool
from otel_agentkit.testing import TelemetryCapture

SPAN = "execute_tool stream"


@pytest.fixture(autouse=True)
def _no_double_end(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The SDK warns when a span is ended twice; no test here may trigger that."""
    caplog.set_level(logging.WARNING, logger="opentelemetry")
    yield
    ended_twice = [r for r in caplog.records if "ended span" in r.getMessage()]
    assert ended_twice == []


class Probe:
    """Records what a generator body sees: its current span, whether cleanup ran."""

    def __init__(self) -> None:
        self.spans_seen: list[Any] = []
        self.cleaned_up = False
        self.received: list[Any] = []


def make_sync(probe: Probe, items: int = 3) -> Any:
    @traced_tool(name="stream")
    def stream() -> Iterator[int]:
        try:
            for i in range(items):
                probe.spans_seen.append(trace.get_current_span())
                received = yield i
                probe.received.append(received)
        finally:
            probe.cleaned_up = True
            probe.spans_seen.append(trace.get_current_span())
        return items

    return stream


def make_async(probe: Probe, items: int = 3) -> Any:
    @traced_tool(name="stream")
    async def stream() -> AsyncIterator[int]:
        try:
            for i in range(items):
                probe.spans_seen.append(trace.get_current_span())
                await asyncio.sleep(0)
                received = yield i
                probe.received.append(received)
        finally:
            probe.cleaned_up = True
            probe.spans_seen.append(trace.get_current_span())

    return stream


def the_span(capture: TelemetryCapture) -> Any:
    (span,) = capture.spans_named(SPAN)
    return span


def assert_body_ran_in_span(probe: Probe, capture: TelemetryCapture) -> None:
    span_id = the_span(capture).context.span_id
    assert probe.spans_seen
    assert all(s.get_span_context().span_id == span_id for s in probe.spans_seen)


# -- sync -------------------------------------------------------------------------------


def test_span_covers_iteration_not_creation(agentkit_telemetry: TelemetryCapture) -> None:
    probe = Probe()
    gen = make_sync(probe)()
    assert agentkit_telemetry.spans() == []
    assert next(gen) == 0
    assert agentkit_telemetry.spans() == []  # still open while iterating
    assert list(gen) == [1, 2]
    span = the_span(agentkit_telemetry)
    assert span.status.status_code is StatusCode.UNSET
    assert probe.cleaned_up
    assert_body_ran_in_span(probe, agentkit_telemetry)
    (point,) = agentkit_telemetry.metric_points(semconv.GEN_AI_EXECUTE_TOOL_DURATION)
    assert point.count == 1


def test_span_is_not_current_in_the_consumer_between_items(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    probe = Probe()
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("consumer") as consumer:
        for _ in make_sync(probe)():
            assert trace.get_current_span() is consumer
    assert the_span(agentkit_telemetry).parent.span_id == consumer.get_span_context().span_id


def test_break_ends_span_once(agentkit_telemetry: TelemetryCapture) -> None:
    probe = Probe()
    gen = make_sync(probe)()
    for item in gen:
        if item == 1:
            break
    assert agentkit_telemetry.spans() == []  # the consumer still holds the generator
    del gen
    gc.collect()
    span = the_span(agentkit_telemetry)
    assert span.status.status_code is StatusCode.UNSET
    assert probe.cleaned_up
    assert_body_ran_in_span(probe, agentkit_telemetry)  # cleanup ran inside the span too


def test_close_ends_span_once(agentkit_telemetry: TelemetryCapture) -> None:
    probe = Probe()
    gen = make_sync(probe)()
    assert next(gen) == 0
    gen.close()
    gen.close()  # a second close is a no-op
    assert probe.cleaned_up
    span = the_span(agentkit_telemetry)
    assert span.status.status_code is StatusCode.UNSET
    assert span.events == ()
    assert_body_ran_in_span(probe, agentkit_telemetry)


def test_exception_mid_iteration(agentkit_telemetry: TelemetryCapture) -> None:
    @traced_tool(name="stream")
    def stream() -> Iterator[int]:
        yield 1
        raise KeyError("gone")

    gen = stream()
    assert next(gen) == 1
    with pytest.raises(KeyError, match="gone"):
        next(gen)
    span = the_span(agentkit_telemetry)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[semconv.ERROR_TYPE] == "KeyError"


def test_send_throw_and_return_value_are_forwarded(agentkit_telemetry: TelemetryCapture) -> None:
    probe = Probe()
    gen = make_sync(probe, items=3)()
    assert next(gen) == 0
    assert gen.send("a") == 1

    @traced_tool(name="catcher")
    def catcher() -> Iterator[str]:
        try:
            yield "waiting"
        except ValueError as exc:
            yield f"caught {exc}"

    c = catcher()
    assert next(c) == "waiting"
    assert c.throw(ValueError("x")) == "caught x"
    c.close()

    def delegate() -> Iterator[int]:
        result = yield from make_sync(Probe(), items=2)()
        yield result * 100

    assert list(delegate()) == [0, 1, 200]
    assert gen.send("b") == 2
    with pytest.raises(StopIteration) as stop:
        gen.send("c")
    assert stop.value.value == 3
    assert probe.received == ["a", "b", "c"]
    assert agentkit_telemetry.span("execute_tool catcher").status.status_code is StatusCode.UNSET


def test_thrown_exception_not_handled_is_recorded(agentkit_telemetry: TelemetryCapture) -> None:
    gen = make_sync(Probe())()
    next(gen)
    error = ValueError("from consumer")
    with pytest.raises(ValueError, match="from consumer") as info:
        gen.throw(error)
    assert info.value is error
    assert the_span(agentkit_telemetry).status.status_code is StatusCode.ERROR


def test_generator_never_started_records_nothing(agentkit_telemetry: TelemetryCapture) -> None:
    gen = make_sync(Probe())()
    gen.close()
    del gen
    assert agentkit_telemetry.spans() == []


def test_retrieval_generator_counts_yielded_documents(agentkit_telemetry: TelemetryCapture) -> None:
    @traced_retrieval(data_source="kb")
    def docs(top_k: int) -> Iterator[str]:
        yield from (f"doc{i}" for i in range(top_k))

    assert list(docs(3)) == ["doc0", "doc1", "doc2"]
    gen = docs(5)
    next(gen)
    next(gen)
    gen.close()
    full, partial = agentkit_telemetry.spans_named("retrieval kb")
    assert full.attributes[semconv.AGENTKIT_RETRIEVAL_RETURNED_DOCUMENTS] == 3
    assert partial.attributes[semconv.AGENTKIT_RETRIEVAL_RETURNED_DOCUMENTS] == 2
    assert partial.attributes[semconv.GEN_AI_REQUEST_TOP_K] == 5


# -- async ------------------------------------------------------------------------------


def test_async_exhaust(agentkit_telemetry: TelemetryCapture) -> None:
    probe = Probe()

    async def main() -> list[int]:
        gen = make_async(probe)()
        first = await gen.__anext__()
        assert agentkit_telemetry.spans() == []
        return [first] + [item async for item in gen]

    assert asyncio.run(main()) == [0, 1, 2]
    assert the_span(agentkit_telemetry).status.status_code is StatusCode.UNSET
    assert probe.cleaned_up
    assert_body_ran_in_span(probe, agentkit_telemetry)


def test_async_break_then_aclose(agentkit_telemetry: TelemetryCapture) -> None:
    probe = Probe()

    async def main() -> None:
        tracer = trace.get_tracer("test")
        with tracer.start_as_current_span("consumer") as consumer:
            gen = make_async(probe)()
            async for item in gen:
                assert trace.get_current_span() is consumer
                if item == 1:
                    break
            assert agentkit_telemetry.spans_named(SPAN) == []
            await gen.aclose()

    asyncio.run(main())
    assert probe.cleaned_up
    span = the_span(agentkit_telemetry)
    assert span.status.status_code is StatusCode.UNSET
    assert_body_ran_in_span(probe, agentkit_telemetry)


def test_async_break_without_aclose_is_finalised_once(agentkit_telemetry: TelemetryCapture) -> None:
    probe = Probe()

    async def main() -> None:
        async for item in make_async(probe)():
            if item == 0:
                break
        # The loop's async-generator finaliser schedules aclose() for the
        # abandoned generator; give it a few turns, as a long-running loop would.
        for _ in range(5):
            await asyncio.sleep(0)
        assert probe.cleaned_up

    asyncio.run(main())
    assert the_span(agentkit_telemetry).status.status_code is StatusCode.UNSET


def test_async_generator_abandoned_at_loop_shutdown_ends_once(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    probe = Probe()

    async def main() -> None:
        async for item in make_async(probe)():
            if item == 0:
                break

    # asyncio.run() cancels the pending finaliser task: the generator is closed
    # by CancelledError, which the span records like any cancellation.
    asyncio.run(main())
    assert probe.cleaned_up
    span = the_span(agentkit_telemetry)
    assert span.attributes[semconv.ERROR_TYPE] == "CancelledError"


def test_async_raise_and_athrow(agentkit_telemetry: TelemetryCapture) -> None:
    @traced_tool(name="stream")
    async def stream() -> AsyncIterator[str]:
        try:
            yield "ready"
        except ValueError as exc:
            yield f"caught {exc}"
        raise LookupError("done badly")

    async def main() -> None:
        gen = stream()
        assert await gen.asend(None) == "ready"
        assert await gen.athrow(ValueError("v")) == "caught v"
        with pytest.raises(LookupError):
            await gen.__anext__()

    asyncio.run(main())
    span = the_span(agentkit_telemetry)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[semconv.ERROR_TYPE] == "LookupError"


def test_async_asend_is_forwarded(agentkit_telemetry: TelemetryCapture) -> None:
    probe = Probe()

    async def main() -> None:
        gen = make_async(probe, items=2)()
        assert await gen.asend(None) == 0
        assert await gen.asend("x") == 1
        with pytest.raises(StopAsyncIteration):
            await gen.asend("y")

    asyncio.run(main())
    assert probe.received == ["x", "y"]
    assert the_span(agentkit_telemetry).end_time is not None


def test_async_generator_without_sdk_forwards_everything() -> None:
    probe = Probe()

    async def main() -> list[int]:
        gen = make_async(probe, items=3)()
        assert await gen.asend(None) == 0
        assert await gen.asend("s") == 1
        await gen.aclose()
        return [item async for item in make_async(Probe(), items=2)()]

    assert asyncio.run(main()) == [0, 1]
    assert probe.received == ["s"]
    assert probe.cleaned_up


def test_generator_closed_inside_a_context_manager_span_is_not_an_error(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    """``with tool_span(...)`` around a ``yield``: closing the generator raises
    GeneratorExit in the block, which is how a consumer stops early, not a failure."""
    from otel_agentkit.decorators import tool_span

    def results() -> Iterator[int]:
        with tool_span("paged_search"):
            yield 1
            yield 2

    gen = results()
    assert next(gen) == 1
    gen.close()
    (span,) = agentkit_telemetry.spans()
    assert span.name == "execute_tool paged_search"
    assert span.status.status_code is StatusCode.UNSET
    assert "error.type" not in (span.attributes or {})
    assert [e.name for e in span.events] == []
    (point,) = agentkit_telemetry.metric_points("gen_ai.execute_tool.duration")
    assert point.count == 1
    assert "error.type" not in point.attributes


def test_an_exception_inside_a_context_manager_span_around_a_yield_is_an_error(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    from otel_agentkit.decorators import tool_span

    def results() -> Iterator[int]:
        with tool_span("paged_search"):
            yield 1

    gen = results()
    next(gen)
    with pytest.raises(ValueError, match="bad page"):
        gen.throw(ValueError("bad page"))
    (span,) = agentkit_telemetry.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ValueError"
