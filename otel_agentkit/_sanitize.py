"""Make values from outside safe to export: valid UTF-8, bounded length, secrets redacted.

Whatever a request, a response, an exception or a caller hands us may become
a span name, an attribute, a metric label, a status description, an event or
a log record. Three things break or poison telemetry there:

* a lone surrogate (``"gpt-4o\\ud800"`` is valid JSON): it cannot be encoded
  as UTF-8, so the Prometheus exposition fails with ``UnicodeEncodeError`` on
  every later scrape and the OTLP encoder rejects the whole batch it is in;
* a huge value: a label is copied into every series and bucket line;
* a secret: an API key echoed in an error body, a token in a URL.

Every path that exports such a value goes through one of these:

* :func:`text` -- a name, label or attribute value: valid UTF-8, at most
  :data:`MAX_VALUE_LENGTH` characters; :func:`attributes` applies it to a
  mapping (strings, and strings inside sequences);
* :func:`message` -- free text (a status description, an exception message,
  a stack trace, a log line): redacted by the one pass of
  :func:`otel_agentkit._content.redact` first, then cut, then made valid UTF-8;
* :func:`describe`, :func:`record_exception` and :func:`exception_attributes`
  -- an exception as a status description, as the span's ``exception``
  event, and as a log record's ``exception.*`` fields; they never raise (an
  exception whose ``__str__`` raises is named by its type) and format the
  innermost :data:`MAX_FRAMES` stack frames.

The common case costs little: an ASCII string within its limit is returned
as it is after two cheap checks, and a mapping with nothing to change is
returned without a copy.

Imports only the standard library and ``opentelemetry-api``.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final

from opentelemetry.trace import Span, Status, StatusCode

from otel_agentkit import _content, semconv

__all__ = [
    "MAX_FRAMES",
    "MAX_MESSAGE_LENGTH",
    "MAX_STACKTRACE_LENGTH",
    "MAX_VALUE_LENGTH",
    "attributes",
    "describe",
    "exception_attributes",
    "exception_message",
    "message",
    "record_exception",
    "text",
]

#: Longest name, label or attribute value taken from outside, in characters.
MAX_VALUE_LENGTH: Final = 256
#: Longest status description or exception message, in characters.
MAX_MESSAGE_LENGTH: Final = 1024
#: Longest exported stack trace, in characters.
MAX_STACKTRACE_LENGTH: Final = 16384
#: Stack frames formatted per exception (the innermost ones, where it was raised).
MAX_FRAMES: Final = 64
#: Free text is cut to its limit plus this before it is redacted: a secret across
#: the limit stays whole for the patterns, and a megabyte message costs no more.
_REDACT_MARGIN: Final = 1024

_valid_utf8: Final = _content.valid_utf8


def text(value: str, limit: int = MAX_VALUE_LENGTH) -> str:
    """``value`` as valid UTF-8, cut to ``limit`` characters (with a marker when cut)."""
    if len(value) > limit:
        value = _content.truncate(value, limit)
    elif value.isascii():
        return value
    return _valid_utf8(value)


def _safe_value(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return text(value)
    if kind is list or kind is tuple:
        return [text(v) if type(v) is str else v for v in value]
    return value


def _is_safe(value: Any) -> bool:
    kind = type(value)
    if kind is str:
        return len(value) <= MAX_VALUE_LENGTH and value.isascii()
    if kind is list or kind is tuple:
        return all(
            type(v) is not str or (len(v) <= MAX_VALUE_LENGTH and v.isascii()) for v in value
        )
    return True


def attributes(values: Mapping[str, Any]) -> Mapping[str, Any]:
    """``values`` with every string (also inside a list or tuple) made safe by :func:`text`.

    The mapping itself is returned when nothing needed a change (the common case).
    """
    for value in values.values():
        # _is_safe, inline for the common values (a short ASCII string, a number):
        # this runs on every LLM call's attributes.
        kind = type(value)
        if kind is str:
            if len(value) <= MAX_VALUE_LENGTH and value.isascii():
                continue
        elif (kind is not list and kind is not tuple) or _is_safe(value):
            continue
        return {key: _safe_value(value) for key, value in values.items()}
    return values


def message(value: str, limit: int = MAX_MESSAGE_LENGTH) -> str:
    """Free text made safe to export: redacted, then cut to ``limit``, then valid UTF-8."""
    if len(value) > limit + _REDACT_MARGIN:
        value = value[: limit + _REDACT_MARGIN]
    value = _content.redact(value)
    if len(value) > limit:
        value = _content.truncate(value, limit)
    return value if value.isascii() else _valid_utf8(value)


def _type_name(exc: BaseException) -> str:
    return text(type(exc).__qualname__)


def exception_message(exc: BaseException) -> str:
    """``str(exc)`` made safe by :func:`message`; empty when ``__str__`` raises."""
    try:
        raw = str(exc)
    except Exception:
        return ""
    return message(raw) if raw else ""


def describe(exc: BaseException) -> str:
    """``"TypeName: message"`` (or the type alone) for a status description. Never raises."""
    kind = _type_name(exc)
    detail = exception_message(exc)
    return f"{kind}: {detail}" if detail else kind


def _innermost(tb: TracebackType | None) -> tuple[TracebackType | None, bool]:
    """The last :data:`MAX_FRAMES` entries of ``tb``, and whether any were left out.

    Found by following links only: the standard library would work out the
    code position of every entry first, and a RecursionError unwinding through
    N decorated calls formats N tracebacks of up to N entries each.
    """
    ahead = tb
    for _ in range(MAX_FRAMES):
        if ahead is None:
            return tb, False
        ahead = ahead.tb_next
    trimmed = False
    while ahead is not None and tb is not None:
        tb, ahead, trimmed = tb.tb_next, ahead.tb_next, True
    return tb, trimmed


def _stacktrace(exc: BaseException, tb: TracebackType | None) -> str:
    try:
        tb, trimmed = _innermost(tb)
        if trimmed:
            # A deep stack: its chained exceptions are as deep (and the standard
            # library walks them whole), so only the exception itself.
            lines = [
                "Traceback (most recent call last):\n",
                *traceback.format_list(traceback.extract_tb(tb)),
                *traceback.format_exception_only(type(exc), exc),
            ]
        else:
            lines = traceback.format_exception(type(exc), exc, tb)
        return message("".join(lines), MAX_STACKTRACE_LENGTH)
    except Exception:  # a __str__ that raises, a RecursionError while formatting
        return ""


def exception_attributes(
    exc: BaseException, tb: TracebackType | None = None, *, qualified: bool = True
) -> dict[str, str]:
    """``exception.type`` / ``.message`` / ``.stacktrace`` of ``exc``, made safe. Never raises.

    ``qualified``: the type with its module (``mypkg.errors.Failed``), as the
    SDK's span events name it; else its qualified name alone, as log records do.
    """
    module = type(exc).__module__
    kind = _type_name(exc)
    if qualified and module and module != "builtins":
        kind = text(f"{module}.{kind}")
    return {
        semconv.EXCEPTION_TYPE: kind,
        semconv.EXCEPTION_MESSAGE: exception_message(exc),
        semconv.EXCEPTION_STACKTRACE: _stacktrace(exc, tb if tb is not None else exc.__traceback__),
    }


def record_exception(
    span: Span, exc: BaseException, *, escaped: bool = True, status: str | None = None
) -> None:
    """Add the ``exception`` event (made safe) to a recording ``span``; set an ERROR status.

    The status description is ``status`` when given, else :func:`describe`;
    ``status=""`` leaves the status alone (a guardrail that blocked). Use it in
    place of ``span.record_exception`` + ``span.set_status``, which export the
    message and stack trace as they are and fail when ``__str__`` raises.
    """
    # The status first: near the recursion limit (a RecursionError unwinding) the
    # event may not fit on the stack, the status still does.
    if status != "":
        span.set_status(Status(StatusCode.ERROR, describe(exc) if status is None else status))
    event = exception_attributes(exc)
    event[semconv.EXCEPTION_ESCAPED] = str(escaped)
    span.add_event("exception", event)
