"""Auto-instrumentation for LLM clients and vector stores.

Each library has its own subpackage with a ``BaseInstrumentor`` registered in
the ``opentelemetry_instrumentor`` entry-point group as ``agentkit_<name>``
(so ``opentelemetry-instrument`` loads them). :func:`instrument` and
:func:`uninstrument` drive them from code::

    import otel_agentkit as agentkit

    agentkit.instrument()                   # every instrumentor whose library is installed
    agentkit.instrument("openai")           # just these
    agentkit.instrument("openai", capture_content="SPAN_ONLY")

This module imports nothing heavy: an instrumentor (and its client library)
is imported only when asked for.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

_log = logging.getLogger("otel_agentkit")

#: Entry-point group the OpenTelemetry launcher reads.
ENTRY_POINT_GROUP = "opentelemetry_instrumentor"
#: Our entry points are named ``agentkit_<library>``.
ENTRY_POINT_PREFIX = "agentkit_"

#: Library name -> pip requirement, for the install hint.
_INSTALL_HINTS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "ollama": "ollama",
    "chromadb": "chromadb",
    "qdrant": "qdrant-client",
}

_active: dict[str, Any] = {}


def available() -> dict[str, str]:
    """Library name -> ``module:Class`` of every registered otel-agentkit instrumentor."""
    from importlib.metadata import entry_points  # costly to import: only when asked

    found: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name.startswith(ENTRY_POINT_PREFIX):
            found[ep.name[len(ENTRY_POINT_PREFIX) :]] = ep.value
    return found


def _load(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def instrument(*names: str, **kwargs: Any) -> list[str]:
    """Instrument the named libraries (all registered ones when none are named).

    Keyword arguments go to each instrumentor's ``instrument()`` (for example
    ``tracer_provider=``, ``capture_content=``). A library that is not installed
    is skipped with a debug log (an info log with the install hint when it was
    named explicitly). Returns the names instrumented by this call.
    """
    registry = available()
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ValueError(
            f"unknown instrumentation {', '.join(map(repr, unknown))}; "
            f"available: {', '.join(sorted(registry)) or '(none)'}"
        )
    done: list[str] = []
    for name in names or tuple(sorted(registry)):
        if name in _active:
            continue
        try:
            instrumentor = _load(registry[name])()
        except ImportError as exc:
            log = _log.info if names else _log.debug
            log(
                "otel-agentkit: not instrumenting %s (%s); install it with: pip install %s",
                name,
                exc,
                _INSTALL_HINTS.get(name, name),
            )
            continue
        if instrumentor.instrumentation_dependencies() and not _library_installed(instrumentor):
            log = _log.info if names else _log.debug
            log(
                "otel-agentkit: %s is not installed; install it with: pip install %s",
                name,
                _INSTALL_HINTS.get(name, name),
            )
            continue
        instrumentor.instrument(**kwargs)
        _active[name] = instrumentor
        done.append(name)
    return done


def _library_installed(instrumentor: Any) -> bool:
    from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

    return get_dependency_conflicts(instrumentor.instrumentation_dependencies()) is None


def uninstrument(*names: str) -> None:
    """Undo :func:`instrument` for the named libraries (all when none are named)."""
    for name in names or tuple(_active):
        instrumentor = _active.pop(name, None)
        if instrumentor is not None:
            instrumentor.uninstrument()


__all__ = ["available", "instrument", "uninstrument"]
