"""The tracer and metric instruments otel-agentkit records with, created once per provider.

Tests and ``shutdown()`` swap the global providers, so nothing here caches a
tracer or meter at import time. :func:`current` looks the providers up on
each call and rebuilds the :class:`Instruments` only when one of them is a
different object (an ``is`` check); when no provider is installed at all it
returns ``None`` so callers can skip every bit of work.

Looking the providers up through ``trace.get_tracer_provider()`` costs about
a microsecond per call (it probes ``os.environ``), more than the decorators'
whole no-SDK budget, so :func:`current` reads the API's module globals
directly and falls back to the public functions if those ever disappear or if
``OTEL_PYTHON_TRACER_PROVIDER`` / ``OTEL_PYTHON_METER_PROVIDER`` name a
provider to load from the environment.

Imports only the OpenTelemetry API and the standard library.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry import metrics, trace
from opentelemetry.metrics import Counter, Histogram, Meter
from opentelemetry.metrics import _internal as _metrics_internal
from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue

from otel_agentkit import semconv
from otel_agentkit._version import __version__

__all__ = ["Instruments", "current", "metric_attributes"]

_log = logging.getLogger("otel_agentkit")

_ENV_PROVIDER_VARS: Final = ("OTEL_PYTHON_TRACER_PROVIDER", "OTEL_PYTHON_METER_PROVIDER")

#: Read the API globals directly (see the module docstring) when that is safe.
_FAST_LOOKUP: Final[bool] = (
    hasattr(trace, "_TRACER_PROVIDER")
    and hasattr(_metrics_internal, "_METER_PROVIDER")
    and not any(name in os.environ for name in _ENV_PROVIDER_VARS)
)


class Instruments:
    """A tracer and every metric instrument, bound to one pair of global providers."""

    __slots__ = (
        "_meter_provider_key",
        "_tracer_provider_key",
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

    def __init__(self, tracer_key: object, meter_key: object) -> None:
        self._tracer_provider_key = tracer_key
        self._meter_provider_key = meter_key
        self.tracer: Tracer = trace.get_tracer_provider().get_tracer(
            semconv.SCOPE_NAME, __version__
        )
        meter: Meter = metrics.get_meter_provider().get_meter(semconv.SCOPE_NAME, __version__)
        self.meter = meter
        self.execute_tool_duration: Histogram = meter.create_histogram(
            semconv.GEN_AI_EXECUTE_TOOL_DURATION,
            unit=semconv.UNIT_SECONDS,
            description="Duration of tool executions.",
        )
        self.invoke_agent_duration: Histogram = meter.create_histogram(
            semconv.GEN_AI_INVOKE_AGENT_DURATION,
            unit=semconv.UNIT_SECONDS,
            description="Duration of agent invocations.",
        )
        self.invoke_workflow_duration: Histogram = meter.create_histogram(
            semconv.GEN_AI_INVOKE_WORKFLOW_DURATION,
            unit=semconv.UNIT_SECONDS,
            description="Duration of workflow invocations.",
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


_cache: Instruments | None = None
_lock = threading.Lock()


def current() -> Instruments | None:
    """The instruments for the current global providers, or ``None`` if none is installed."""
    if _FAST_LOOKUP:
        tracer_key: object = trace._TRACER_PROVIDER
        meter_key: object = _metrics_internal._METER_PROVIDER
        if tracer_key is None and meter_key is None:
            return None
    else:
        tracer_key = trace.get_tracer_provider()
        meter_key = metrics.get_meter_provider()
        if isinstance(tracer_key, trace.ProxyTracerProvider) and isinstance(
            meter_key, _metrics_internal._ProxyMeterProvider
        ):
            return None
    cached = _cache
    if (
        cached is not None
        and cached._tracer_provider_key is tracer_key
        and cached._meter_provider_key is meter_key
    ):
        return cached
    return _rebuild(tracer_key, meter_key)


def _rebuild(tracer_key: object, meter_key: object) -> Instruments:
    global _cache
    with _lock:
        cached = _cache
        if (
            cached is not None
            and cached._tracer_provider_key is tracer_key
            and cached._meter_provider_key is meter_key
        ):
            return cached
        cached = Instruments(tracer_key, meter_key)
        _cache = cached
        return cached


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
