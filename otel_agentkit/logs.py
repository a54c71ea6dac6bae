"""Log records that lead to their trace and their request, as JSON lines or text.

:func:`configure_logging` installs one handler (stdout by default, or a file)
with a JSON or text formatter that adds, to every record, the current trace
and span ids, the request id from :mod:`otel_agentkit.context`, the provider's
response id inside an LLM span, and ``service.name``. The same enrichment is
available on its own:

* :class:`ContextFilter` sets ``trace_id``, ``span_id``, ``request_id``,
  ``gen_ai_response_id`` and ``service_name`` attributes on records, for your
  own formatters (``"%(trace_id)s"``); :func:`enrich_handlers` adds it to the
  handlers an application already has.
* :func:`structlog_processor` adds the same ids to a structlog event dict.
* :func:`log_request_started` / :func:`log_request_completed` emit the
  ``request_started`` / ``request_completed`` events the web middleware uses.

Records reach an OTLP backend through the bridge :func:`otel_agentkit.configure`
attaches when a logs exporter is configured; that path is independent of the
handler installed here, so a record is written once to each sink.

This module imports only the standard library and ``opentelemetry-api``.
"""

from __future__ import annotations

import json
import json.encoder
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TextIO

from opentelemetry import trace

from otel_agentkit import _content, _providers, _sanitize, semconv
from otel_agentkit.context import get_request_id
from otel_agentkit.errors import ConfigurationError

__all__ = [
    "DEFAULT_NOISY_LOGGERS",
    "REQUEST_LOGGER_NAME",
    "ContextFilter",
    "JsonFormatter",
    "LoggingSettings",
    "TextFormatter",
    "configure_logging",
    "enrich_handlers",
    "format_timestamp",
    "log_request_completed",
    "log_request_started",
    "reset_logging",
    "resolve_logging_settings",
    "structlog_processor",
]

# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------

ENV_LOG_LEVEL: Final = "AGENTKIT_LOG_LEVEL"
ENV_LOG_FORMAT: Final = "AGENTKIT_LOG_FORMAT"
ENV_LOG_FILE: Final = "AGENTKIT_LOG_FILE"
#: Fallback for the level: many deployments already set it.
ENV_LOG_LEVEL_FALLBACK: Final = "LOG_LEVEL"
#: Any of these set makes :func:`otel_agentkit.configure` apply :func:`configure_logging`.
ENV_LOG_SETTINGS: Final = (ENV_LOG_LEVEL, ENV_LOG_FORMAT, ENV_LOG_FILE)

#: Logger the request events are emitted on.
REQUEST_LOGGER_NAME: Final = "otel_agentkit.http"
EVENT_REQUEST_STARTED: Final = "request_started"
EVENT_REQUEST_COMPLETED: Final = "request_completed"

#: Transport loggers that are chatty at INFO/DEBUG (one line per HTTP call,
#: per gRPC poll, per access); :func:`configure_logging` sets them, and the
#: loggers of every library otel-agentkit instruments
#: (:func:`otel_agentkit.instrumentation.library_loggers`), to WARNING.
DEFAULT_NOISY_LOGGERS: Final[tuple[str, ...]] = (
    "urllib3",
    "requests",
    "httpx",
    "httpx2",  # openai 3.x and anthropic 2.x send through it
    "httpcore",
    "h11",
    "h2",
    "hpack",
    "werkzeug",
    "grpc",
)

# JSON keys of the schema (the ``service.name`` and ``exception.*`` keys are
# semantic-convention attribute names).
KEY_TIMESTAMP: Final = "timestamp"
KEY_LEVEL: Final = "level"
KEY_LOGGER: Final = "logger"
KEY_MESSAGE: Final = "message"
KEY_TRACE_ID: Final = "trace_id"
KEY_SPAN_ID: Final = "span_id"
KEY_REQUEST_ID: Final = "request_id"
KEY_STACK_INFO: Final = "stack_info"

# Attributes the enrichment sets on ``logging.LogRecord`` objects (identifiers,
# so ``%(trace_id)s`` works in a format string).
ATTR_TRACE_ID: Final = "trace_id"
ATTR_SPAN_ID: Final = "span_id"
ATTR_REQUEST_ID: Final = "request_id"
ATTR_RESPONSE_ID: Final = "gen_ai_response_id"
ATTR_SERVICE_NAME: Final = "service_name"
#: Record attributes that are enrichment, never copied as ``extra`` fields.
ENRICHMENT_ATTRS: Final = frozenset(
    {ATTR_TRACE_ID, ATTR_SPAN_ID, ATTR_REQUEST_ID, ATTR_RESPONSE_ID, ATTR_SERVICE_NAME}
)

