"""pricing: the price of a call, by the model names as sent, then by their short form."""

from __future__ import annotations

import pytest

from otel_agentkit.pricing import ModelPrice, model_key, price_for

PRICE = ModelPrice(input_per_million=1.0, output_per_million=2.0)
OTHER = ModelPrice(input_per_million=3.0, output_per_million=4.0)


@pytest.mark.parametrize(
    ("sent", "key"),
    [
        ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0"),
        ("eu.amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"),
        ("apac.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-sonnet-4-20250514-v1:0"),
        (
            "global.anthropic.claude-sonnet-4-20250514-v1:0",
            "anthropic.claude-sonnet-4-20250514-v1:0",
        ),
        (
            "arn:aws:bedrock:us-east-1:012345678901:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "anthropic.claude-3-7-sonnet-20250219-v1:0",
        ),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-70b-instruct-v1:0",
            "meta.llama3-70b-instruct-v1:0",
        ),
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("projects/p/locations/l/publishers/google/models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("anthropic.claude-v2:1", "anthropic.claude-v2:1"),  # no profile prefix: unchanged
    ],
)
def test_model_key(sent: str, key: str) -> None:
    assert model_key(sent) == key


def test_names_as_sent_win_over_short_forms() -> None:
    table = {"us.amazon.nova-lite-v1:0": OTHER, "amazon.nova-lite-v1:0": PRICE}
    assert price_for(table, None, "us.amazon.nova-lite-v1:0") is OTHER
    assert price_for(table, None, "eu.amazon.nova-lite-v1:0") is PRICE


def test_response_model_then_request_model_then_their_short_forms() -> None:
    table = {"claude-3-sonnet-20240229": OTHER, "anthropic.claude-3-sonnet-20240229-v1:0": PRICE}
    request = "us.anthropic.claude-3-sonnet-20240229-v1:0"
    assert price_for(table, "claude-3-sonnet-20240229", request) is OTHER
    assert price_for(table, "something-else", request) is PRICE
    assert price_for(table, None, "unpriced") is None
    assert price_for({}, None, request) is None
