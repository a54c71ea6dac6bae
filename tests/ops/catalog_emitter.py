"""Record every catalog family through the real SDK and Prometheus exporter.

This is NOT the example app and says nothing about what otel-agentkit's
features emit: it is the reference for the exporter's translation. It creates
each instrument with the name, kind and unit the catalog declares and records
points carrying every attribute the ops queries use, so tests can check the
exporter's series and label names, and that each dashboard query and
recording rule computes data from such series in a real Prometheus.

Run as ``python -m tests.ops.catalog_emitter [--serve]``: prints
``{"port": N}`` once /metrics is up, then records in a loop until killed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from opentelemetry import metrics

import otel_agentkit
from otel_agentkit import semconv
from otel_agentkit.ops import catalog

#: A value for each attribute the catalog declares.
SAMPLE_VALUES: dict[str, str] = {
    semconv.GEN_AI_PROVIDER_NAME: semconv.PROVIDER_OPENAI,
    semconv.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
    semconv.GEN_AI_OPERATION_NAME: semconv.OP_CHAT,
    semconv.GEN_AI_TOOL_NAME: "web_search",
    semconv.GEN_AI_AGENT_NAME: "planner",
    semconv.GEN_AI_WORKFLOW_NAME: "ingest",
    semconv.DB_SYSTEM_NAME: semconv.DB_SYSTEM_CHROMADB,
    semconv.DB_COLLECTION_NAME: "docs",
    semconv.DB_OPERATION_NAME: "query",
    semconv.HTTP_ROUTE: "/chat",
    semconv.HTTP_REQUEST_METHOD: "POST",
    semconv.HTTP_RESPONSE_STATUS_CODE: "200",
    semconv.AGENTKIT_HTTP_STATUS_CLASS: semconv.HTTP_STATUS_CLASS_5XX,
    semconv.AGENTKIT_GUARDRAIL_NAME: "pii",
    semconv.AGENTKIT_GUARDRAIL_DECISION: semconv.GUARDRAIL_BLOCK,
    semconv.AGENTKIT_NOTIFICATION_CHANNEL: "slack",
    semconv.AGENTKIT_NOTIFICATION_STATUS: "sent",
    semconv.AGENTKIT_SCHEDULER_JOB: "nightly",
    semconv.AGENTKIT_RATE_LIMIT_ENDPOINT: "/chat",
    semconv.AGENTKIT_HEALTH_CHECK: "model-server",
    semconv.AGENTKIT_HEALTH_STATE: "degraded",
    semconv.AGENTKIT_HEALTH_CRITICAL: "false",
    semconv.GEN_AI_TOKEN_TYPE: semconv.TOKEN_TYPE_INPUT,
    semconv.ERROR_TYPE: "TimeoutError",
}


def make_instruments(meter: metrics.Meter) -> dict[str, Any]:
    """One instrument per catalog family, keyed by family name."""
    made: dict[str, Any] = {}
    for family in catalog.FAMILIES:
        if family.kind == "histogram":
            made[family.name] = meter.create_histogram(family.name, unit=family.unit)
        elif family.kind == "counter":
            made[family.name] = meter.create_counter(family.name, unit=family.unit)
        elif family.kind == "updowncounter":
            made[family.name] = meter.create_up_down_counter(family.name, unit=family.unit)
        else:
            made[family.name] = meter.create_gauge(family.name, unit=family.unit)
    return made


def record_once(instruments: dict[str, Any]) -> None:
    """Record one round: each family with all its attributes, and without error.type."""
    for family in catalog.FAMILIES:
        instrument = instruments[family.name]
        full = {a: SAMPLE_VALUES[a] for a in family.attributes}
        ok = {k: v for k, v in full.items() if k != semconv.ERROR_TYPE}
        if family.name == semconv.AGENTKIT_HTTP_REQUESTS:
            ok[semconv.AGENTKIT_HTTP_STATUS_CLASS] = semconv.HTTP_STATUS_CLASS_2XX
        for attributes in (full, ok):
            if family.kind == "histogram":
                instrument.record(0.3, attributes)
            elif family.kind == "gauge":
                instrument.set(1.0, attributes)
            else:
                instrument.add(1, attributes)
        if family.name == semconv.GEN_AI_CLIENT_TOKEN_USAGE:
            output = dict(full, **{semconv.GEN_AI_TOKEN_TYPE: semconv.TOKEN_TYPE_OUTPUT})
            instrument.record(42, output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--service", default="catalog-contract")
    parser.add_argument("--interval", type=float, default=0.1)
    args = parser.parse_args(argv)
    telemetry = otel_agentkit.configure(args.service, prometheus_port=0)
    instruments = make_instruments(metrics.get_meter("catalog-emitter"))
    record_once(instruments)
    print(json.dumps({"port": telemetry.prometheus_port}), flush=True)
    while True:
        record_once(instruments)
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
