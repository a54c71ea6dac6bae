"""LLM metrics by agent and workflow, and cost with prompt-cache prices.

Driven through the real anthropic client against a self-written recording
whose usage has fresh, cache-read and cache-write input tokens
(tests/fixtures/anthropic/message_basic.yaml: 7 fresh, 13 read, 11 written,
3 output). Metric and attribute names are pinned as literals.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from otel_agentkit.decorators import agent_span, traced_agent, traced_workflow
from otel_agentkit.errors import ConfigurationError
from otel_agentkit.instrumentation.anthropic import AnthropicInstrumentor
from otel_agentkit.pricing import ModelPrice, set_model_prices
from otel_agentkit.testing import TelemetryCapture
from tests.anthropic_helpers import fixture_cassette, request_kwargs
from tests.llm_helpers import instrument_fixture

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

instrument = instrument_fixture(AnthropicInstrumentor)

TOKENS = "gen_ai.client.token.usage"
DURATION = "gen_ai.client.operation.duration"
COST = "agentkit.llm.cost.usd"
AGENT = "gen_ai.agent.name"
WORKFLOW = "gen_ai.workflow.name"
FRESH, READ, WRITTEN, OUTPUT = 7, 13, 11, 3
CLAUDE = ModelPrice(
    input_per_million=3.0,
    output_per_million=15.0,
    cache_read_per_million=0.30,
    cache_write_per_million=3.75,
)


@pytest.fixture(autouse=True)
def _prices() -> Iterator[None]:
    set_model_prices({"fixture-claude": CLAUDE})
    yield
    set_model_prices(None)


def _call() -> None:
    cassette = fixture_cassette("message_basic.yaml")
    cassette.client().messages.create(**request_kwargs(cassette))


def _names(tel: TelemetryCapture, metric: str) -> set[tuple[Any, Any]]:
    return {
        (p.attributes.get(AGENT), p.attributes.get(WORKFLOW)) for p in tel.metric_points(metric)
    }


def test_cache_reads_and_writes_are_priced_at_their_rates(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    instrument()
    _call()
    by_type = {
        p.attributes["gen_ai.token.type"]: p.value for p in agentkit_telemetry.metric_points(COST)
    }
    assert by_type["input"] == pytest.approx((FRESH * 3.0 + READ * 0.30 + WRITTEN * 3.75) / 1e6)
    assert by_type["output"] == pytest.approx(OUTPUT * 15.0 / 1e6)


def test_the_issue_example_costs_a_fifth_of_the_full_input_price() -> None:
    # 100k input tokens of which 90k were cache reads, on a Claude model
    cost = CLAUDE.input_cost(100_000, cache_read=90_000)
    assert cost == pytest.approx((10_000 * 3.0 + 90_000 * 0.30) / 1e6)
    assert CLAUDE.input_cost(100_000) / cost == pytest.approx(5.263, rel=1e-3)


def test_without_cache_rates_cached_tokens_cost_the_input_price() -> None:
    plain = ModelPrice(input_per_million=3.0, output_per_million=15.0)
    assert plain.input_cost(100, cache_read=60, cache_write=30) == pytest.approx(300 / 1e6)
    # counts that do not add up never make a negative or inflated cost
    assert CLAUDE.input_cost(10, cache_read=50) == pytest.approx(10 * 0.30 / 1e6)
    with pytest.raises(ConfigurationError, match="cache_read_per_million"):
        ModelPrice(1.0, 1.0, cache_read_per_million=-1.0)


def test_calls_inside_an_agent_carry_its_name_and_its_workflow(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    instrument()

    @traced_agent(name="planner")
    def planner() -> None:
        _call()

    @traced_workflow(name="ingest")
    def ingest() -> None:
        planner()
        _call()  # in the workflow, outside the agent

    ingest()
    _call()  # outside both
    expected = {("planner", "ingest"), (None, "ingest"), (None, None)}
    for metric in (TOKENS, DURATION, COST):
        assert _names(agentkit_telemetry, metric) == expected, metric


async def _async_agent_call() -> None:
    @traced_agent(name="async-planner")
    async def planner() -> None:
        _call()

    await planner()


def test_context_manager_and_async_agents_name_their_calls(
    agentkit_telemetry: TelemetryCapture, instrument: Any
) -> None:
    import asyncio

    instrument()
    with agent_span("router"):
        _call()
    asyncio.run(_async_agent_call())
    assert _names(agentkit_telemetry, TOKENS) == {("router", None), ("async-planner", None)}


def test_off_switch_keeps_agent_names_off_the_metrics(
    agentkit_telemetry: TelemetryCapture, instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTKIT_LLM_METRICS_AGENT_ATTRIBUTES", "false")
    instrument()
    with agent_span("router"):
        _call()
    for metric in (TOKENS, DURATION, COST):
        assert _names(agentkit_telemetry, metric) == {(None, None)}, metric
    # the span still names its agent: only the metric labels are switched off
    [agent] = [s for s in agentkit_telemetry.spans() if s.name == "invoke_agent router"]
    assert agent.attributes[AGENT] == "router"


def test_explicit_argument_wins_over_the_environment(
    agentkit_telemetry: TelemetryCapture, instrument: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTKIT_LLM_METRICS_AGENT_ATTRIBUTES", "true")
    instrument(agent_attributes=False)
    with agent_span("router"):
        _call()
    assert _names(agentkit_telemetry, TOKENS) == {(None, None)}
