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
``MeterProvider`` uses them, with or without ``configure()``'s Views;
:func:`create_counter` makes the counters. Both give instruments with a
cardinality limit (:func:`set_cardinality_limit`): each keeps at most that
many distinct attribute sets, and points with a new set past the limit go to
one series marked ``otel.metric.overflow=true`` (the OpenTelemetry
specification's overflow series), so memory and ``/metrics`` stay bounded
whatever names the application or a server sends.

Imports only the OpenTelemetry API and the standard library.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.context import Context
from opentelemetry.metrics import Counter, Histogram, Meter, MeterProvider
from opentelemetry.trace import Tracer, TracerProvider
from opentelemetry.util.types import AttributeValue

from otel_agentkit import _providers, semconv
from otel_agentkit._version import __version__

__all__ = [
    "DEFAULT_CARDINALITY_LIMIT",
    "AttributeSet",
    "BoundedCounter",
    "BoundedHistogram",
    "Instruments",
    "cardinality_limit",
    "create_counter",
    "create_histogram",
    "current",
    "metric_attributes",
    "set_cardinality_limit",
]

_log = logging.getLogger("otel_agentkit")

#: Distinct attribute sets one instrument keeps by default (the SDK specification's default).
DEFAULT_CARDINALITY_LIMIT: Final = 2000
#: What a point with a new attribute set past the limit is recorded with.
_OVERFLOW: Final[Mapping[str, AttributeValue]] = {semconv.OTEL_METRIC_OVERFLOW: True}

_limit = DEFAULT_CARDINALITY_LIMIT


def cardinality_limit() -> int:
    """The most distinct attribute sets each otel-agentkit instrument keeps."""
    return _limit


def set_cardinality_limit(limit: int | None) -> None:
    """Set the per-instrument cardinality limit (``None``: :data:`DEFAULT_CARDINALITY_LIMIT`).

    Applies at once to every instrument, also those made before; series an
    instrument already has are kept.
    """
    global _limit
    if limit is None:
        _limit = DEFAULT_CARDINALITY_LIMIT
        return
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        from otel_agentkit.errors import ConfigurationError

        raise ConfigurationError("metrics_cardinality_limit", limit, "must be a positive integer")
    _limit = limit


def _key(attributes: Mapping[str, Any]) -> frozenset[tuple[str, Any]]:
    try:
        return frozenset(attributes.items())
    except TypeError:  # a list value
        return frozenset((k, tuple(v) if isinstance(v, list) else v) for k, v in attributes.items())


class AttributeSet:
    """Metric attributes built once and recorded many times, with their cardinality key.

    For a hot path that records the same few attribute sets over and over (the
    LLM instrumentations): :meth:`BoundedHistogram.record_set` and
    :meth:`BoundedCounter.add_set` take one, and the key the cardinality limit
    counts sets by is computed here once instead of at every point. The
    mapping must never be changed after it is given here.
    """

    __slots__ = ("attributes", "key")

    def __init__(self, attributes: Mapping[str, AttributeValue]) -> None:
        self.attributes = attributes
        self.key = _key(attributes)


class _Bounded:
    """The attribute sets one instrument has seen, up to the cardinality limit."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: set[frozenset[tuple[str, Any]]] = set()

    def bounded(self, attributes: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """``attributes``, or the overflow attributes when they are new past the limit."""
        if not attributes:
            return attributes
        return self._admit(attributes, _key(attributes))

    def _admit(
        self, attributes: Mapping[str, Any], key: frozenset[tuple[str, Any]]
    ) -> Mapping[str, Any]:
        seen = self._seen
        if key in seen:
            return attributes
        # Threads may race past the check by a point or two; the set stays bounded.
        if len(seen) >= _limit:
            return _OVERFLOW
        seen.add(key)
        return attributes


class BoundedHistogram(Histogram, _Bounded):
    """A histogram that keeps at most the cardinality limit of attribute sets."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Histogram) -> None:
        _Bounded.__init__(self)
        self._inner = inner

    def record(
        self,
        amount: int | float,
        attributes: Mapping[str, AttributeValue] | None = None,
        context: Context | None = None,
    ) -> None:
        """Record ``amount`` with ``attributes`` (the overflow set when they are one too many)."""
        self._inner.record(amount, self.bounded(attributes), context)

    def record_set(
        self, amount: int | float, attributes: AttributeSet, context: Context | None = None
    ) -> None:
        """:meth:`record` with an :class:`AttributeSet` (its key computed once, not per point)."""
        attrs = attributes.attributes
        # _admit, inline for a set seen before (the common case): one test, no call.
        if attrs and attributes.key not in self._seen:
            attrs = self._admit(attrs, attributes.key)
        self._inner.record(amount, attrs, context)


class BoundedCounter(Counter, _Bounded):
    """A counter that keeps at most the cardinality limit of attribute sets."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Counter) -> None:
        _Bounded.__init__(self)
        self._inner = inner

    def add(
        self,
        amount: int | float,
        attributes: Mapping[str, AttributeValue] | None = None,
        context: Context | None = None,
    ) -> None:
        """Add ``amount`` with ``attributes`` (the overflow set when they are one too many)."""
        self._inner.add(amount, self.bounded(attributes), context)

    def add_set(
        self, amount: int | float, attributes: AttributeSet, context: Context | None = None
    ) -> None:
        """:meth:`add` with an :class:`AttributeSet` (its key computed once, not per point)."""
        attrs = attributes.attributes
        if attrs and attributes.key not in self._seen:
            attrs = self._admit(attrs, attributes.key)
        self._inner.add(amount, attrs, context)


def create_histogram(meter: Meter, name: str) -> BoundedHistogram:
    """``meter``'s histogram ``name``, with the unit, description and buckets of its table entry.

    The histogram has the cardinality limit.
    """
    spec = semconv.HISTOGRAMS[name]
    return BoundedHistogram(
        meter.create_histogram(
            name,
            unit=spec.unit,
            description=spec.description,
            explicit_bucket_boundaries_advisory=list(spec.buckets),
        )
    )


def create_counter(meter: Meter, name: str, unit: str, description: str) -> BoundedCounter:
    """``meter``'s counter ``name``, with the cardinality limit."""
    return BoundedCounter(meter.create_counter(name, unit=unit, description=description))


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
        self.guardrail_violations = create_counter(
            meter,
            semconv.AGENTKIT_GUARDRAIL_VIOLATIONS,
            "{violation}",
            "Guardrail decisions that blocked or modified content.",
        )
        self.scheduler_triggers = create_counter(
            meter, semconv.AGENTKIT_SCHEDULER_TRIGGERS, "{trigger}", "Scheduled jobs triggered."
        )
        self.notifications = create_counter(
            meter,
            semconv.AGENTKIT_NOTIFICATIONS,
            "{notification}",
            "Outbound notifications and webhooks, by channel and status.",
        )
        self.rate_limit_exceeded = create_counter(
            meter,
            semconv.AGENTKIT_RATE_LIMIT_EXCEEDED,
            "{request}",
            "Requests rejected by a rate limit, by endpoint.",
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
