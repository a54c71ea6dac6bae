"""A small offline agent traced with all five otel-agentkit decorators.

Run it with ``python examples/agent_decorators.py``: spans print to the
console (``--quiet`` exports nothing and prints just the answer). No LLM or
network is involved; the "model" is a few lines of Python so the example runs
anywhere.

The trace it produces::

    invoke_workflow trip_request
    ├── apply_guardrail no_card_numbers
    └── invoke_agent planner
        ├── retrieval travel_kb
        ├── execute_tool get_weather      (x2, concurrently)
        └── execute_tool convert_currency (in a worker thread)
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import otel_agentkit
from otel_agentkit import metrics
from otel_agentkit.context import run_in_executor
from otel_agentkit.decorators import (
    GuardrailDecision,
    GuardrailViolation,
    traced_agent,
    traced_guardrail,
    traced_retrieval,
    traced_tool,
    traced_workflow,
)

KNOWLEDGE_BASE = {
    "lisbon": "Lisbon: trams, pastel de nata, Atlantic views.",
    "porto": "Porto: port wine cellars, the Douro river, azulejos.",
    "madrid": "Madrid: the Prado, tapas, late dinners.",
}
WEATHER = {"lisbon": 24, "porto": 19, "madrid": 31}
CARD_NUMBER = re.compile(r"\b(?:\d[ -]?){13,16}\b")


@traced_guardrail(name="no_card_numbers")
def check_input(text: str) -> GuardrailDecision:
    """Refuse requests that contain a card number; mask e-mail addresses."""
    if CARD_NUMBER.search(text):
        raise GuardrailViolation("card number in request", guardrail="no_card_numbers")
    if "@" in text:
        masked = re.sub(r"\S+@\S+", "<email>", text)
        return GuardrailDecision.modify(masked, reason="masked e-mail address")
    return GuardrailDecision.allow()


@traced_retrieval(data_source="travel_kb")
def search_guides(query: str, top_k: int = 2) -> Iterator[str]:
    """Yield up to ``top_k`` guide snippets that mention a word of the query."""
    words = set(re.findall(r"[a-z]+", query.lower()))
    found = 0
    for city, text in KNOWLEDGE_BASE.items():
        if city in words and found < top_k:
            found += 1
            yield text


@traced_tool(description="Current temperature in a city, in Celsius", capture_content=True)
async def get_weather(city: str) -> int:
    await asyncio.sleep(0.01)  # stands in for an HTTP call
    return WEATHER.get(city, 20)


@traced_tool(description="Convert an amount between currencies")
def convert_currency(amount: float, rate: float = 1.08) -> float:
    return round(amount * rate, 2)  # runs in a worker thread, still inside the trace


@traced_agent(name="planner", agent_id="planner-v1")
async def planner(request: str) -> str:
    guides = list(search_guides(request))
    cities = [c for c in KNOWLEDGE_BASE if c in request.lower()]
    temperatures = await asyncio.gather(*(get_weather(c) for c in cities))
    with ThreadPoolExecutor(max_workers=1) as pool:
        budget = await run_in_executor(pool, convert_currency, 500.0)
    lines = [f"{c.title()}: {t}°C" for c, t in zip(cities, temperatures, strict=True)]
    return "\n".join([*guides, *lines, f"Budget: ${budget}"])


@traced_workflow(name="trip_request")
def handle_request(request: str) -> str:
    decision = check_input(request)
    if decision.action == "modify":
        request = decision.value
    answer = asyncio.run(planner(request))
    metrics.record_notification("email", "sent")  # tell the user their plan is ready
    return answer


def run() -> list[str]:
    """Handle two requests: one allowed, one blocked by the guardrail."""
    answers = [handle_request("Plan a weekend in Lisbon and Porto, mail me at a@b.example")]
    try:
        handle_request("Book Madrid with card 4111 1111 1111 1111")
    except GuardrailViolation as exc:
        answers.append(f"refused: {exc.reason}")
    return answers


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="export nothing")
    args = parser.parse_args(argv)
    exporter = "none" if args.quiet else "console"
    otel_agentkit.configure(
        service_name="trip-planner-example",
        traces_exporter=exporter,
        metrics_exporter="none",
        logs_exporter="none",
    )
    try:
        for answer in run():
            print(answer, end="\n\n")
    finally:
        otel_agentkit.shutdown()


if __name__ == "__main__":
    main()
