"""configure_logging quiets the HTTP stacks the LLM clients send through."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import openai

from otel_agentkit.logs import configure_logging, reset_logging
from otel_agentkit.testing import FakeModelServer


def test_an_openai_call_writes_no_transport_line(tmp_path: Path) -> None:
    """openai 3.x logs one INFO line per request on ``httpx2`` (with its URL); 2.x on ``httpx``."""
    log_file = tmp_path / "app.log"
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging("INFO", "json", log_file)
    try:
        with FakeModelServer() as server:
            client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
            reply = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}]
            )
            assert reply.choices[0].message.content == "Fake reply to: hi"
        logging.getLogger("app").info("answered")
    finally:
        reset_logging()
        root.setLevel(level)
        root.handlers[:] = handlers
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [(r["logger"], r["message"]) for r in records] == [("app", "answered")]
