"""Deep health checks with caching: is the agent able to serve right now?

::

    from otel_agentkit.health import CheckResult, HealthRegistry, disk_check, ollama_check

    health = HealthRegistry(default_ttl=30.0, default_timeout=2.0)
    health.add("ollama", ollama_check("http://localhost:11434", model="llama3"))
    health.add("disk", disk_check(path="/", min_free_bytes=1 << 30), critical=False)

    @health.check("model-server", critical=True, ttl=10.0, timeout=1.0)
    async def model_server() -> CheckResult:
        return CheckResult.ok("3 models")

    report = await health.run()          # health.run_sync() from sync code
    report.status                        # "ok" | "degraded" | "error"
    report.http_status                   # 200 | 503
    report.to_dict()                     # the /health response body
    health.live().to_dict()              # /health/live: no dependency checks

Importing this module loads only the standard library and the OpenTelemetry
API. See ``docs/health.md``.
"""

from __future__ import annotations

from otel_agentkit.health._core import (
    DEGRADED,
    ERROR,
    OK,
    CheckFunction,
    CheckResult,
    HealthRegistry,
    HealthReport,
    Status,
    aggregate_status,
)
from otel_agentkit.health._redact import redact_text, redact_url
from otel_agentkit.health.checks import (
    chroma_check,
    disk_check,
    http_check,
    memory_check,
    ollama_check,
    openai_compatible_check,
    otlp_export_check,
    prometheus_check,
    qdrant_check,
    tcp_check,
)

__all__ = [
    "DEGRADED",
    "ERROR",
    "OK",
    "CheckFunction",
    "CheckResult",
    "HealthRegistry",
    "HealthReport",
    "Status",
    "aggregate_status",
    "chroma_check",
    "disk_check",
    "http_check",
    "memory_check",
    "ollama_check",
    "openai_compatible_check",
    "otlp_export_check",
    "prometheus_check",
    "qdrant_check",
    "redact_text",
    "redact_url",
    "tcp_check",
]