#: Attributes every ``LogRecord`` has (plus those formatters add); the rest are ``extra=``.
RESERVED_RECORD_ATTRS: Final = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
}
_NOT_EXTRA: Final = RESERVED_RECORD_ATTRS | ENRICHMENT_ATTRS
#: What ``LogRecord.__init__`` sets, i.e. the head of every record's ``__dict__``.
_INIT_ATTRS: Final = frozenset(vars(logging.makeLogRecord({})))
#: Keys of the JSON schema an ``extra=`` field may not overwrite.
_SCHEMA_KEYS: Final = frozenset(
    {
        KEY_TIMESTAMP,
        KEY_LEVEL,
        KEY_LOGGER,
        KEY_MESSAGE,
        semconv.SERVICE_NAME,
        KEY_TRACE_ID,
        KEY_SPAN_ID,
        KEY_REQUEST_ID,
        semconv.GEN_AI_RESPONSE_ID,
        semconv.EXCEPTION_TYPE,
        semconv.EXCEPTION_MESSAGE,
        semconv.EXCEPTION_STACKTRACE,
        KEY_STACK_INFO,
    }
)

_DEFAULT_SERVICE_NAME: Final = "unknown_service:python"
_FORMATS: Final = ("json", "text")
_STDOUT: Final = frozenset({"", "-", "stdout"})
_STDERR: Final = "stderr"

# ---------------------------------------------------------------------------
# Context lookup (the hot path: keep it to a few attribute reads)
# ---------------------------------------------------------------------------

_get_current_span = trace.get_current_span


def _span_fields(span: trace.Span) -> tuple[str, str, str]:
    """(trace_id, span_id, gen_ai.response.id) of ``span``; empty strings when absent."""
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return "", "", ""
    response_id = ""
    if span.is_recording():
        # SDK spans expose their attributes; API/non-recording spans do not.
        attributes = getattr(span, "attributes", None)
        if attributes:
            try:
                value = attributes.get(semconv.GEN_AI_RESPONSE_ID)
            except Exception:  # a third-party span with odd attributes
                value = None
            if value is not None:
                response_id = str(value)
    cached = _ids_cache
    if cached[0] is ctx:  # several lines per span: format the ids once
        return cached[1], cached[2], response_id
    trace_hex, span_hex = format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")
    _set_ids_cache((ctx, trace_hex, span_hex))
    return trace_hex, span_hex, response_id


#: (span context, trace id hex, span id hex) of the last span seen; replaced
#: with one assignment, so concurrent readers see either the old or new tuple.
_ids_cache: tuple[object, str, str] = (None, "", "")


def _set_ids_cache(value: tuple[object, str, str]) -> None:
    global _ids_cache
    _ids_cache = value


_service_cache: tuple[object, str] | None = None


def _service_name() -> str:
    """``service.name`` of the global tracer provider's resource, else from the environment.

    Cached on the provider's identity, so a record costs one lookup and one
    ``is`` check. (``configure()`` passes its own service name down when it
    sets up logging, so this is for formatters and filters made without one.)
    """
    global _service_cache
    provider = trace.get_tracer_provider()
    cache = _service_cache
    if cache is not None and cache[0] is provider:
        return cache[1]
    if _providers.is_real(provider):
        name = _providers.resource_attribute(semconv.SERVICE_NAME, provider)
        _service_cache = (provider, name or _DEFAULT_SERVICE_NAME)
        return _service_cache[1]
    # Nothing installed yet: the environment decides (it may still change).
    return _service_name_from_env(os.environ)


def _service_name_from_env(environ: Mapping[str, str]) -> str:
    global _env_service_cache
    raw = (environ.get("OTEL_SERVICE_NAME"), environ.get("OTEL_RESOURCE_ATTRIBUTES"))
    cached = _env_service_cache
    if cached[0] == raw:
        return cached[1]
    name = (raw[0] or "").strip()
    if not name:
        name = _DEFAULT_SERVICE_NAME
        for item in (raw[1] or "").split(","):
            key, _, value = item.partition("=")
            if key.strip() == semconv.SERVICE_NAME and value.strip():
                from urllib.parse import unquote

                name = unquote(value.strip())
                break
    _env_service_cache = (raw, name)
    return name


