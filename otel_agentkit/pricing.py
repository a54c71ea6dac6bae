"""Prices you give, for the ``agentkit.llm.cost.usd`` metric (estimated spend in USD).

otel-agentkit ships no price table: prices change, differ by contract and
region, and a stale built-in table would report wrong money with confidence.
You state the prices you pay; the LLM instrumentations then add, for each call
with token usage, ``tokens * price / 1e6`` to the ``agentkit.llm.cost.usd`` counter
(one point per token type)::

    from otel_agentkit.pricing import ModelPrice, set_model_prices

    set_model_prices({"gpt-4o-mini": ModelPrice(input_per_million=0.15, output_per_million=0.60)})

Prompt caching: input tokens read from the provider's cache, and those written
to it, are priced at ``cache_read_per_million`` / ``cache_write_per_million``
when given (Anthropic, OpenAI and others charge less for reads, some more for
writes), at the input price otherwise::

    ModelPrice(input_per_million=3.0, output_per_million=15.0,
               cache_read_per_million=0.30, cache_write_per_million=3.75)

or, for one instrumentor only, ``instrument("openai", prices={...})``.

A call is priced by its response model (``gpt-4o-mini-2024-07-18``) when that
name has a price, else by its request model (``gpt-4o-mini``), each as sent
first, then as :func:`model_key` shortens it (a Bedrock inference profile
``us.anthropic.claude-3-5-haiku-20241022-v1:0`` or an ARN ending in it is
priced as ``anthropic.claude-3-5-haiku-20241022-v1:0``; ``models/gemini-2.5-flash``
as ``gemini-2.5-flash``); a call whose models have no price records no cost.
Imports only the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from otel_agentkit.errors import ConfigurationError

__all__ = ["ModelPrice", "get_model_prices", "model_key", "price_for", "set_model_prices"]


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """What one model costs, in USD per million tokens: input, output, cached input.

    ``cache_read_per_million`` and ``cache_write_per_million`` price the input
    tokens read from and written to the provider's prompt cache; ``None``
    (the default) prices them as other input tokens. Raises
    :class:`~otel_agentkit.errors.ConfigurationError` for a negative,
    infinite or NaN price.
    """

    input_per_million: float
    output_per_million: float
    cache_read_per_million: float | None = None
    cache_write_per_million: float | None = None

    def __post_init__(self) -> None:
        for name in (
            "input_per_million",
            "output_per_million",
            "cache_read_per_million",
            "cache_write_per_million",
        ):
            value = getattr(self, name)
            if value is None and name.startswith("cache_"):
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigurationError(
                    f"ModelPrice.{name}", value, "must be a finite number of USD, 0 or more"
                )

    def input_cost(
        self, tokens: int, cache_read: int | None = None, cache_write: int | None = None
    ) -> float:
        """USD for ``tokens`` input tokens, of which ``cache_read`` / ``cache_write`` were
        read from / written to the prompt cache (counted in ``tokens``, as the
        conventions' ``gen_ai.usage.input_tokens`` counts them)."""
        read = min(max(cache_read or 0, 0), tokens)
        write = min(max(cache_write or 0, 0), tokens - read)
        read_rate = self.cache_read_per_million
        write_rate = self.cache_write_per_million
        cost = (tokens - read - write) * self.input_per_million
        cost += read * (self.input_per_million if read_rate is None else read_rate)
        cost += write * (self.input_per_million if write_rate is None else write_rate)
        return cost / 1_000_000

    def output_cost(self, tokens: int) -> float:
        """USD for ``tokens`` output tokens."""
        return tokens * self.output_per_million / 1_000_000


_EMPTY: Mapping[str, ModelPrice] = MappingProxyType({})
_prices: Mapping[str, ModelPrice] = _EMPTY


def check_prices(prices: Mapping[str, ModelPrice], setting: str) -> Mapping[str, ModelPrice]:
    """A read-only copy of ``prices``, checked: model names to :class:`ModelPrice`."""
    if not isinstance(prices, Mapping):
        raise ConfigurationError(setting, prices, "must be a mapping of model name to ModelPrice")
    for model, price in prices.items():
        if not isinstance(model, str) or not model:
            raise ConfigurationError(setting, model, "model names must be non-empty strings")
        if not isinstance(price, ModelPrice):
            raise ConfigurationError(
                f"{setting}[{model!r}]", price, "must be a otel_agentkit.pricing.ModelPrice"
            )
    return MappingProxyType(dict(prices))


def set_model_prices(prices: Mapping[str, ModelPrice] | None) -> None:
    """Set the process-wide prices (model name -> :class:`ModelPrice`); ``None`` clears them.

    Replaces the previous table (it does not merge). Takes effect on the next
    call; instrumentors given their own ``prices=`` use those instead.
    """
    global _prices
    _prices = _EMPTY if prices is None else check_prices(prices, "set_model_prices(prices)")


def get_model_prices() -> Mapping[str, ModelPrice]:
    """The process-wide prices now in force (read-only)."""
    return _prices


#: Geography prefixes of Bedrock's cross-region inference profiles (``us.``, ``eu.``...).
_PROFILE_PREFIXES = ("us.", "us-gov.", "eu.", "apac.", "au.", "ca.", "jp.", "global.")


def model_key(model: str) -> str:
    """The model name a price is looked up under when the name as sent has none.

    The last path segment of a resource name or ARN (``models/gemini-2.5-flash``,
    ``arn:aws:bedrock:...:inference-profile/us.anthropic.claude-...``), without a
    Bedrock cross-region profile's geography prefix (``us.``, ``eu.``, ``apac.``...).
    """
    name = model.rpartition("/")[2]
    prefix = next((p for p in _PROFILE_PREFIXES if name.startswith(p)), "")
    return name[len(prefix) :]


def price_for(
    prices: Mapping[str, ModelPrice] | None,
    response_model: str | None,
    request_model: str | None,
) -> ModelPrice | None:
    """The price of a call: from ``prices`` if given, else the process-wide table.

    The response model's price wins over the request model's, each looked up
    as sent, then by its :func:`model_key`; ``None`` when none has one (or no
    prices are set).
    """
    table = _prices if prices is None else prices
    if not table:
        return None
    models = [m for m in (response_model, request_model) if m]
    for model in (*models, *map(model_key, models)):
        price = table.get(model)
        if price is not None:
            return price
    return None
