"""A stdlib ``logging`` handler that emits records as OpenTelemetry log records.

The SDK's own ``LoggingHandler`` is deprecated; this one is small, attaches the
current trace context to every record (the SDK takes it from the active
context), plus the request id (``agentkit.request.id``) and, inside an LLM
span, ``gen_ai.response.id``. It never recurses: records logged while an
exporter runs (the SDK suppresses instrumentation for the duration of an
export, on whatever thread runs it) and records from the OpenTelemetry and
gRPC loggers are dropped, and a re-entrant call on the same thread is ignored.
"""

from __future__ import annotations

import logging
import threading
from time import time_ns
from typing import TYPE_CHECKING, Final

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, get_current, get_value
from opentelemetry.trace import get_current_span

from otel_agentkit import _providers, semconv
from otel_agentkit._content import redact, valid_utf8
from otel_agentkit._sanitize import exception_attributes
from otel_agentkit.context import get_request_id
from otel_agentkit.logs import (
    ATTR_REQUEST_ID,
    ATTR_RESPONSE_ID,
    ENRICHMENT_ATTRS,
    RESERVED_RECORD_ATTRS,
)

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LoggerProvider

#: Loggers whose records never go to the OTLP pipeline (they belong to it; gRPC
#: also logs from its own threads, outside the export's suppressed context).
#: HTTP client loggers (urllib3, requests, httpx) are not listed: during an
#: export they are dropped by the suppression check, elsewhere they are the app's.
_EXCLUDED: Final = ("opentelemetry", "grpc")
_EXCLUDED_PREFIXES: Final = tuple(f"{name}." for name in _EXCLUDED)

#: Record attributes that are not ``extra=`` fields: the LogRecord's own, and
#: the ids ``otel_agentkit.logs.ContextFilter`` adds (the OTel record carries
#: trace and span ids natively and service.name on its resource).
_RESERVED: Final = RESERVED_RECORD_ATTRS | ENRICHMENT_ATTRS

_SEVERITY: Final = (
    (logging.CRITICAL, SeverityNumber.FATAL, "FATAL"),
    (logging.ERROR, SeverityNumber.ERROR, "ERROR"),
    (logging.WARNING, SeverityNumber.WARN, "WARN"),
    (logging.INFO, SeverityNumber.INFO, "INFO"),
    (logging.DEBUG, SeverityNumber.DEBUG, "DEBUG"),
)


def _severity(levelno: int) -> tuple[SeverityNumber, str]:
    for threshold, number, text in _SEVERITY:
        if levelno >= threshold:
            return number, text
    return SeverityNumber.TRACE, "TRACE"


def _response_id() -> object:
    """``gen_ai.response.id`` of the current span when it is a recording SDK span."""
    span = get_current_span()
    if not span.is_recording():
        return None
    attributes = getattr(span, "attributes", None)
    return attributes.get(semconv.GEN_AI_RESPONSE_ID) if attributes else None


def is_bridge(handler: logging.Handler, provider: object, *, via_proxy: bool) -> bool:
    """Whether ``handler`` already sends records to ``provider``.

    Recognises this module's handler and the SDK's (deprecated) ``LoggingHandler``,
    so :func:`otel_agentkit.configure` never bridges a record twice. With
    ``via_proxy`` (``provider`` is about to become the global one), a handler
    bound to the global proxy provider counts too.
    """
    target = getattr(handler, "_provider", None) or getattr(handler, "_logger_provider", None)
    if target is None:
        return False
    if target is provider:
        return True
    if not via_proxy:
        return False
    # Created before any provider was installed: it resolves to the global
    # provider, which configure() is about to make ours.
    return _providers.is_proxy(target)


class OTelLogHandler(logging.Handler):
    """Send stdlib log records to an OpenTelemetry ``LoggerProvider``."""

    def __init__(self, logger_provider: LoggerProvider, level: int = logging.NOTSET) -> None:
        super().__init__(level=level)
        self._provider = logger_provider
        self._local = threading.local()

    @property
    def logger_provider(self) -> LoggerProvider:
        """The provider records are emitted to."""
        return self._provider

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop records from the export pipeline's own loggers and from inside an export."""
        name = record.name
        if name in _EXCLUDED or name.startswith(_EXCLUDED_PREFIXES):
            return False
        if get_value(_SUPPRESS_INSTRUMENTATION_KEY):
            return False
        return bool(super().filter(record))

    def emit(self, record: logging.LogRecord) -> None:
        """Translate ``record`` and hand it to the SDK."""
        if getattr(self._local, "busy", False):
            return
        self._local.busy = True
        try:
            number, text = _severity(record.levelno)
            attributes: dict[str, object] = {
                key: valid_utf8(value) if type(value) is str else value
                for key, value in vars(record).items()
                if key not in _RESERVED and isinstance(value, str | bool | int | float)
            }
            attributes[semconv.CODE_FILE_PATH] = record.pathname
            attributes[semconv.CODE_FUNCTION_NAME] = record.funcName
            attributes[semconv.CODE_LINE_NUMBER] = record.lineno
            # An explicit or filter-set id on the record wins over the context's.
            request_id = getattr(record, ATTR_REQUEST_ID, None) or get_request_id()
            if request_id:
                attributes[semconv.AGENTKIT_REQUEST_ID] = str(request_id)
            response_id = getattr(record, ATTR_RESPONSE_ID, None) or _response_id()
            if response_id:
                attributes[semconv.GEN_AI_RESPONSE_ID] = str(response_id)
            if record.exc_info and record.exc_info[0] is not None:
                _exc_type, exc, tb = record.exc_info
                # Redacted, bounded, never raising (the record's exception is outside text).
                attributes.update(exception_attributes(exc, tb, qualified=False))
            logger = self._provider.get_logger(record.name)
            logger.emit(
                LogRecord(
                    timestamp=int(record.created * 1e9),
                    observed_timestamp=time_ns(),
                    context=get_current(),
                    severity_text=text,
                    severity_number=number,
                    body=valid_utf8(redact(record.getMessage())),
                    attributes=attributes,  # type: ignore[arg-type]
                )
            )
        except Exception:
            self.handleError(record)
        finally:
            self._local.busy = False
