"""``otel-agentkit demo``: a real agent, offline, its trees, and a summary that matches /metrics.

Each test runs the demo as a user would, in a subprocess, against the fake
model server with a 1 ms latency.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from otel_agentkit import demo
from otel_agentkit.testing import FakeModelServer
from tests.otlp_receiver import OTLPReceiver

COMMAND = [sys.executable, "-m", "otel_agentkit.cli", "demo", "--model-latency", "0.001"]
#: Statuses of the first five requests of the plan: answered, answered (streamed),
#: blocked by the guardrail, model-server error, answered (the currency tool timed out).
FIVE = [200, 200, 400, 502, 200]


def demo_env(**extra: str) -> dict[str, str]:
    """Our environment without OTel/agentkit settings or a model server of the developer's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "AGENTKIT_", "OPENAI_")) and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(extra)
    return env


def depth_and_name(line: str) -> tuple[int, str]:
    """(depth, span name) of a printed tree line: 4 characters per level."""
    match = re.match(r"^((?:│   |    |├── |└── )*)(.*)$", line)
    assert match is not None
    prefix, rest = match.groups()
    return len(prefix) // 4, rest.split("  ")[0]


def tree_after(out: str, title: str) -> list[str]:
    """The tree lines printed under the heading that starts with ``title``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    tree = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        tree.append(line)
    return tree


def test_demo_prints_trees_logs_and_summary(tmp_path: Path) -> None:
    log_file = tmp_path / "demo.log"
    done = subprocess.run(
        [*COMMAND, "--requests", "5", "--log-file", str(log_file)],
        env=demo_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Sent 5 requests" in out
    assert "3 x 200, 1 x 400, 1 x 502" in out

    tree = tree_after(out, "One request: demo-0001")
    shape = [depth_and_name(line) for line in tree]
    assert shape == [
        (0, "POST /ask"),
        (1, "apply_guardrail no_card_numbers"),
        (1, "invoke_agent planner"),
        (2, "retrieval handbook"),
        (3, "embeddings fake-embedding"),
        (3, "query_points handbook"),
        (2, "chat fake-model"),
        (2, "execute_tool get_weather"),
        (2, "execute_tool convert_currency"),
        (2, "chat fake-model"),
    ]
    first_chat, last_chat = (line for line in tree if "chat fake-model" in line)
    # The fake model's counts are deterministic: words in the request / in the reply.
    assert re.search(r"  42 in / 8 out tokens  \$0\.000011  tool_calls  ", first_chat)
    assert re.search(r"  58 in / 17 out tokens  \$0\.000019  stop$", last_chat)
    assert tree[0].endswith(re.search(r"trace [0-9a-f]{32}$", tree[0]).group(0))  # type: ignore[union-attr]
    assert "  200  request demo-0001  " in tree[0]
    assert "  allow" in tree[1]

    failed = tree_after(out, "A failed request: demo-0004")
    assert [depth_and_name(line) for line in failed][-1] == (2, "chat fake-model")
    assert "ERROR InternalServerError: Error code: 500" in failed[-1]
    assert "  502  request demo-0004  ERROR 502  " in failed[0]

    # The log lines under the tree are the request's, with its trace id.
    trace_id = re.search(r"trace ([0-9a-f]{32})$", tree[0]).group(1)  # type: ignore[union-attr]
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    mine = [r for r in records if r.get("request_id") == "demo-0001"]
    assert [r["message"] for r in mine] == [
        "request_started",
        "ran 2 tool call(s)",
        "request_completed",
    ]
    assert {r["trace_id"] for r in mine} == {trace_id}
    warned = [r for r in records if r["message"].startswith("tool convert_currency failed")]
    assert [r["request_id"] for r in warned] == ["demo-0005"]

    summary = out[out.index("Summary, from a live scrape") :]
    assert re.search(r"requests +5 \(3 x 200, 1 x 400, 1 x 502\)", summary)
    assert re.search(r"tool calls +convert_currency 2 \(1 failed\), get_weather 3\n", summary)
    assert re.search(r"guardrail blocks +1 \(no_card_numbers\)", summary)
    assert "Where to look next:" in out
    assert "otel-agentkit stack" in out


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def test_demo_summary_agrees_with_the_live_scrape_and_exports_over_otlp(
    otlp_receiver: OTLPReceiver,
) -> None:
    process = subprocess.Popen(
        [*COMMAND, "--requests", "5", "--json", "--serve"],
        env=demo_env(OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.http_endpoint),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else ""
        result: dict[str, Any] = json.loads(line)
        with urllib.request.urlopen(result["metrics_url"], timeout=10) as response:
            scraped = samples(response.read().decode())
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err

    assert [r["status"] for r in result["requests"]] == FIVE
    summary = result["summary"]
    requests: dict[str, int] = defaultdict(int)
    tokens: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    tools: dict[str, int] = defaultdict(int)
    tool_errors: dict[str, int] = defaultdict(int)
    buckets: dict[float, float] = defaultdict(float)
    blocks = 0
    cost = 0.0
    for name, labels, value in scraped:
        if name == "http_server_request_duration_seconds_count" and labels["http_route"] == "/ask":
            requests[labels["http_response_status_code"]] += int(value)
        elif (
            name == "http_server_request_duration_seconds_bucket" and labels["http_route"] == "/ask"
        ):
            buckets[float(labels["le"])] += value
        elif name == "gen_ai_client_token_usage_sum":
            # summed: the agent's calls and the others are separate series
            tokens[labels["gen_ai_request_model"]][labels["gen_ai_token_type"]] += int(value)
        elif name == "gen_ai_execute_tool_duration_seconds_count":
            tools[labels["gen_ai_tool_name"]] += int(value)
            if labels["error_type"]:
                tool_errors[labels["gen_ai_tool_name"]] += int(value)
        elif name == "agentkit_guardrail_violations_total":
            blocks += int(value) if labels["agentkit_guardrail_decision"] == "block" else 0
        elif name == "agentkit_llm_cost_usd_total":
            cost += value
    assert summary["requests"] == {"200": 3, "400": 1, "502": 1} == requests
    assert summary["total_requests"] == 5
    assert summary["tokens_by_model"] == tokens
    assert tokens["fake-model"]["input"] > 0
    assert tokens["fake-model"]["output"] > 0
    assert summary["tool_calls"] == tools == {"get_weather": 3, "convert_currency": 2}
    assert summary["tool_errors"] == tool_errors == {"convert_currency": 1}
    assert sum(summary["guardrail_blocks"].values()) == blocks == 1
    assert summary["cost_usd"] == pytest.approx(cost)
    assert cost > 0
    # p95 lies in the bucket holding the 95th percentile request
    ordered = sorted(buckets.items())
    rank = 0.95 * ordered[-1][1]
    upper = next(bound for bound, count in ordered if count >= rank)
    lower = max([b for b, c in ordered if c < rank], default=0.0)
    assert lower <= summary["p95_seconds"] <= upper

    # the same run also went out over OTLP: spans, metrics and logs of the agent
    otlp_receiver.wait_for(lambda got: {"traces", "metrics", "logs"} <= {r.signal for r in got})
    names = {span.name for _, span in otlp_receiver.spans()}
    assert {"POST /ask", "invoke_agent planner", "chat fake-model"} <= names
    assert result["otlp_endpoints"] == [
        f"{otlp_receiver.http_endpoint}/v1/{signal}" for signal in ("logs", "metrics", "traces")
    ]


def test_demo_exits_non_zero_when_the_otlp_endpoint_is_closed() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = subprocess.run(
        [*COMMAND, "--requests", "5", "--otlp-endpoint", f"http://127.0.0.1:{port}"],
        env=demo_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "otel-agentkit demo: the OTLP endpoint you asked for does not take traces: "
        f"http://127.0.0.1:{port}/v1/traces: Connection refused"
    ]


def test_demo_against_the_server_openai_base_url_names() -> None:
    """``OPENAI_BASE_URL``: the demo's agent talks to that server (here one this test runs)."""
    with FakeModelServer(models=["served-model"]) as server:
        done = subprocess.run(
            [*COMMAND, "--requests", "2", "--json"],
            env=demo_env(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-served"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        requests = server.requests
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [r["status"] for r in result["requests"]] == [200, 200]
    chats = [r for r in requests if r.path == "/v1/chat/completions"]
    assert {r.body["model"] for r in chats} == {"served-model"}  # the server's first model
    assert {r.headers["authorization"] for r in chats} == {"Bearer sk-served"}
    # no embedding model named: the handbook is embedded locally, nothing is sent
    assert [r for r in requests if r.path == "/v1/embeddings"] == []
    assert result["summary"]["tokens_by_model"]["served-model"]["input"] > 0


def test_demo_without_the_extra_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A requirement that no environment has stands for an uninstalled extra.
    monkeypatch.setitem(demo.REQUIREMENTS, "agentkit_not_installed_anywhere", "qdrant-client")
    assert demo.run(demo.DemoOptions()) == 2
    assert capsys.readouterr().err.splitlines() == [
        "otel-agentkit demo needs the 'demo' extra (qdrant-client missing): "
        "pip install 'otel-agentkit[demo]'"
    ]
