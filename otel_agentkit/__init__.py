"""otel-agentkit: OpenTelemetry-first instrumentation for LLM and agent applications.

``import otel_agentkit`` is light: it imports the OpenTelemetry API and the
standard library only. The SDK and exporters load when :func:`configure` runs;
client libraries, web frameworks and vector stores load only when their
instrumentation is used.
"""

from __future__ import annotations

from otel_agentkit._version import __version__
from otel_agentkit.errors import AgentkitError, ConfigurationError
from otel_agentkit.telemetry import Telemetry, configure, get_telemetry, shutdown

__all__ = [
    "AgentkitError",
    "ConfigurationError",
    "Telemetry",
    "__version__",
    "configure",
    "get_telemetry",
    "shutdown",
]
