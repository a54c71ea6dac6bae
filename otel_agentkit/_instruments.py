"""The tracer and metric instruments otel-agentkit records with, and how a histogram is made.

:class:`Instruments` holds the decorators' tracer, their duration histograms
and the ``agentkit.*`` counters, built against one pair of global providers.
:func:`current` gives the instance for the current global providers (rebuilt
only when one of them changes, ``None`` while no real provider is installed;
see :func:`otel_agentkit._providers.follow`), so nothing here caches a tracer
or meter at import time.

:func:`create_histogram` makes every histogram otel-agentkit records to (here,
in the instrumentors and in the web integrations) from one table,
:data:`otel_agentkit.semconv.HISTOGRAMS`: its unit, description and bucket
boundaries, the boundaries given as the instrument's advice so that any SDK
``MeterProvider`` uses them, with or without ``configure()``'s Views.

Imports only the OpenTelemetry API and the standard library.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry.metrics import Counter, Histogram, Meter, MeterProvider
from opentelemetry.trace import Tracer, TracerProvider
from opentelemetry.util.types import AttributeValue

from otel_agentkit import _providers, semconv
from otel_agentkit._version import __version__

__all__ = ["Instruments", "create_histogram", "current", "metric_attributes"]

_log = logging.getLogger("otel_agentkit")


def create_histogram(meter: Meter, name: str) -> Histogram:
    """``meter``'s histogram ``name``, with the unit, description and buckets of its table entry."""
    spec = semconv.HISTOGRAMS[name]
    return meter.create_histogram(
        name,
        unit=spec.unit,
        description=spec.description,
        explicit_bucket_boundaries_advisory=list(spec.buckets),
    )


class Instruments:
    """A tracer and every metric instrument, bound to one pair of providers."""

    __slots__ = (
        "execute_tool_duration",
        "guardrail_violations",
        "invoke_agent_duration",
        "invoke_workflow_duration",
        "meter",
        "notifications",
        "rate_limit_exceeded",
        "scheduler_triggers",
        "tracer",
    )

    def __init__(self, tracer_provider: TracerProvider, meter_provider: MeterProvider) -> None:
        self.tracer: Tracer = tracer_provider.get_tracer(semconv.SCOPE_NAME, __version__)
        meter: Meter = meter_provider.get_meter(semconv.SCOPE_NAME, __version__)
        self.meter = meter
        self.execute_tool_duration = create_histogram(meter, semconv.GEN_AI_EXECUTE_TOOL_DURATION)
        self.invoke_agent_duration = create_histogram(meter, semconv.GEN_AI_INVOKE_AGENT_DURATION)
        self.invoke_workflow_duration = create_histogram(
            meter, semconv.GEN_AI_INVOKE_WORKFLOW_DURATION
        )
        self.guardrail_violations: Counter = meter.create_counter(
            semconv.AGENTKIT_GUARDRAIL_VIOLATIONS,
            unit="{violation}",
            description="Guardrail decisions that blocked or modified content.",
        )
        self.scheduler_triggers: Counter = meter.create_counter(
            semconv.AGENTKIT_SCHEDULER_TRIGGERS,
            unit="{trigger}",
            description="Scheduled jobs triggered.",
        )
        self.notifications: Counter = meter.create_counter(
            semconv.AGENTKIT_NOTIFICATIONS,
            unit="{notification}",
            description="Outbound notifications and webhooks, by channel and status.",
        )
        self.rate_limit_exceeded: Counter = meter.create_counter(
            semconv.AGENTKIT_RATE_LIMIT_EXCEEDED,
            unit="{request}",
            description="Requests rejected by a rate limit, by endpoint.",
        )


#: The instruments for the current global providers, or ``None`` if no real one is installed.
current = _providers.follow(Instruments)


def metric_attributes(attributes: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """Keep the allow-listed keys of ``attributes`` whose value is set.

    Metric points carry only names in :data:`semconv.METRIC_ATTRIBUTE_ALLOWLIST`;
    anything else (ids, free text) is dropped here, with a debug log.
    """
    kept: dict[str, AttributeValue] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        if key not in semconv.METRIC_ATTRIBUTE_ALLOWLIST:
            _log.debug("otel_agentkit: dropping non-allow-listed metric attribute %r", key)
            continue
        kept[key] = value
    return kept