_env_service_cache: tuple[tuple[str | None, str | None], str] = ((None, None), "")


def _record_context(record: logging.LogRecord) -> tuple[str, str, str, str]:
    """(trace_id, span_id, request_id, response_id) for ``record``.

    Values a :class:`ContextFilter` (or an explicit ``extra=``) put on the
    record win; anything missing comes from the current context.
    """
    d = record.__dict__
    if ATTR_TRACE_ID in d or ATTR_SPAN_ID in d:
        # Set on the thread that logged (ContextFilter) or passed explicitly.
        trace_id, span_id = str(d.get(ATTR_TRACE_ID) or ""), str(d.get(ATTR_SPAN_ID) or "")
        response_id = d.get(ATTR_RESPONSE_ID) or ""
    else:
        trace_id, span_id, response_id = _span_fields(_get_current_span())
        response_id = d.get(ATTR_RESPONSE_ID) or response_id
    request_id = d.get(ATTR_REQUEST_ID)
    if request_id is None:
        request_id = get_request_id()
    return trace_id, span_id, str(request_id or ""), str(response_id or "")


class ContextFilter(logging.Filter):
    """Add ``trace_id``, ``span_id``, ``request_id``, ``gen_ai_response_id`` and
    ``service_name`` attributes to every record that passes (it never drops one).

    Absent ids are empty strings, so ``"%(trace_id)s"`` always formats. A value
    the caller passed explicitly (``extra={"request_id": ...}``) is kept.
    Attach it to a handler (``handler.addFilter(ContextFilter())``) or use
    :func:`enrich_handlers`; on a ``QueueHandler`` it captures the ids on the
    thread that logged, before the record changes threads.
    """

    def __init__(self, *, service_name: str | None = None) -> None:
        super().__init__()
        self._service_name = service_name

    def filter(self, record: logging.LogRecord) -> bool:
        """Set the id attributes on ``record``; always True, never raises.

        (A filter runs inside the application's logging call, outside the
        handler's error handling, so a failure here must not escape.)
        """
        d = record.__dict__
        try:
            if ATTR_SPAN_ID not in d or ATTR_TRACE_ID not in d:
                trace_id, span_id, request_id, response_id = _record_context(record)
                d[ATTR_TRACE_ID] = trace_id
                d[ATTR_SPAN_ID] = span_id
                d[ATTR_REQUEST_ID] = request_id
                d[ATTR_RESPONSE_ID] = response_id
            if ATTR_SERVICE_NAME not in d:
                d[ATTR_SERVICE_NAME] = self._service_name or _service_name()
        except Exception:
            for key in ENRICHMENT_ATTRS:
                d.setdefault(key, "")
        return True


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------

_ts_cache: tuple[int, str] = (-1, "")


def format_timestamp(created: float) -> str:
    """RFC 3339 UTC with milliseconds, e.g. ``2026-11-23T11:22:33.123Z``."""
    global _ts_cache
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    cached = _ts_cache
    if cached[0] == seconds:
        prefix = cached[1]
    else:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _ts_cache = (seconds, prefix)
    return f"{prefix}.{millis:03d}Z"


#: Types written as ``str(value)``: (module, class) looked up only if the module is loaded.
_STR_TYPES: Final = (("uuid", "UUID"), ("decimal", "Decimal"), ("pathlib", "PurePath"))


def _json_default(value: object) -> object:
    """Make ``value`` JSON-safe: date-likes as ISO 8601, UUID/Decimal/paths as str, else repr."""
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        try:
            return isoformat()
        except Exception:  # a broken isoformat(): fall back to repr
            return repr(value)
    for module_name, type_name in (
        ("uuid", "UUID"),
        ("decimal", "Decimal"),
        ("pathlib", "PurePath"),
    ):
        module = sys.modules.get(module_name)  # only loaded if such a value can exist
        if module is not None and isinstance(value, getattr(module, type_name)):
            return str(value)
    return repr(value)


_ENCODER: Final = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, default=_json_default, separators=(",", ":")
)


