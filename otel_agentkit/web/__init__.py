"""Web framework integrations: request ids, HTTP metrics, ``/metrics`` and ``/health``.

One call makes a Flask or FastAPI/Starlette app observable::

    from otel_agentkit.web.flask import instrument_app      # Flask
    from otel_agentkit.web.fastapi import instrument_app    # FastAPI / Starlette

The framework modules import their framework and the official OpenTelemetry
instrumentation when they are imported; this package itself imports only the
standard library, so ``import otel_agentkit.web`` stays light.

:func:`record_rate_limit_exceeded` (the same function as
``otel_agentkit.metrics.record_rate_limit_exceeded``) is for an app's rate
limiter: call it each time a request is refused, with the route template it
was refused on, never a client id.
"""

from __future__ import annotations

from otel_agentkit.metrics import record_rate_limit_exceeded

__all__ = [
    "DEFAULT_REQUEST_ID_HEADER",
    "is_valid_request_id",
    "record_rate_limit_exceeded",
]

#: Header read for an incoming request id and set on every response.
DEFAULT_REQUEST_ID_HEADER = "X-Request-ID"


def is_valid_request_id(value: str) -> bool:
    """Whether ``value`` is accepted as an incoming request id.

    Accepted: 1 to 128 characters of ``A-Z a-z 0-9 . _ : -``. Anything else is
    replaced by a fresh UUID4 (and the rejection is logged, escaped).
    """
    from otel_agentkit.web._common import is_valid_request_id as check

    return check(value)
