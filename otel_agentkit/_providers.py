"""Which OpenTelemetry providers are installed: real ones, or only the API's placeholders.

Until an application (or :func:`otel_agentkit.configure`) installs providers,
the API hands out placeholders: a *proxy* that forwards to whatever is
installed later, or a *no-op* provider. Nothing a placeholder hands out
records anything. Every part of otel-agentkit that needs to know what is
installed asks here, and nowhere else:

* :func:`is_real`: is this provider a real one (neither a proxy nor a no-op),
  i.e. can it record? Instrumentors, the web integrations and the health
  gauge skip their work, or do not bind instruments, when it is not.
* :func:`is_proxy`: is it the API's proxy, the provider something was bound
  to before any provider was installed?
* :func:`installed`: which of the three global providers have been set
  (each can be set once per process).
* :func:`follow` / :func:`current`: the hot path of the decorators and
  counters: what was built for the current global tracer and meter
  providers, rebuilt only when one of them is a different object, and
  ``None`` while neither is real.
* :func:`resource_attribute`: an attribute of the global tracer provider's
  resource (``service.name``, ``service.version``).

Looking the providers up through ``trace.get_tracer_provider()`` costs about
a microsecond per call (it probes ``os.environ``), more than the decorators'
whole no-SDK budget, so :func:`current` reads the API's module globals directly
and falls back to the public functions if those ever disappear or if
``OTEL_PYTHON_TRACER_PROVIDER`` / ``OTEL_PYTHON_METER_PROVIDER`` name a
provider to load from the environment. This is the only module that reads
the API's private globals.

Imports only the OpenTelemetry API and the standard library.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, Final, TypeVar

from opentelemetry import metrics, trace
from opentelemetry.metrics import _internal as _metrics_internal

__all__ = ["current", "follow", "installed", "is_proxy", "is_real", "resource_attribute"]

T = TypeVar("T")

_ENV_PROVIDER_VARS: Final = ("OTEL_PYTHON_TRACER_PROVIDER", "OTEL_PYTHON_METER_PROVIDER")

#: Read the API globals directly (see the module docstring) when that is safe.
_FAST_LOOKUP: bool = (
    hasattr(trace, "_TRACER_PROVIDER")
    and hasattr(_metrics_internal, "_METER_PROVIDER")
    and not any(name in os.environ for name in _ENV_PROVIDER_VARS)
)

#: (proxies, no-ops) of the three signals; the logs API is imported on first use.
_placeholder_types: tuple[tuple[type[Any], ...], tuple[type[Any], ...]] | None = None


def _placeholders() -> tuple[tuple[type[Any], ...], tuple[type[Any], ...]]:
    global _placeholder_types
    if _placeholder_types is None:
        from opentelemetry import _logs
        from opentelemetry._logs import _internal as _logs_internal

        _placeholder_types = (
            (
                trace.ProxyTracerProvider,
                _metrics_internal._ProxyMeterProvider,
                _logs_internal.ProxyLoggerProvider,
            ),
            (trace.NoOpTracerProvider, metrics.NoOpMeterProvider, _logs.NoOpLoggerProvider),
        )
    return _placeholder_types


def is_proxy(provider: object) -> bool:
    """True for the API's proxy provider (of any signal): the one in use before any is set."""
    return isinstance(provider, _placeholders()[0])


def is_real(provider: object) -> bool:
    """True unless ``provider`` is one of the API's placeholders (proxy or no-op, any signal)."""
    proxies, no_ops = _placeholders()
    return not isinstance(provider, proxies) and not isinstance(provider, no_ops)


def installed() -> list[str]:
    """Names of the global providers that have been set (``TracerProvider``, ...).

    A global provider can be set once per process; one set to a no-op
    provider counts, as it cannot be replaced either.
    """
    from opentelemetry import _logs

    current = (
        ("TracerProvider", trace.get_tracer_provider()),
        ("MeterProvider", metrics.get_meter_provider()),
        ("LoggerProvider", _logs.get_logger_provider()),
    )
    return [name for name, provider in current if not is_proxy(provider)]


def resource_attribute(key: str, provider: object = None) -> str | None:
    """Attribute ``key`` of the resource of ``provider`` (default: the global tracer provider).

    None when the provider has no resource (a placeholder) or the resource
    lacks the attribute.
    """
    if provider is None:
        provider = trace.get_tracer_provider()
    resource = getattr(provider, "resource", None)
    attributes = getattr(resource, "attributes", None)
    value = attributes.get(key) if attributes else None
    return None if value is None else str(value)


_UNSET: Final = object()
#: What :func:`current` builds from a pair of providers (set by :func:`follow`).
_build: Callable[[Any, Any], Any] | None = None
#: (tracer key, meter key, built value), replaced as one tuple so readers on
#: other threads see either the old or the new state, never a mix.
_state: tuple[object, object, Any] = (_UNSET, _UNSET, None)
_lock = threading.Lock()


def follow(
    build: Callable[[trace.TracerProvider, metrics.MeterProvider], T],
) -> Callable[[], T | None]:
    """Make :func:`current` return ``build(tracer_provider, meter_provider)``; return it.

    One builder per process: the decorators' and counters' instruments. The
    hot path is a module-level function over module-level state because that
    is the cheapest call Python has (a closure costs about 60 instructions
    more per call, a fifth of a decorated call's whole overhead without an SDK).
    """
    global _build, _state
    if _build is not None and _build is not build:
        raise RuntimeError("otel_agentkit._providers already follows another builder")
    _build = build
    _state = (_UNSET, _UNSET, None)
    return current


def current() -> Any:
    """What :func:`follow`'s builder made for the current global providers, or None.

    Returns the cached value while both providers are the same objects as last
    time (two ``is`` checks after reading the API's globals); builds again when
    either changes (tests and ``shutdown()`` swap them); returns ``None``,
    building nothing, while neither provider is real.
    """
    if _FAST_LOOKUP:
        tracer_key: object = trace._TRACER_PROVIDER
        meter_key: object = _metrics_internal._METER_PROVIDER
        if tracer_key is None and meter_key is None:
            return None
    else:
        tracer_key = trace.get_tracer_provider()
        meter_key = metrics.get_meter_provider()
    cached = _state
    if cached[0] is tracer_key and cached[1] is meter_key:
        return cached[2]
    return _rebuild(tracer_key, meter_key)


def _rebuild(tracer_key: object, meter_key: object) -> Any:
    global _state
    with _lock:
        cached = _state
        if cached[0] is tracer_key and cached[1] is meter_key:
            return cached[2]
        tracer_provider = trace.get_tracer_provider()
        meter_provider = metrics.get_meter_provider()
        real = is_real(tracer_provider) or is_real(meter_provider)
        value = _build(tracer_provider, meter_provider) if real and _build is not None else None
        _state = (tracer_key, meter_key, value)
        return value
