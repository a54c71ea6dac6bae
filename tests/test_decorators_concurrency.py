"""Parentage under concurrency: gather, create_task, and threads through the context helpers."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from otel_agentkit import semconv
from otel_agentkit.context import run_in_executor, wrap_executor
from otel_agentkit.decorators import traced_agent, traced_tool
from otel_agentkit.testing import TelemetryCapture

ASYNC_CALLS = 1000
THREADS = 8
CALLS_PER_THREAD = 4


@traced_tool
async def fetch(i: int) -> int:
    await asyncio.sleep(0)  # interleave with the other 999 calls
    return i


@traced_tool
def blocking(i: int) -> str:
    return threading.current_thread().name


def test_thousand_async_tools_and_threads_under_one_agent(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="agent-worker")
    barrier = threading.Barrier(THREADS)

    @traced_tool
    def rendezvous(i: int) -> str:
        barrier.wait(timeout=10)  # all 8 workers busy at once: 8 distinct threads
        return threading.current_thread().name

    @traced_agent(name="orchestrator")
    async def orchestrator() -> tuple[list[int], list[str]]:
        half = ASYNC_CALLS // 2
        gathered = await asyncio.gather(*(fetch(i) for i in range(half)))
        tasks = [asyncio.create_task(fetch(i)) for i in range(half, ASYNC_CALLS)]
        created = [await t for t in tasks]
        threaded = await asyncio.gather(
            *(run_in_executor(executor, rendezvous, i) for i in range(THREADS))
        )
        wrapped = wrap_executor(executor)
        futures = [wrapped.submit(blocking, i) for i in range(THREADS * CALLS_PER_THREAD)]
        submitted = [await asyncio.wrap_future(f) for f in futures]
        return gathered + created, list(threaded) + submitted

    try:
        numbers, thread_names = asyncio.run(orchestrator())
    finally:
        executor.shutdown()

    assert numbers == list(range(ASYNC_CALLS))
    assert len(set(thread_names[:THREADS])) == THREADS
    assert all(name.startswith("agent-worker") for name in thread_names)

    agent = agentkit_telemetry.span("invoke_agent orchestrator")
    tools = [s for s in agentkit_telemetry.spans() if s.name.startswith("execute_tool ")]
    assert len(tools) == ASYNC_CALLS + THREADS + THREADS * CALLS_PER_THREAD
    wrong = [
        s.name
        for s in tools
        if s.parent is None
        or s.parent.span_id != agent.context.span_id
        or s.context.trace_id != agent.context.trace_id
    ]
    assert wrong == []
    (point,) = agentkit_telemetry.metric_points(
        semconv.GEN_AI_EXECUTE_TOOL_DURATION, {semconv.GEN_AI_TOOL_NAME: "fetch"}
    )
    assert point.count == ASYNC_CALLS


def test_plain_executor_loses_the_parent_which_is_why_the_helpers_exist(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    """Control: without the helpers a worker thread starts a new trace."""

    @traced_agent(name="careless")
    async def careless() -> None:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1) as executor:
            await loop.run_in_executor(executor, blocking, 0)

    asyncio.run(careless())
    tool = agentkit_telemetry.span("execute_tool blocking")
    assert tool.parent is None


def test_nested_tools_in_threads_keep_their_own_parents(
    agentkit_telemetry: TelemetryCapture,
) -> None:
    @traced_tool
    def leaf(i: int) -> int:
        return i

    @traced_tool
    def branch(i: int) -> int:
        return leaf(i)

    @traced_agent(name="root")
    def root() -> list[int]:
        with ThreadPoolExecutor(max_workers=4) as pool:
            wrapped = wrap_executor(pool)
            return [f.result() for f in [wrapped.submit(branch, i) for i in range(16)]]

    assert root() == list(range(16))
    agent = agentkit_telemetry.span("invoke_agent root")
    branches = {s.context.span_id: s for s in agentkit_telemetry.spans_named("execute_tool branch")}
    leaves = agentkit_telemetry.spans_named("execute_tool leaf")
    assert len(branches) == len(leaves) == 16
    assert all(
        b.parent is not None and b.parent.span_id == agent.context.span_id
        for b in branches.values()
    )
    assert sorted(leaf.parent.span_id for leaf in leaves if leaf.parent) == sorted(branches)