#: JSON string literal of a str (the C-accelerated encoder of the json module).
_enc_str: Final[Callable[[str], str]] = json.encoder.encode_basestring
_INFINITIES: Final = (math.inf, -math.inf)


def _enc_text(value: object) -> str:
    """JSON string literal of ``value`` as text."""
    return _enc_str(value if isinstance(value, str) else str(value))


def _enc_value(value: object) -> str:
    """JSON text of one ``extra=`` value; never raises (``repr`` as a last resort)."""
    if isinstance(value, str):
        return _enc_str(value)
    kind = type(value)
    if kind is int:
        return repr(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is float:
        if value != value or value in _INFINITIES:  # JSON has no NaN/Infinity
            return _enc_str(repr(value))
        return repr(value)
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError):
        return _enc_str(repr(value))


def _exception_fields(formatter: logging.Formatter, record: logging.LogRecord) -> dict[str, str]:
    """``exception.type`` / ``.message`` / ``.stacktrace`` of ``record.exc_info``."""
    exc_info = record.exc_info
    if not exc_info or exc_info[0] is None:
        if record.exc_text:
            return {semconv.EXCEPTION_STACKTRACE: record.exc_text}
        return {}
    exc_type, exc, _tb = exc_info
    return {
        semconv.EXCEPTION_TYPE: _sanitize.text(exc_type.__qualname__),
        semconv.EXCEPTION_MESSAGE: _sanitize.exception_message(exc),
        semconv.EXCEPTION_STACKTRACE: _traceback_text(formatter, record),
    }


