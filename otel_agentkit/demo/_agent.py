"""The demo's agent: a travel assistant with tools, a handbook in Qdrant and a guardrail.

Everything here is ordinary agent code: the real ``openai`` client, an
in-memory Qdrant collection, and otel-agentkit's decorators. Nothing in it
creates a span by hand; the decorators and the instrumentors do.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

from otel_agentkit.decorators import (
    GuardrailDecision,
    GuardrailViolation,
    traced_agent,
    traced_guardrail,
    traced_retrieval,
    traced_tool,
)

_log = logging.getLogger("agentkit.demo")

#: The handbook the agent retrieves from: short facts, one point each.
HANDBOOK: tuple[str, ...] = (
    "Refunds are paid back to the original card within 5 business days.",
    "Each traveller may check one bag of up to 23 kg for free.",
    "Bookings can be changed for free up to 24 hours before departure.",
    "Lisbon is mild all year; Porto is rainier in winter.",
    "Prices are quoted in EUR and cards are charged in EUR.",
    "Travel insurance covers cancellations for medical reasons.",
)
WEATHER = {"Lisbon": "24 C and sunny", "Porto": "18 C and cloudy", "Madrid": "31 C and dry"}
RATES = {"USD": 1.08, "GBP": 0.85, "JPY": 162.0}
CARD_NUMBER = re.compile(r"\b(?:\d[ -]?){13,16}\b")
COLLECTION = "handbook"

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "enum": list(WEATHER)}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "convert_currency",
            "description": "Convert an amount of EUR to another currency",
            "parameters": {
                "type": "object",
                "properties": {
                    "amount": {"type": "number"},
                    "currency": {"type": "string", "enum": list(RATES)},
                },
                "required": ["amount", "currency"],
            },
        },
    },
]


@traced_guardrail(name="no_card_numbers")
def check_input(text: str) -> GuardrailDecision:
    """Block requests that contain a card number."""
    if CARD_NUMBER.search(text):
        raise GuardrailViolation("card number in request", guardrail="no_card_numbers")
    return GuardrailDecision.allow()


@traced_tool(description="Current weather in a city")
def get_weather(city: str) -> str:
    """The weather in ``city`` (a made-up table)."""
    return f"{city}: {WEATHER.get(city, 'unknown')}"


class _RateService:
    """A stand-in exchange-rate service that times out on every second call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls = 0

    def rate(self, currency: str) -> float:
        with self._lock:
            self._calls += 1
            calls = self._calls
        if calls % 2 == 0:
            raise TimeoutError("the exchange-rate service timed out")
        return RATES[currency]


_rates = _RateService()


@traced_tool(description="Convert an amount of EUR to another currency")
def convert_currency(amount: float, currency: str) -> str:
    """``amount`` EUR in ``currency``; fails now and then, like a real upstream."""
    return f"{amount:g} EUR is {amount * _rates.rate(currency):.2f} {currency}"


_TOOL_FUNCTIONS: dict[str, Callable[..., str]] = {
    "get_weather": get_weather,
    "convert_currency": convert_currency,
}

Embed = Callable[[str], list[float]]


class TravelAgent:
    """The planner agent: retrieve, ask the model, run the tools it asks for, answer.

    Args:
        client: an ``openai.OpenAI`` client.
        model: the chat model.
        embed: text -> vector, for the handbook and the queries.
        qdrant: a ``qdrant_client.QdrantClient`` (in memory in the demo).
    """

    def __init__(self, client: Any, model: str, embed: Embed, qdrant: Any) -> None:
        self.client = client
        self.model = model
        self.embed = embed
        self.qdrant = qdrant

    def load_handbook(self, dimensions: int) -> None:
        """Create the handbook collection and store each fact with its embedding."""
        from qdrant_client import models

        self.qdrant.create_collection(
            COLLECTION,
            vectors_config=models.VectorParams(size=dimensions, distance=models.Distance.COSINE),
        )
        self.qdrant.upsert(
            COLLECTION,
            points=[
                models.PointStruct(id=i, vector=self.embed(text), payload={"text": text})
                for i, text in enumerate(HANDBOOK)
            ],
        )

    @traced_retrieval(data_source=COLLECTION)
    def search_handbook(self, query: str, top_k: int = 2) -> list[str]:
        """The ``top_k`` handbook facts closest to ``query``."""
        hits = self.qdrant.query_points(COLLECTION, query=self.embed(query), limit=top_k)
        return [str(point.payload["text"]) for point in hits.points]

    def _run_tool(self, name: str, arguments: str) -> str:
        """Run one tool call; a failure becomes the tool's answer, as agents do."""
        function = _TOOL_FUNCTIONS.get(name)
        if function is None:
            return f"error: no tool named {name}"
        try:
            return function(**json.loads(arguments))
        except Exception as exc:
            _log.warning("tool %s failed: %s: %s", name, type(exc).__name__, exc)
            return f"error: {type(exc).__name__}: {exc}"

    def _final_answer(self, messages: Sequence[dict[str, Any]], stream: bool) -> str:
        if not stream:
            reply = self.client.chat.completions.create(model=self.model, messages=messages)
            return str(reply.choices[0].message.content or "")
        chunks = self.client.chat.completions.create(
            model=self.model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    @traced_agent(name="planner", description="Plans trips: handbook, weather, currency")
    def answer(self, question: str, *, stream: bool = False) -> str:
        """Answer one question; ``stream`` streams the final answer."""
        facts = self.search_handbook(question)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": "You are a travel assistant. " + " ".join(facts)},
            {"role": "user", "content": question},
        ]
        reply = self.client.chat.completions.create(
            model=self.model, messages=messages, tools=TOOLS
        )
        message = reply.choices[0].message
        if not message.tool_calls:
            return str(message.content or "")
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            result = self._run_tool(call.function.name, call.function.arguments)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        _log.info("ran %d tool call(s)", len(message.tool_calls))
        return self._final_answer(messages, stream)
