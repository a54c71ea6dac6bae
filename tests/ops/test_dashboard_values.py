"""The dashboard's error-% panels compute the right number, checked by Prometheus itself.

``promtool test rules`` evaluates each panel's query (Grafana variables
filled in) over series of known rates and compares the result with the exact
value: 15 failures a minute among 150 calls is 10 %, and no failure is 0, not
an empty panel.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_agentkit.ops.dashboards import render_dashboard
from tests.conftest import require_binary

pytestmark = pytest.mark.prometheus


def _panels(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in node.get("panels", []):
        yield panel
        yield from _panels(panel)


def _query(title: str, index: int) -> str:
    (panel,) = [p for p in _panels(json.loads(render_dashboard())) if p.get("title") == title]
    expr = str(panel["targets"][index]["expr"])
    for variable, value in (
        ("$__rate_interval", "5m"),
        ("$service", ".*"),
        ("$instance", ".*"),
        ("$model", ".*"),
        ("$provider", ".*"),
    ):
        expr = expr.replace(variable, value)
    return expr


LABELS = 'job="app", instance="a:1"'

#: (panel title, target index, series: values per minute, expected samples). Every count
#: is a multiple of 15, so every rate (count / 60 s) is a multiple of 1/4, exact in binary:
#: Prometheus sums series in no fixed order, and inexact rates summed in another order
#: came out as 20.000000000000004 now and then.
CASES = [
    (
        "Server error rate % (5xx)",
        0,
        {
            f'agentkit_http_requests_total{{{LABELS}, agentkit_http_status_class="2xx"}}': 135,
            f'agentkit_http_requests_total{{{LABELS}, agentkit_http_status_class="5xx"}}': 15,
            f'agentkit_http_errors_total{{{LABELS}, agentkit_http_status_class="5xx"}}': 15,
        },
        [{"labels": "{}", "value": 10}],
    ),
    (
        "Server error rate % (5xx)",
        1,
        {
            f'agentkit_http_requests_total{{{LABELS}, agentkit_http_status_class="2xx"}}': 45,
            f'agentkit_http_requests_total{{{LABELS}, agentkit_http_status_class="4xx"}}': 15,
            f'agentkit_http_requests_total{{{LABELS}, agentkit_http_status_class="5xx"}}': 15,
            f'agentkit_http_errors_total{{{LABELS}, agentkit_http_status_class="4xx"}}': 15,
            f'agentkit_http_errors_total{{{LABELS}, agentkit_http_status_class="5xx"}}': 15,
        },
        [{"labels": "{}", "value": 20}],  # the 4xx line: the client errors, apart
    ),
    (
        "Server error rate % (5xx)",
        0,
        {f'agentkit_http_requests_total{{{LABELS}, agentkit_http_status_class="2xx"}}': 45},
        [{"labels": "{}", "value": 0}],
    ),
    (
        "LLM error rate %",
        0,
        {
            f'gen_ai_client_operation_duration_seconds_count{{{LABELS}, gen_ai_request_model="m"}}': 45,  # noqa: E501
            f'gen_ai_client_operation_duration_seconds_count{{{LABELS}, gen_ai_request_model="m", error_type="timeout"}}': 15,  # noqa: E501
            f'gen_ai_client_operation_duration_seconds_count{{{LABELS}, gen_ai_request_model="ok"}}': 60,  # noqa: E501
        },
        [
            {"labels": '{gen_ai_request_model="m"}', "value": 25},
            {"labels": '{gen_ai_request_model="ok"}', "value": 0},
        ],
    ),
    (
        "Tool error rate %",
        0,
        {
            f'gen_ai_execute_tool_duration_seconds_count{{{LABELS}, gen_ai_tool_name="t"}}': 45,
            f'gen_ai_execute_tool_duration_seconds_count{{{LABELS}, gen_ai_tool_name="t", error_type="ValueError"}}': 15,  # noqa: E501
        },
        [{"labels": '{gen_ai_tool_name="t"}', "value": 25}],
    ),
]


@pytest.mark.parametrize(("title", "index", "series", "expected"), CASES)
def test_error_percent_panels_compute_the_exact_share(
    tmp_path: Path, title: str, index: int, series: dict[str, int], expected: list[Any]
) -> None:
    promtool = require_binary("promtool")
    tests = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": name, "values": f"0+{per_minute}x20"}
                    for name, per_minute in series.items()
                ],
                "promql_expr_test": [
                    {
                        "expr": _query(title, index),
                        "eval_time": "15m",
                        "exp_samples": [
                            {"labels": e["labels"], "value": e["value"]} for e in expected
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "dashboard_test.yaml"
    path.write_text(yaml.safe_dump(tests))
    done = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
