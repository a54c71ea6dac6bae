"""``agentkit.llm.cost.usd``: estimated spend from user-given prices, on recorded OpenAI traffic.

Token counts come from the recordings (replayed through the real openai
client), prices from the test; the expected USD is computed from both, never
retyped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from otel_agentkit import semconv
from otel_agentkit.errors import ConfigurationError
from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.pricing import ModelPrice, get_model_prices, price_for, set_model_prices
from otel_agentkit.testing import TelemetryCapture
from tests.conftest import cassettes_dir
from tests.openai_helpers import Cassette

PRICE = ModelPrice(input_per_million=0.15, output_per_million=0.60)


@pytest.fixture(autouse=True)
def _no_global_prices() -> Iterator[None]:
    set_model_prices(None)
    yield
    set_model_prices(None)


@pytest.fixture
def instrumentor(agentkit_telemetry: TelemetryCapture) -> Iterator[OpenAIInstrumentor]:
    instrumentor = OpenAIInstrumentor()
    yield instrumentor
    instrumentor.uninstrument()


def recorded(name: str) -> Cassette:
    return Cassette(cassettes_dir("openai") / name)


def cost_points(tel: TelemetryCapture, token_type: str) -> list[Any]:
    return tel.metric_points(semconv.AGENTKIT_LLM_COST, {semconv.GEN_AI_TOKEN_TYPE: token_type})


def check_cost(tel: TelemetryCapture, price: ModelPrice, model: str, usage: dict[str, int]) -> None:
    """One point per token type: tokens * price, labelled with provider and request model."""
    metric = tel.metric(semconv.AGENTKIT_LLM_COST)
    assert metric.unit == semconv.UNIT_USD
    assert metric.data.is_monotonic  # a counter
    expected = {
        semconv.TOKEN_TYPE_INPUT: price.input_per_million * usage["input"] / 1e6,
        semconv.TOKEN_TYPE_OUTPUT: price.output_per_million * usage.get("output", 0) / 1e6,
    }
    for token_type, usd in expected.items():
        points = cost_points(tel, token_type)
        if not usd:
            assert points == []
            continue
        (point,) = points
        assert point.value == pytest.approx(usd)
        assert point.attributes == {
            semconv.GEN_AI_PROVIDER_NAME: "openai",
            semconv.GEN_AI_REQUEST_MODEL: model,
            semconv.GEN_AI_TOKEN_TYPE: token_type,
        }
        assert set(point.attributes) <= semconv.METRIC_ATTRIBUTE_ALLOWLIST


def chat_tokens(usage: dict[str, Any]) -> dict[str, int]:
    """Tokens by gen_ai.token.type, from a recorded chat completion's ``usage`` block."""
    return {"input": usage["prompt_tokens"], "output": usage["completion_tokens"]}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_chat_cost_from_global_prices(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor, mode: str
) -> None:
    name = "chat_completion_no_content.yaml"
    cassette = recorded(("test_" if mode == "sync" else "test_async_") + name)
    kwargs = cassette.request_json()
    set_model_prices({kwargs["model"]: PRICE})
    instrumentor.instrument()
    if mode == "sync":
        cassette.client().chat.completions.create(**kwargs)
    else:
        asyncio.run(cassette.async_client().chat.completions.create(**kwargs))
    usage = cassette.response_json()["usage"]
    check_cost(
        agentkit_telemetry,
        PRICE,
        kwargs["model"],
        chat_tokens(usage),
    )


def test_streamed_chat_cost(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor
) -> None:
    cassette = recorded("test_chat_completion_streaming.yaml")
    kwargs = cassette.request_json()
    set_model_prices({kwargs["model"]: PRICE})
    instrumentor.instrument()
    for _ in cassette.client().chat.completions.create(**kwargs):
        pass
    usage = next(e["usage"] for e in reversed(cassette.stream_events()) if e.get("usage"))
    check_cost(
        agentkit_telemetry,
        PRICE,
        kwargs["model"],
        chat_tokens(usage),
    )


