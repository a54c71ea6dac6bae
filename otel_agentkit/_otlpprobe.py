"""Ask an OTLP endpoint whether it takes exports: send it one empty export request.

An empty ``Export*ServiceRequest`` is a valid OTLP request that carries no
data, so a collector, Jaeger or any OTLP receiver answers it with success;
something else listening on the port (or nothing) does not. The configured
headers are sent (so a wrong token shows up as 401) and never appear in the
reason. Used by ``otel-agentkit doctor`` and by the demo before it starts.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Final
from urllib.parse import urlsplit

from otel_agentkit.health._redact import redact_text, redact_url
from otel_agentkit.telemetry.settings import OtlpSettings

__all__ = ["probe"]

_GRPC_SERVICES: Final = {
    "traces": ("trace", "TraceService", "ExportTraceServiceRequest"),
    "metrics": ("metrics", "MetricsService", "ExportMetricsServiceRequest"),
    "logs": ("logs", "LogsService", "ExportLogsServiceRequest"),
}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        inner = exc.reason
        return getattr(inner, "strerror", None) or str(inner)
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _probe_http(otlp: OtlpSettings, timeout: float) -> str | None:
    headers = {"Content-Type": "application/x-protobuf", **otlp.headers}
    request = urllib.request.Request(otlp.endpoint, data=b"", headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as exc:
        return f"answered HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return _reason(exc)
    return None


def _probe_grpc(signal: str, otlp: OtlpSettings, timeout: float) -> str | None:
    import importlib

    import grpc

    package, service, request_name = _GRPC_SERVICES[signal]
    base = f"opentelemetry.proto.collector.{package}.v1.{package}_service_pb2"
    messages = importlib.import_module(base)
    stubs = importlib.import_module(base + "_grpc")
    parts = urlsplit(otlp.endpoint)
    target = f"{parts.hostname}:{parts.port or 4317}"
    channel = (
        grpc.secure_channel(target, grpc.ssl_channel_credentials())
        if parts.scheme == "https" and not otlp.insecure
        else grpc.insecure_channel(target)
    )
    try:
        export = getattr(stubs, f"{service}Stub")(channel).Export
        export(
            getattr(messages, request_name)(),
            timeout=timeout,
            metadata=[(k.lower(), v) for k, v in otlp.headers.items()],
        )
    except grpc.RpcError as exc:
        code = exc.code() if callable(getattr(exc, "code", None)) else None
        details = exc.details() if callable(getattr(exc, "details", None)) else None
        name = code.name if code is not None else "error"
        return f"{name}" + (f": {details}" if details else "")
    finally:
        channel.close()
    return None


def probe(signal: str, otlp: OtlpSettings, timeout: float = 3.0) -> str | None:
    """None when ``otlp.endpoint`` accepted an empty ``signal`` export, else why not.

    The reason is one line, credentials and header values redacted.
    """
    try:
        if otlp.protocol == "grpc":
            reason = _probe_grpc(signal, otlp, timeout)
        else:
            reason = _probe_http(otlp, timeout)
    except Exception as exc:  # a probe must report, never raise
        reason = _reason(exc)
    if reason is None:
        return None
    reason = redact_text(" ".join(reason.split()), list(otlp.headers.values()))
    return f"{redact_url(otlp.endpoint)}: {reason}"