def _traceback_text(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    """The record's traceback (cached on it, as ``logging.Formatter`` does), redacted."""
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    return _sanitize.message(record.exc_text or "", _sanitize.MAX_STACKTRACE_LENGTH)


def _exportable(line: str) -> str:
    """``line`` with each lone surrogate (a file name from ``os.fsdecode``) as a ``\\udXXX`` escape.

    A stream that encodes UTF-8 would otherwise fail on it and drop the line.
    """
    if line.isascii():
        return line
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return line.encode("utf-8", "backslashreplace").decode("utf-8")
    return line


def _extras(record: logging.LogRecord) -> list[tuple[Any, object]]:
    """Every ``extra=`` field of ``record``, in the order given.

    ``LogRecord.__init__`` sets its own attributes first; ``extra=`` fields and
    whatever filters add come after them, so only the tail of the record's
    ``__dict__`` is scanned.
    """
    d = record.__dict__
    found: list[tuple[Any, object]] = []
    for key in reversed(d):
        if key in _INIT_ATTRS:
            break
        if key not in _NOT_EXTRA:
            found.append((key, d[key]))
    found.reverse()
    return found


def _key(name: str) -> str:
    """``,"name":`` -- a key of the JSON line, escaped once at import."""
    return f",{_enc_str(name)}:"


# The fixed pieces of a JSON line (the timestamp needs no escaping: it is ours).
_J_TIMESTAMP: Final = "{" + _enc_str(KEY_TIMESTAMP) + ':"'
_J_LEVEL: Final = '"' + _key(KEY_LEVEL)
_J_LOGGER: Final = _key(KEY_LOGGER)
_J_MESSAGE: Final = _key(KEY_MESSAGE)
_J_SERVICE: Final = _key(semconv.SERVICE_NAME)
_J_TRACE_ID: Final = _key(KEY_TRACE_ID)
_J_SPAN_ID: Final = _key(KEY_SPAN_ID)
_J_REQUEST_ID: Final = _key(KEY_REQUEST_ID)
_J_RESPONSE_ID: Final = _key(semconv.GEN_AI_RESPONSE_ID)
_J_STACK_INFO: Final = _key(KEY_STACK_INFO)


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line.

    Keys: ``timestamp`` (RFC 3339 UTC, ms), ``level``, ``logger``, ``message``,
    ``service.name``, then ``trace_id`` / ``span_id`` (32 / 16 lowercase hex)
    when a valid span is current, ``request_id`` when one is set,
    ``gen_ai.response.id`` inside an LLM span that has it, every ``extra=``
    field as a top-level key (values that JSON cannot carry become their
    ``repr``; a field named like a schema key is written as ``extra.<name>``),
    and ``exception.type`` / ``exception.message`` / ``exception.stacktrace``
    for ``exc_info``.

    Args:
        service_name: fixed ``service.name``; by default the configured
            resource's, else ``OTEL_SERVICE_NAME``.
    """

    def __init__(self, *, service_name: str | None = None) -> None:
        super().__init__()
        self._service_name = service_name

    def format(self, record: logging.LogRecord) -> str:
        """Return the JSON line for ``record`` (no trailing newline)."""
        trace_id, span_id, request_id, response_id = _record_context(record)
        d = record.__dict__
        service = self._service_name or d.get(ATTR_SERVICE_NAME) or _service_name()
        parts = [
            _J_TIMESTAMP,
            format_timestamp(record.created),
            _J_LEVEL,
            _enc_text(record.levelname),
            _J_LOGGER,
            _enc_text(record.name),
            _J_MESSAGE,
            _enc_str(_content.redact(record.getMessage())),
            _J_SERVICE,
            _enc_text(service),
        ]
        if trace_id:
            parts += (_J_TRACE_ID, _enc_str(trace_id), _J_SPAN_ID, _enc_str(span_id))
        if request_id:
            parts += (_J_REQUEST_ID, _enc_str(request_id))
        if response_id:
            parts += (_J_RESPONSE_ID, _enc_str(response_id))
        for key, value in _extras(record):
            name = key if type(key) is str else str(key)
            if name in _SCHEMA_KEYS:
                name = f"extra.{name}"
            parts += (",", _enc_str(name), ":", _enc_value(value))
        if record.exc_info or record.exc_text:
            for key, text in _exception_fields(self, record).items():
                parts += (",", _enc_str(key), ":", _enc_str(text))
        if record.stack_info:
            parts += (_J_STACK_INFO, _enc_str(self.formatStack(record.stack_info)))
        parts.append("}")
        return _exportable("".join(parts))


def _logfmt_value(value: object) -> str:
    text = value if isinstance(value, str) else _enc_value(value)
    if not text or any(c in text for c in ' "=\n\t'):
        return json.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    """One readable line: ``timestamp LEVEL logger: message key=value ...``.

    The ids come first (``trace_id=… span_id=… request_id=…``, only those that
    are set), then ``extra=`` fields; values with spaces are quoted. A
    traceback follows on the next lines.
    """

    def __init__(self, *, service_name: str | None = None) -> None:
        super().__init__()
        self._service_name = service_name

    def format(self, record: logging.LogRecord) -> str:
        """Return the text line(s) for ``record``."""
        trace_id, span_id, request_id, response_id = _record_context(record)
        parts = [
            format_timestamp(record.created),
            f"{record.levelname:<7}",
            f"{record.name}:",
            _content.redact(record.getMessage()),
        ]
        if trace_id:
            parts.append(f"trace_id={trace_id} span_id={span_id}")
        if request_id:
            parts.append(f"request_id={_logfmt_value(request_id)}")
        if response_id:
            parts.append(f"{semconv.GEN_AI_RESPONSE_ID}={_logfmt_value(response_id)}")
        parts.extend(f"{key}={_logfmt_value(value)}" for key, value in _extras(record))
        line = " ".join(parts)
        if record.exc_info or record.exc_text:
            line = f"{line}\n{_traceback_text(self, record)}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return _exportable(line)


# ---------------------------------------------------------------------------
# structlog
# ---------------------------------------------------------------------------


def structlog_processor(
    logger: object, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: add ``trace_id``, ``span_id``, ``request_id`` and
    ``gen_ai.response.id`` (each only when set, never over a key already there).

    Put it before the renderer::

        structlog.configure(processors=[
            structlog.processors.add_log_level,
            otel_agentkit.logs.structlog_processor,
            structlog.processors.JSONRenderer(),
        ])

    structlog itself is not imported: a processor is a plain callable.
    """
    try:
        trace_id, span_id, response_id = _span_fields(_get_current_span())
    except Exception:  # never break the application's log call
        return event_dict
    if trace_id:
        event_dict.setdefault(KEY_TRACE_ID, trace_id)
        event_dict.setdefault(KEY_SPAN_ID, span_id)
    request_id = get_request_id()
    if request_id:
        event_dict.setdefault(KEY_REQUEST_ID, request_id)
    if response_id:
        event_dict.setdefault(semconv.GEN_AI_RESPONSE_ID, response_id)
    return event_dict


# ---------------------------------------------------------------------------
# Request events
# ---------------------------------------------------------------------------

_request_log = logging.getLogger(REQUEST_LOGGER_NAME)
_internal_log = logging.getLogger("otel_agentkit.logs")


def _event_extra(event: str, fields: Mapping[str, object]) -> dict[str, object]:
    extra: dict[str, object] = {"event": event}
    for key, value in fields.items():
        if value is None:
            continue
        # A field named like a LogRecord attribute would make logging raise.
        extra[f"{key}_" if key in RESERVED_RECORD_ATTRS else key] = value
    return extra


def log_request_started(
    method: str, route: str | None, request_id: str | None = None, **fields: object
) -> None:
    """Log a ``request_started`` event on the ``otel_agentkit.http`` logger (INFO).

    ``method``, ``route``, ``request_id`` (default: the current one) and any
    ``fields`` become structured fields of the record. Never raises.
    """
    logger = _request_log
    if not logger.isEnabledFor(logging.INFO):
        return
    try:
        extra = _event_extra(
            EVENT_REQUEST_STARTED,
            {"method": method, "route": route, "request_id": request_id or get_request_id()}
            | fields,
        )
        logger.info(EVENT_REQUEST_STARTED, extra=extra, stacklevel=2)
    except Exception:  # logging must never break the request
        _internal_log.debug("request_started event failed", exc_info=True)


def log_request_completed(
    method: str,
    route: str | None,
    status: int,
    latency_ms: float,
    request_id: str | None = None,
    **fields: object,
) -> None:
    """Log a ``request_completed`` event on the ``otel_agentkit.http`` logger (INFO).

    Fields: ``method``, ``route``, ``status``, ``latency_ms`` (rounded to
    0.001), ``request_id`` (default: the current one) and any ``fields``.
    Never raises.
    """
    logger = _request_log
    if not logger.isEnabledFor(logging.INFO):
        return
    try:
        extra = _event_extra(
            EVENT_REQUEST_COMPLETED,
            {
                "method": method,
                "route": route,
                "status": status,
                "latency_ms": round(float(latency_ms), 3),
                "request_id": request_id or get_request_id(),
            }
            | fields,
        )
        logger.info(EVENT_REQUEST_COMPLETED, extra=extra, stacklevel=2)
    except Exception:  # logging must never break the request
        _internal_log.debug("request_completed event failed", exc_info=True)


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggingSettings:
    """Validated level, format and destination for :func:`configure_logging`."""

    level: int
    fmt: Literal["json", "text"]
    file: str | None
    """A path, or None for stdout; ``"stderr"`` for standard error."""
    file_source: str


def _parse_level(setting: str, value: str | int) -> int:
    if isinstance(value, bool):
        raise ConfigurationError(setting, value, "expected a log level name or number")
    if isinstance(value, int):
        if value < 0:
            raise ConfigurationError(setting, value, "a log level number cannot be negative")
        return value
    text = value.strip()
    if text.isdigit():
        return int(text)
    names = logging.getLevelNamesMapping()
    level = names.get(text.upper())
    if level is None or text.upper() == "NOTSET":
        allowed = "DEBUG, INFO, WARNING, ERROR, CRITICAL"
        raise ConfigurationError(
            setting, value, f"unknown log level; expected one of {allowed} or a number"
        )
    return level


def resolve_logging_settings(
    level: str | int | None = None,
    fmt: str | None = None,
    file: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    arg_names: tuple[str, str, str] = ("level", "fmt", "file"),
) -> LoggingSettings:
    """Resolve level, format and destination: arguments, then environment, then defaults.

    Level: ``level``, ``AGENTKIT_LOG_LEVEL``, ``LOG_LEVEL``, else INFO.
    Format: ``fmt``, ``AGENTKIT_LOG_FORMAT``, else ``json``.
    Destination: ``file``, ``AGENTKIT_LOG_FILE`` (a path, ``stdout``/``-`` or
    ``stderr``), else stdout.

    Raises:
        ConfigurationError: naming the argument or variable and its value.
    """
    env = os.environ if environ is None else environ

    def from_env(*names: str) -> tuple[str | None, str]:
        for name in names:
            raw = env.get(name)
            if raw is not None and raw.strip():
                return raw.strip(), name
        return None, names[0]

    if level is not None:
        resolved_level = _parse_level(arg_names[0], level)
    else:
        raw, source = from_env(ENV_LOG_LEVEL, ENV_LOG_LEVEL_FALLBACK)
        resolved_level = logging.INFO if raw is None else _parse_level(source, raw)

    fmt_value, fmt_source = (fmt, arg_names[1]) if fmt is not None else from_env(ENV_LOG_FORMAT)
    fmt_name = (fmt_value or "json").strip().lower()
    if fmt_name not in _FORMATS:
        raise ConfigurationError(fmt_source, fmt_value, "unknown log format; expected json or text")

    file_value: str | None
    if file is not None:
        file_value, file_source = os.fspath(file), arg_names[2]
    else:
        file_value, file_source = from_env(ENV_LOG_FILE)
    destination: str | None = None
    if file_value is not None and file_value.strip().lower() not in _STDOUT:
        destination = _STDERR if file_value.strip().lower() == _STDERR else file_value
    return LoggingSettings(
        level=resolved_level,
        fmt="text" if fmt_name == "text" else "json",
        file=destination,
        file_source=file_source,
    )


# ---------------------------------------------------------------------------
# Handlers and configure_logging
# ---------------------------------------------------------------------------


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at emit time (like ``logging.lastResort``)."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        logging.Handler.__init__(self, level)

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.setStream assigns it
        pass


class _StderrHandler(_StdoutHandler):
    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


#: Marker attribute on handlers configure_logging installed.
_MANAGED: Final = "_otel_agentkit_managed"

_lock = threading.RLock()
_installed: list[tuple[logging.Logger, logging.Handler]] = []
_enriched: list[tuple[logging.Handler, ContextFilter]] = []
#: Noisy loggers whose level we changed from NOTSET -> the level we set.
_noisy_saved: dict[str, int] = {}


def _resolve_logger(root: logging.Logger | str | None) -> logging.Logger:
    if isinstance(root, logging.Logger):
        return root
    return logging.getLogger(root or None)


def _sink(handler: logging.Handler) -> str | None:
    """A key naming where ``handler`` writes: ``"stdout"``, ``"stderr"`` or a file path."""
    if isinstance(handler, _StderrHandler):
        return "stderr"
    if isinstance(handler, _StdoutHandler):
        return "stdout"
    if isinstance(handler, logging.FileHandler):
        return os.path.abspath(handler.baseFilename)
    if isinstance(handler, logging.StreamHandler):
        stream = handler.stream
        if stream is sys.stdout or stream is sys.__stdout__:
            return "stdout"
        if stream is sys.stderr or stream is sys.__stderr__:
            return "stderr"
    return None


def _make_handler(settings: LoggingSettings) -> logging.Handler:
    if settings.file is None:
        return _StdoutHandler()
    if settings.file == _STDERR:
        return _StderrHandler()
    try:
        return logging.FileHandler(settings.file, encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            settings.file_source,
            settings.file,
            f"cannot open the log file for appending: {exc.strerror or exc}",
        ) from None


def _remove_installed() -> None:
    while _installed:
        logger, handler = _installed.pop()
        logger.removeHandler(handler)
        handler.close()


def enrich_handlers(
    root: logging.Logger | str | None = None, *, service_name: str | None = None
) -> int:
    """Add a :class:`ContextFilter` to every handler of ``root`` (default: the root logger).

    For applications that keep their own handlers and formatters: their
    records gain ``trace_id``, ``span_id``, ``request_id``,
    ``gen_ai_response_id`` and ``service_name`` attributes. Handlers that
    already have one are left alone; returns how many were enriched.
    :func:`reset_logging` removes the filters again.
    """
    logger = _resolve_logger(root)
    count = 0
    with _lock:
        for handler in logger.handlers:
            if any(isinstance(f, ContextFilter) for f in handler.filters):
                continue
            context_filter = ContextFilter(service_name=service_name)
            handler.addFilter(context_filter)
            _enriched.append((handler, context_filter))
            count += 1
    return count


def _set_noisy(names: Iterable[str], level: int | None) -> None:
    # Put back what a previous call changed (unless the application has set
    # another level since), then apply the new level.
    for name, applied in _noisy_saved.items():
        logger = logging.getLogger(name)
        if logger.level == applied:
            logger.setLevel(logging.NOTSET)
    _noisy_saved.clear()
    if level is None:
        return
    for name in names:
        logger = logging.getLogger(name)
        if logger.level != logging.NOTSET:
            continue  # the application chose a level for it: keep that
        _noisy_saved[name] = level
        logger.setLevel(level)


def configure_logging(
    level: str | int | None = None,
    fmt: str | None = None,
    file: str | os.PathLike[str] | None = None,
    *,
    root: logging.Logger | str | None = None,
    noisy_level: str | int | None = logging.WARNING,
    noisy_loggers: Iterable[str] | None = None,
    enrich_existing: bool = False,
    service_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> logging.Handler:
    """Install one handler writing enriched JSON lines or text; return it.

    Level, format and destination come from the arguments, else from
    ``AGENTKIT_LOG_LEVEL`` (or ``LOG_LEVEL``) / ``AGENTKIT_LOG_FORMAT`` /
    ``AGENTKIT_LOG_FILE``, else INFO, ``json`` and stdout. Idempotent: a new
    call replaces the handler an earlier call installed (never two). A handler
    the application already has that writes to the same stream or file is
    replaced too, so no line is written twice to one destination; handlers
    writing elsewhere are kept.

    Args:
        level: level of ``root`` (name such as ``"INFO"`` or a number).
        fmt: ``"json"`` (default) or ``"text"``.
        file: a file path to append to, or ``"stdout"`` / ``"stderr"``.
        root: the logger to configure (default: the root logger).
        noisy_level: level for :data:`DEFAULT_NOISY_LOGGERS` and the
            instrumented libraries' loggers (never below ``level``); None
            leaves them alone. Loggers the application already set a level
            on are not changed.
        noisy_loggers: replace the list of noisy logger names.
        enrich_existing: also add a :class:`ContextFilter` to the handlers
            ``root`` already has (see :func:`enrich_handlers`).
        service_name: fixed ``service.name``; default: the configured resource's.
        environ: read these variables instead of ``os.environ``.

    Raises:
        ConfigurationError: a level, format or file that cannot be used; the
            message names the argument or environment variable and the value.
            Nothing is changed.
    """
    settings = resolve_logging_settings(level, fmt, file, environ=environ)
    noisy = None if noisy_level is None else _parse_level("noisy_level", noisy_level)
    handler = _make_handler(settings)
    _install(
        handler,
        settings,
        root=root,
        noisy_level=noisy,
        noisy_loggers=noisy_loggers,
        enrich_existing=enrich_existing,
        service_name=service_name,
    )
    return handler


def _install(
    handler: logging.Handler,
    settings: LoggingSettings,
    *,
    root: logging.Logger | str | None = None,
    noisy_level: int | None = logging.WARNING,
    noisy_loggers: Iterable[str] | None = None,
    enrich_existing: bool = False,
    service_name: str | None = None,
) -> None:
    """Attach ``handler`` (from :func:`_make_handler`) as configure_logging does."""
    logger = _resolve_logger(root)
    if noisy_loggers is None and noisy_level is not None:
        from otel_agentkit.instrumentation import library_loggers

        noisy_loggers = DEFAULT_NOISY_LOGGERS + library_loggers()
    with _lock:
        _remove_installed()
        sink = _sink(handler)
        for existing in list(logger.handlers):
            if sink is not None and _sink(existing) == sink:
                logger.removeHandler(existing)
        if enrich_existing:
            enrich_handlers(logger, service_name=service_name)
        formatter: logging.Formatter = (
            TextFormatter(service_name=service_name)
            if settings.fmt == "text"
            else JsonFormatter(service_name=service_name)
        )
        handler.setFormatter(formatter)
        handler.addFilter(ContextFilter(service_name=service_name))
        setattr(handler, _MANAGED, True)
        logger.addHandler(handler)
        logger.setLevel(settings.level)
        _installed.append((logger, handler))
        _set_noisy(
            tuple(noisy_loggers or ()),
            None if noisy_level is None else max(noisy_level, settings.level),
        )


def reset_logging() -> None:
    """Undo :func:`configure_logging` and :func:`enrich_handlers`.

    Removes and closes the handler installed, removes the filters added to
    other handlers and restores the noisy loggers' levels. The level set on
    the configured logger is left as it is.
    """
    with _lock:
        _remove_installed()
        while _enriched:
            handler, context_filter = _enriched.pop()
            handler.removeFilter(context_filter)
        _set_noisy((), None)
