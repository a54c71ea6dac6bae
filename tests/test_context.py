"""Request-id ContextVar and executor helpers carry context into threads."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from opentelemetry import trace

from otel_agentkit import context
from otel_agentkit.testing import TelemetryCapture


def test_request_id_set_get_reset_and_context_manager() -> None:
    assert context.get_request_id() is None
    token = context.set_request_id("r-1")
    assert context.get_request_id() == "r-1"
    with context.request_id("job-7") as value:
        assert value == "job-7"
        assert context.get_request_id() == "job-7"
    assert context.get_request_id() == "r-1"
    context.reset_request_id(token)
    assert context.get_request_id() is None


def test_request_ids_do_not_leak_between_tasks() -> None:
    async def handle(i: int) -> tuple[int, str | None]:
        with context.request_id(f"req-{i}"):
            await asyncio.sleep(0)
            return i, context.get_request_id()

    async def main() -> list[tuple[int, str | None]]:
        return await asyncio.gather(*(handle(i) for i in range(50)))

    assert all(rid == f"req-{i}" for i, rid in asyncio.run(main()))


def test_wrap_executor_carries_span_and_request_id(agentkit_telemetry: TelemetryCapture) -> None:
    tracer = trace.get_tracer("t")
    plain = ThreadPoolExecutor(max_workers=2)
    wrapped = context.wrap_executor(ThreadPoolExecutor(max_workers=2))
    assert context.wrap_executor(wrapped) is wrapped

    def work() -> tuple[int, str | None]:
        return trace.get_current_span().get_span_context().span_id, context.get_request_id()

    with tracer.start_as_current_span("parent") as parent, context.request_id("r-9"):
        lost = plain.submit(work).result()
        kept = wrapped.submit(work).result()
        mapped = list(wrapped.map(lambda _: work(), range(3)))
    plain.shutdown()
    wrapped.shutdown()
    parent_id = parent.get_span_context().span_id
    assert lost == (0, None)  # the plain executor loses context: this is what we fix
    assert kept == (parent_id, "r-9")
    assert mapped == [(parent_id, "r-9")] * 3


def test_run_in_executor_carries_context(agentkit_telemetry: TelemetryCapture) -> None:
    tracer = trace.get_tracer("t")

    def child() -> None:
        with tracer.start_as_current_span("in-thread"):
            pass

    async def main() -> int:
        with tracer.start_as_current_span("parent") as parent:
            await context.run_in_executor(None, child)
            return parent.get_span_context().span_id

    parent_id = asyncio.run(main())
    span = agentkit_telemetry.span("in-thread")
    assert span.parent is not None
    assert span.parent.span_id == parent_id
