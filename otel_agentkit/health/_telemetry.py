"""Health as telemetry: the ``agentkit.health.status`` state set and one span per check run.

Providers are looked up at call time (tests and ``configure()`` swap the
globals), and the tracer and gauge are cached keyed on the provider object's
identity.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation

from otel_agentkit import _providers, semconv
from otel_agentkit._version import __version__

__all__ = ["STATES", "ensure_gauge", "get_tracer", "track"]

_log = logging.getLogger("otel_agentkit.health")

#: The states of a check; the gauge has one point per check and state.
STATES: tuple[str, ...] = ("ok", "degraded", "error")

#: Anything that can list its latest results as ``(check name, status, critical)``.
LatestFn = Callable[[], Iterable[tuple[str, str, bool]]]

# Two locks so the metric collection callback never waits on a thread that is
# inside the SDK registering the gauge (lock-order inversion with SDK locks).
_sources_lock = threading.Lock()
_gauge_lock = threading.Lock()
_sources: weakref.WeakSet[Any] = weakref.WeakSet()
_gauge_provider: object | None = None
_tracer_cache: tuple[object, trace.Tracer] | None = None


def track(registry: Any) -> None:
    """Report ``registry``'s latest results through the gauge while it is alive.

    ``registry`` must have a ``_latest_statuses()`` method returning
    ``(name, status, critical)`` triples.
    """
    with _sources_lock:
        _sources.add(registry)


def _observe(options: CallbackOptions) -> Iterator[Observation]:
    with _sources_lock:
        sources = list(_sources)
    for source in sources:
        try:
            latest = list(source._latest_statuses())
        except Exception:  # never let one registry break the collection
            _log.debug("health gauge callback failed", exc_info=True)
            continue
        for name, status, critical in latest:
            flag = "true" if critical else "false"
            for state in STATES:  # a state set: 1 for the current state, 0 for the others
                yield Observation(
                    1.0 if state == status else 0.0,
                    {
                        semconv.AGENTKIT_HEALTH_CHECK: name,
                        semconv.AGENTKIT_HEALTH_STATE: state,
                        semconv.AGENTKIT_HEALTH_CRITICAL: flag,
                    },
                )


def ensure_gauge() -> None:
    """Register the gauge with the current global meter provider, once per provider.

    Nothing is registered while only the API's proxy provider is installed: the
    gauge is registered on the first run after ``configure()`` (or a test
    capture) installs a real one, so it never ends up registered twice.
    """
    global _gauge_provider
    provider = metrics.get_meter_provider()
    if provider is _gauge_provider:
        return
    with _gauge_lock:
        if provider is _gauge_provider or not _providers.is_real(provider):
            return
        try:
            meter = provider.get_meter(semconv.SCOPE_NAME, __version__)
            meter.create_observable_gauge(
                semconv.AGENTKIT_HEALTH_STATUS,
                callbacks=[_observe],
                unit="",
                description=(
                    "Latest health check result: 1 for the check's state "
                    "(agentkit.health.state), 0 for its other states."
                ),
            )
        except Exception:
            _log.debug("could not register the health status gauge", exc_info=True)
        _gauge_provider = provider


def get_tracer() -> trace.Tracer:
    """The tracer of the current global tracer provider (cached per provider)."""
    global _tracer_cache
    provider = trace.get_tracer_provider()
    cached = _tracer_cache
    if cached is not None and cached[0] is provider:
        return cached[1]
    tracer = provider.get_tracer(semconv.SCOPE_NAME, __version__)
    _tracer_cache = (provider, tracer)
    return tracer
