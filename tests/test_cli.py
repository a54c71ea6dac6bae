"""The otel-agentkit command line: its commands as a user runs them."""

from __future__ import annotations

import subprocess
import sys

import openai


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_fake_llm_command() -> None:
    """``otel-agentkit fake-llm`` serves until SIGTERM, then exits 0."""
    process = subprocess.Popen(
        [sys.executable, "-m", "otel_agentkit.cli", "fake-llm", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        base_url = line.split("OPENAI_BASE_URL=", 1)[1].split()[0]
        c = openai.OpenAI(base_url=base_url, api_key="x", max_retries=0)
        reply = c.chat.completions.create(model="m", messages=user("from the command"))
        assert reply.choices[0].message.content == "Fake reply to: from the command"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_help_lists_the_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "otel_agentkit.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    commands = done.stdout.split("{", 1)[1].split("}", 1)[0].split(",")
    assert commands == [
        "demo",
        "fake-llm",
        "doctor",
        "clear-metrics-dir",
        "dashboard",
        "alerts",
        "stack",
    ]