def test_embeddings_cost_is_input_only(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor
) -> None:
    cassette = recorded("test_embeddings_no_content.yaml")
    kwargs = cassette.request_json()
    instrumentor.instrument(prices={kwargs["model"]: PRICE})
    cassette.client().embeddings.create(**kwargs)
    usage = cassette.response_json()["usage"]
    check_cost(agentkit_telemetry, PRICE, kwargs["model"], {"input": usage["prompt_tokens"]})


def test_response_model_price_wins_over_request_model(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor
) -> None:
    cassette = recorded("test_chat_completion_no_content.yaml")
    kwargs = cassette.request_json()
    response = cassette.response_json()
    assert response["model"] != kwargs["model"]  # a dated snapshot name answers
    snapshot = ModelPrice(input_per_million=1.0, output_per_million=2.0)
    set_model_prices({kwargs["model"]: PRICE, response["model"]: snapshot})
    instrumentor.instrument()
    cassette.client().chat.completions.create(**kwargs)
    usage = response["usage"]
    check_cost(
        agentkit_telemetry,
        snapshot,
        kwargs["model"],
        chat_tokens(usage),
    )


def test_instrument_prices_override_the_global_table(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor
) -> None:
    cassette = recorded("test_chat_completion_no_content.yaml")
    kwargs = cassette.request_json()
    set_model_prices({kwargs["model"]: ModelPrice(input_per_million=99, output_per_million=99)})
    instrumentor.instrument(prices={kwargs["model"]: PRICE})
    cassette.client().chat.completions.create(**kwargs)
    usage = cassette.response_json()["usage"]
    check_cost(
        agentkit_telemetry,
        PRICE,
        kwargs["model"],
        chat_tokens(usage),
    )


def test_no_price_no_cost(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor
) -> None:
    cassette = recorded("test_chat_completion_no_content.yaml")
    kwargs = cassette.request_json()
    set_model_prices({"some-other-model": PRICE})
    instrumentor.instrument()
    cassette.client().chat.completions.create(**kwargs)
    assert agentkit_telemetry.metric_points(semconv.GEN_AI_CLIENT_TOKEN_USAGE)  # call recorded
    assert agentkit_telemetry.metric_points(semconv.AGENTKIT_LLM_COST) == []


def test_failed_call_records_no_cost(
    agentkit_telemetry: TelemetryCapture, instrumentor: OpenAIInstrumentor
) -> None:
    import openai

    cassette = recorded("test_chat_completion_404.yaml")
    kwargs = cassette.request_json()
    set_model_prices({kwargs["model"]: PRICE})
    instrumentor.instrument()
    with pytest.raises(openai.NotFoundError):
        cassette.client().chat.completions.create(**kwargs)
    assert agentkit_telemetry.metric_points(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
    assert agentkit_telemetry.metric_points(semconv.AGENTKIT_LLM_COST) == []


def test_set_model_prices_replaces_and_clears() -> None:
    set_model_prices({"a": PRICE})
    set_model_prices({"b": PRICE})
    assert dict(get_model_prices()) == {"b": PRICE}
    assert price_for(None, None, "a") is None
    assert price_for(None, "b-2025", "b") is PRICE
    set_model_prices(None)
    assert price_for(None, "b", "b") is None


def test_the_table_is_copied() -> None:
    table = {"a": PRICE}
    set_model_prices(table)
    table["b"] = PRICE
    assert set(get_model_prices()) == {"a"}


@pytest.mark.parametrize("bad", [-0.01, float("nan"), float("inf"), "0.15", True])
def test_invalid_price_is_a_configuration_error(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"ModelPrice\.input_per_million"):
        ModelPrice(input_per_million=bad, output_per_million=0.6)


def test_invalid_price_table_is_a_configuration_error(instrumentor: OpenAIInstrumentor) -> None:
    with pytest.raises(ConfigurationError, match="set_model_prices"):
        set_model_prices({"gpt-4o-mini": 0.15})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError, match=r"instrument\(prices\)"):
        instrumentor.instrument(prices={"": PRICE})
