"""semconv: the one module that spells names, units and buckets."""

from __future__ import annotations

import ast
from pathlib import Path

from otel_agentkit import semconv

PACKAGE = Path(semconv.__file__).parent


def test_bucket_lists_match_the_conventions() -> None:
    assert semconv.GEN_AI_DURATION_BUCKETS[0] == 0.01
    assert semconv.GEN_AI_DURATION_BUCKETS[-1] == 81.92
    assert all(
        b == a * 2
        for a, b in zip(
            semconv.GEN_AI_DURATION_BUCKETS, semconv.GEN_AI_DURATION_BUCKETS[1:], strict=False
        )
    )
    assert semconv.GEN_AI_TOKEN_BUCKETS[:3] == (1.0, 4.0, 16.0)
    assert semconv.GEN_AI_TOKEN_BUCKETS[-1] == 67108864.0
    for spec in semconv.HISTOGRAMS.values():
        assert list(spec.buckets) == sorted(set(spec.buckets))


def test_prometheus_names() -> None:
    assert (
        semconv.prometheus_name(semconv.GEN_AI_CLIENT_TOKEN_USAGE, semconv.UNIT_TOKENS)
        == "gen_ai_client_token_usage"
    )
    assert (
        semconv.prometheus_name(semconv.AGENTKIT_GUARDRAIL_VIOLATIONS, suffix="total")
        == "agentkit_guardrail_violations_total"
    )
    assert (
        semconv.prometheus_name(semconv.PROCESS_MEMORY_USAGE, semconv.UNIT_BYTES)
        == "process_memory_usage_bytes"
    )


def test_no_other_module_spells_a_semconv_name() -> None:
    """Every gen_ai.* / agentkit.* metric string lives in semconv.py only."""
    names = {
        value
        for key, value in vars(semconv).items()
        if key.isupper() and isinstance(value, str) and value.startswith(("gen_ai.", "agentkit."))
    }
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "semconv.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value!r}")
    assert not offenders, offenders
