"""Auto-instrumentation for LLM clients and vector stores: the registry of instrumentors.

Each library has its own subpackage with an instrumentor registered in the
``opentelemetry_instrumentor`` entry-point group as ``agentkit_<name>`` (so
``opentelemetry-instrument`` loads them). :func:`instrument` and
:func:`uninstrument` drive them from code::

    import otel_agentkit as agentkit

    agentkit.instrument()                   # every instrumentor whose library is installed
    agentkit.instrument("openai")           # just these
    agentkit.instrument("openai", capture_content="SPAN_ONLY")

A library is wrapped when the application imports it (at once if it already
has): instrumenting never imports a client library. The registry keeps no
state of its own: whether a library is instrumented is its instrumentor's
(``BaseInstrumentor`` is one instance per class), and what a library needs
comes from its instrumentor's ``instrumentation_dependencies()``. Importing
this module imports nothing beyond the standard library's ``importlib``.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

_log = logging.getLogger("otel_agentkit")

#: Entry-point group the OpenTelemetry launcher reads.
ENTRY_POINT_GROUP = "opentelemetry_instrumentor"
#: Our entry points are named ``agentkit_<library>``.
ENTRY_POINT_PREFIX = "agentkit_"


def available() -> dict[str, str]:
    """Library name -> ``module:Class`` of every registered otel-agentkit instrumentor."""
    from importlib.metadata import entry_points

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
    ``tracer_provider=``, ``capture_content=``). A library is wrapped when the
    application imports it, or at once when it already has; none is imported
    here. A library that is not installed is skipped with a debug log (an info
    log with the install hint when it was named explicitly); one installed at
    an unsupported version, with a warning. Returns the names instrumented by
    this call (one already instrumented, here or directly through its
    instrumentor, is not repeated).
    """
    from otel_agentkit.instrumentation._base import report_unmet, unmet_requirement

    registry = available()
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ValueError(
            f"unknown instrumentation {', '.join(map(repr, unknown))}; "
            f"available: {', '.join(sorted(registry)) or '(none)'}"
        )
    done: list[str] = []
    for name in names or tuple(sorted(registry)):
        try:
            instrumentor = _load(registry[name])()
        except Exception:
            log = _log.warning if names else _log.debug
            log("otel-agentkit: cannot load the %s instrumentor", name, exc_info=True)
            continue
        if instrumentor.is_instrumented_by_opentelemetry:
            continue
        unmet = unmet_requirement(instrumentor.instrumentation_dependencies())
        if unmet is not None:
            report_unmet(*unmet, absent_level=logging.INFO if names else logging.DEBUG)
            continue
        instrumentor.instrument(skip_dep_check=True, **kwargs)  # checked just above
        done.append(name)
    return done


def library_loggers() -> tuple[str, ...]:
    """Logger names of the libraries the registered instrumentors wrap.

    A client library logs under its import name (``openai``,
    ``qdrant_client``), so these are the instrumentors' ``_modules`` (or their
    ``_loggers``, where a library logs under other names); read
    from the instrumentor classes, without importing any library.
    :func:`otel_agentkit.logs.configure_logging` quiets them.
    """
    names: set[str] = set()
    for name, target in available().items():
        try:
            instrumentor = _load(target)
            names.update(
                getattr(instrumentor, "_loggers", ()) or getattr(instrumentor, "_modules", ())
            )
        except Exception:
            _log.debug("otel-agentkit: cannot load the %s instrumentor", name, exc_info=True)
    return tuple(sorted(names))


def uninstrument(*names: str) -> None:
    """Undo :func:`instrument` for the named libraries (all when none are named).

    Also undoes an instrumentor's own ``instrument()``, and cancels wrapping
    still waiting for the library's import.
    """
    registry = available()
    for name in names or tuple(sorted(registry)):
        module_name, _, attr = registry.get(name, "").partition(":")
        module = sys.modules.get(module_name)
        if module is None:  # never loaded, so never instrumented
            continue
        instrumentor = getattr(module, attr)()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


__all__ = ["available", "instrument", "library_loggers", "uninstrument"]
