"""A stdlib ``logging`` handler that emits records as OpenTelemetry log records.

The SDK's own ``LoggingHandler`` is deprecated; this one is small, attaches the
current trace context to every record (the SDK takes it from the active
context) and never recurses: records from the exporters' own loggers are
dropped, and a re-entrant call on the same thread is ignored.
"""

from __future__ import annotations

import logging
import threading
import traceback
from time import time_ns
from typing import TYPE_CHECKING, Final

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.context import get_current

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LoggerProvider

#: Loggers whose records never go to the OTLP pipeline (they belong to it).
_EXCLUDED_PREFIXES: Final = ("opentelemetry", "grpc", "urllib3", "requests", "httpx", "httpcore")

_RESERVED: Final = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

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


class OTelLogHandler(logging.Handler):
    """Send stdlib log records to an OpenTelemetry ``LoggerProvider``."""

    def __init__(self, logger_provider: LoggerProvider, level: int = logging.NOTSET) -> None:
        super().__init__(level=level)
        self._provider = logger_provider
        self._local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop records from the export pipeline's own loggers."""
        if record.name.startswith(_EXCLUDED_PREFIXES):
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
                key: value
                for key, value in vars(record).items()
                if key not in _RESERVED and isinstance(value, str | bool | int | float)
            }
            attributes["code.file.path"] = record.pathname
            attributes["code.function.name"] = record.funcName
            attributes["code.line.number"] = record.lineno
            if record.exc_info and record.exc_info[0] is not None:
                exc_type, exc, _tb = record.exc_info
                attributes["exception.type"] = exc_type.__qualname__
                attributes["exception.message"] = str(exc)
                attributes["exception.stacktrace"] = "".join(
                    traceback.format_exception(*record.exc_info)
                )
            logger = self._provider.get_logger(record.name)
            logger.emit(
                LogRecord(
                    timestamp=int(record.created * 1e9),
                    observed_timestamp=time_ns(),
                    context=get_current(),
                    severity_text=text,
                    severity_number=number,
                    body=record.getMessage(),
                    attributes=attributes,  # type: ignore[arg-type]
                )
            )
        except Exception:
            self.handleError(record)
        finally:
            self._local.busy = False
