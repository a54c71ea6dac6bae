"""The demo's traffic: a fixed plan of requests, sent one by one over HTTP, with a progress bar.

The plan is deterministic: the same ``--requests N`` sends the same questions
in the same order, so every run shows the same kinds of trace. Request 3 is
blocked by the guardrail and request 4 meets a model-server error (when the
model server is the fake one); the currency tool times out on every second
call.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

QUESTIONS: tuple[str, ...] = (
    "What's the weather in Lisbon, and how much is 120 EUR in USD? Convert it please.",
    "What's the weather in Porto this weekend?",
    "Convert 80 EUR to GBP for my hotel.",
    "How long do refunds take?",
)
BLOCKED_QUESTION = "Book Madrid for me, my card is 4111 1111 1111 1111."
#: 0-based positions of the special requests in the plan.
BLOCKED_AT = 2
MODEL_ERROR_AT = 3


@dataclass(frozen=True)
class Planned:
    """One request of the plan."""

    request_id: str
    question: str
    stream: bool
    #: The fake model server is told to fail this request's first model call.
    model_error: bool


@dataclass(frozen=True)
class Sent:
    """A planned request and what the server answered."""

    planned: Planned
    status: int
    body: dict[str, Any]


def plan(count: int) -> list[Planned]:
    """The first ``count`` requests of the demo's fixed plan."""
    planned = []
    for index in range(count):
        question = BLOCKED_QUESTION if index == BLOCKED_AT else QUESTIONS[index % len(QUESTIONS)]
        planned.append(
            Planned(
                request_id=f"demo-{index + 1:04d}",
                question=question,
                stream=index % 2 == 1,
                model_error=index == MODEL_ERROR_AT,
            )
        )
    return planned


class Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, out: TextIO | None = None, width: int = 30) -> None:
        self.total = total
        self.out = out if out is not None else sys.stderr
        self.width = width
        self.enabled = bool(getattr(self.out, "isatty", lambda: False)())

    def update(self, done: int) -> None:
        """Redraw the bar with ``done`` requests finished."""
        if not self.enabled:
            return
        filled = self.width * done // max(self.total, 1)
        bar = "#" * filled + "-" * (self.width - filled)
        self.out.write(f"\r[{bar}] {done}/{self.total} requests")
        if done == self.total:
            self.out.write("\n")
        self.out.flush()


def send(base_url: str, planned: Planned, timeout: float = 60.0) -> Sent:
    """POST one planned request to ``/ask``; HTTP errors are answers too."""
    data = json.dumps({"question": planned.question, "stream": planned.stream}).encode()
    request = urllib.request.Request(  # noqa: S310 - a loopback http:// URL we built
        f"{base_url}/ask",
        data=data,
        headers={"Content-Type": "application/json", "X-Request-ID": planned.request_id},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Sent(planned, response.status, json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"{}")
        except ValueError:
            body = {}
        return Sent(planned, exc.code, body if isinstance(body, dict) else {})


def send_all(
    base_url: str,
    planned: Sequence[Planned],
    before: Callable[[Planned], None],
    progress: Progress,
) -> list[Sent]:
    """Send every planned request in order (``before`` runs ahead of each one)."""
    sent: list[Sent] = []
    progress.update(0)
    for item in planned:
        before(item)
        sent.append(send(base_url, item))
        progress.update(len(sent))
    return sent
