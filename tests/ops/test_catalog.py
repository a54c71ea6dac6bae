"""The catalog's Prometheus names and labels match what the real exporter writes."""

from __future__ import annotations

import urllib.request

import pytest
from opentelemetry import metrics
from prometheus_client.parser import text_string_to_metric_families

import otel_agentkit
from otel_agentkit import semconv
from otel_agentkit.ops import catalog
from tests.ops.catalog_emitter import make_instruments, record_once


def _scrape() -> dict[str, tuple[str, set[frozenset[str]]]]:
    """Sample name -> (family type, label-name sets seen) from a real /metrics scrape."""
    telemetry = otel_agentkit.configure("catalog", prometheus_port=0)
    record_once(make_instruments(metrics.get_meter("catalog-test")))
    with urllib.request.urlopen(telemetry.prometheus_url or "", timeout=5) as response:
        text = response.read().decode()
    samples: dict[str, tuple[str, set[frozenset[str]]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            _, label_sets = samples.setdefault(sample.name, (family.type, set()))
            label_sets.add(frozenset(sample.labels) - {"le"})
    return samples


def test_exporter_writes_the_catalog_series_and_labels() -> None:
    samples = _scrape()  # one configure()/scrape for all families: it is the slow part
    exported_type = {"histogram": "histogram", "counter": "counter"}
    problems = []
    for family in catalog.FAMILIES:
        expected_type = exported_type.get(family.kind, "gauge")  # up-down counters too
        wanted_labels = {semconv.prometheus_label(a) for a in family.attributes}
        for series in family.all_series():
            if series not in samples:
                near = sorted(n for n in samples if n.startswith(family.base[:12]))
                problems.append(f"{family.name}: exporter wrote no {series} (it wrote {near})")
                continue
            kind, label_sets = samples[series]
            if kind != expected_type:
                problems.append(f"{series}: exported as {kind}, catalog expects {expected_type}")
            if not any(wanted_labels <= labels for labels in label_sets):
                problems.append(f"{series}: labels {label_sets} lack {wanted_labels}")
    assert problems == []
    assert catalog.TARGET_INFO in samples


def test_prometheus_name_matches_exporter_units() -> None:
    # Units the exporter maps, and ones it drops: UCUM annotations and "1".
    assert semconv.prometheus_name("a.b", semconv.UNIT_SECONDS) == "a_b_seconds"
    assert semconv.prometheus_name("a.b", semconv.UNIT_BYTES, suffix="total") == "a_b_bytes_total"
    assert semconv.prometheus_name("a.b", semconv.UNIT_TOKENS) == "a_b"
    assert semconv.prometheus_name("a.b", semconv.UNIT_USD, suffix="total") == "a_b_total"
    assert semconv.prometheus_name("a.b", semconv.UNIT_RATIO) == "a_b"
    assert semconv.prometheus_name("x.duration_seconds", "s") == "x_duration_seconds"
    assert semconv.prometheus_label("gen_ai.request.model") == "gen_ai_request_model"
    assert semconv.prometheus_label("http.route") == "http_route"


def test_catalog_attributes_are_allowed_on_metrics() -> None:
    for family in catalog.FAMILIES:
        assert set(family.attributes) <= semconv.METRIC_ATTRIBUTE_ALLOWLIST, family.name


def test_series_suffix_rules() -> None:
    assert (
        catalog.LLM_DURATION.series("bucket") == "gen_ai_client_operation_duration_seconds_bucket"
    )
    assert catalog.GUARDRAIL_VIOLATIONS.series() == "agentkit_guardrail_violations_total"
    assert catalog.LLM_COST.series() == "agentkit_llm_cost_usd_total"
    assert catalog.HTTP_ACTIVE.series() == "http_server_active_requests"
    assert catalog.PROCESS_MEMORY.series() == "process_memory_usage_bytes"
    with pytest.raises(ValueError, match="suffix must be bucket, count or sum"):
        catalog.LLM_DURATION.series()
    with pytest.raises(ValueError, match="has no 'bucket' series"):
        catalog.GUARDRAIL_VIOLATIONS.series("bucket")
