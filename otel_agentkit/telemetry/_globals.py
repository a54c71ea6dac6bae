"""Install and reset the OpenTelemetry global providers.

The API lets each global provider be set once per process
(:func:`otel_agentkit._providers.installed` says which are set). ``shutdown()`` and
the test fixtures need to put the process back to "nothing installed" so a
later ``configure()`` can install fresh providers; that needs the API's
private set-once guards, touched only here.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry.util._once import Once


def install(tracer_provider: Any, meter_provider: Any, logger_provider: Any) -> None:
    """Make the given providers the process-wide globals."""
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    _logs.set_logger_provider(logger_provider)


def reset() -> None:
    """Forget the global providers so new ones can be installed.

    Tracers and meters obtained from the old providers keep pointing at them.
    """
    from opentelemetry._logs import _internal as logs_internal
    from opentelemetry.metrics import _internal as metrics_internal

    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    metrics_internal._METER_PROVIDER_SET_ONCE = Once()
    metrics_internal._METER_PROVIDER = None
    logs_internal._LOGGER_PROVIDER_SET_ONCE = Once()
    logs_internal._LOGGER_PROVIDER = None
