"""The otel-agentkit command line: its commands as a user runs them."""

from __future__ import annotations

import subprocess
import sys

import openai
import pytest
import yaml

from otel_agentkit.cli import main


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


@pytest.mark.parametrize(
    ("flag", "value", "problem"),
    [
        ("--for-minutes", "-1", "-1: expected a whole number of minutes, at least 0"),
        ("--for-minutes", "2.5", "expected int, got '2.5'"),
        ("--no-traffic-minutes", "0", "0: expected a whole number of minutes, at least 1"),
        ("--http-error-ratio", "2", "2: expected a share between 0 and 1"),
        ("--llm-error-ratio", "1", "1: expected a share between 0 and 1"),
        ("--tool-error-ratio", "-0.1", "-0.1: expected a share between 0 and 1"),
        ("--llm-latency-p95-seconds", "0", "0: expected a positive number"),
        ("--ttfc-p95-seconds", "nan", "nan: expected a finite number"),
        ("--token-budget-per-day", "-5", "-5: expected a positive number"),
        ("--memory-ceiling-bytes", "0", "0: expected a positive number"),
        ("--memory-growth-bytes-per-hour", "lots", "expected int, got 'lots'"),
        ("--llm-latency-p95-seconds", "soon", "expected float, got 'soon'"),
    ],
)
def test_alerts_refuses_impossible_values(
    capsys: pytest.CaptureFixture[str], flag: str, value: str, problem: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["alerts", flag, value])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""  # no rule file written
    assert f"otel-agentkit alerts: error: argument {flag}: {problem}" in err


def test_alerts_takes_the_edge_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", "--for-minutes", "0", "--http-error-ratio", "0"]) == 0
    rules = {
        r["alert"]: r
        for g in yaml.safe_load(capsys.readouterr().out)["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    assert rules["AgentkitHighErrorRate"]["for"] == "0m"
    assert rules["AgentkitHighErrorRate"]["expr"].endswith(" > 0")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("for_minutes", -1),
        ("http_error_ratio", 2.0),
        ("no_traffic_minutes", 1.5),
        ("ttfc_p95_seconds", True),
    ],
)
def test_thresholds_refuse_impossible_values_in_code_too(field: str, value: object) -> None:
    from otel_agentkit import ConfigurationError
    from otel_agentkit.ops.alerts import AlertThresholds

    with pytest.raises(ConfigurationError, match=rf"^{field}={value!r}: expected"):
        AlertThresholds(**{field: value})  # type: ignore[arg-type]
