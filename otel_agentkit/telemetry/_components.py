"""Exporters and samplers that installed packages register as SDK entry points.

``OTEL_TRACES_EXPORTER=zipkin_json`` works with the SDK's own configurator as
soon as ``opentelemetry-exporter-zipkin-json`` is installed: the SDK looks the
name up in the ``opentelemetry_traces_exporter`` entry points and builds the
class it finds with no arguments. The names otel-agentkit builds itself
(``otlp``, ``console``, ``prometheus``, ``tree``) keep its own settings; any
other name is loaded here, the way the SDK loads it, and checked to be what its
group promises, so a broken registration is a :class:`ConfigurationError`
naming the setting, not a stack trace later.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.trace.sampling import Sampler

from otel_agentkit.errors import ConfigurationError
from otel_agentkit.telemetry.settings import SAMPLER_ENTRY_POINTS, Signal, exporter_entry_points

_KINDS: dict[Signal, tuple[type[Any], ...]] = {
    "traces": (SpanExporter,),
    "metrics": (MetricExporter, MetricReader),
    "logs": (LogRecordExporter,),
}


def _load(group: str, name: str, setting: str) -> Any:
    found = list(entry_points(group=group, name=name))
    if not found:
        raise ConfigurationError(setting, name, f"no {group} entry point of that name")
    try:
        return found[0].load()
    except Exception as exc:
        raise ConfigurationError(
            setting, name, f"the {group} entry point failed to load: {exc!r}"
        ) from None


def exporter(signal: Signal, name: str, setting: str) -> Any:
    """An instance of the exporter (or, for metrics, reader) registered as ``name``."""
    group = exporter_entry_points(signal)
    component = _load(group, name, setting)
    kinds = _KINDS[signal]
    if not (isinstance(component, type) and issubclass(component, kinds)):
        expected = " or ".join(kind.__name__ for kind in kinds)
        raise ConfigurationError(
            setting, name, f"the {group} entry point is {component!r}, not a {expected}"
        )
    try:
        return component()
    except Exception as exc:
        raise ConfigurationError(setting, name, f"the exporter failed to start: {exc!r}") from None


def sampler(name: str, arg: object, setting: str) -> Sampler:
    """The sampler the factory registered as ``name`` makes from ``arg``, as the SDK calls it."""
    factory = _load(SAMPLER_ENTRY_POINTS, name, setting)
    try:
        made = factory(arg)
    except Exception as exc:
        raise ConfigurationError(setting, name, f"the sampler factory failed: {exc!r}") from None
    if not isinstance(made, Sampler):
        raise ConfigurationError(
            setting, name, f"the sampler factory returned {made!r}, not a Sampler"
        )
    return made
