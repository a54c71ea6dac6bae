"""Counters agent servers keep besides spans: scheduler triggers, notifications, rate limits.

Each function adds 1 to an OpenTelemetry counter on the global meter
provider (nothing happens when none is installed) and never raises::

    from otel_agentkit import metrics

    metrics.record_scheduler_trigger("nightly-digest")
    metrics.record_notification("slack", "sent")
    metrics.record_rate_limit_exceeded("/v1/chat")

Every attribute value becomes a time series label, so pass bounded names:
a job name, a channel, a route template (``/users/{id}``), never a user id,
client id, IP address or free text.

Imports only the OpenTelemetry API and the standard library.
"""

from __future__ import annotations

import logging

from otel_agentkit import _instruments, semconv

__all__ = ["record_notification", "record_rate_limit_exceeded", "record_scheduler_trigger"]

_log = logging.getLogger("otel_agentkit")


def record_scheduler_trigger(job: str) -> None:
    """Count one trigger of the scheduled job ``job`` (``agentkit.scheduler.triggers``)."""
    try:
        inst = _instruments.current()
        if inst is not None:
            inst.scheduler_triggers.add(1, {semconv.AGENTKIT_SCHEDULER_JOB: str(job)})
    except Exception:
        _log.debug("otel_agentkit: could not record a scheduler trigger", exc_info=True)


def record_notification(channel: str, status: str = semconv.NOTIFICATION_STATUS_SENT) -> None:
    """Count one outbound notification or webhook (``agentkit.notifications``).

    ``channel`` names the medium (``"email"``, ``"slack"``, ``"webhook"``);
    ``status`` the outcome, conventionally ``"sent"``, ``"failed"`` or ``"retried"``.
    """
    try:
        inst = _instruments.current()
        if inst is not None:
            inst.notifications.add(
                1,
                {
                    semconv.AGENTKIT_NOTIFICATION_CHANNEL: str(channel),
                    semconv.AGENTKIT_NOTIFICATION_STATUS: str(status),
                },
            )
    except Exception:
        _log.debug("otel_agentkit: could not record a notification", exc_info=True)


def record_rate_limit_exceeded(endpoint: str) -> None:
    """Count one request rejected by a rate limit (``agentkit.rate_limit.exceeded``).

    ``endpoint`` is the route template or a logical endpoint name. The client
    that hit the limit is deliberately not an argument: client ids must never
    become metric labels.
    """
    try:
        inst = _instruments.current()
        if inst is not None:
            inst.rate_limit_exceeded.add(1, {semconv.AGENTKIT_RATE_LIMIT_ENDPOINT: str(endpoint)})
    except Exception:
        _log.debug("otel_agentkit: could not record a rate-limit rejection", exc_info=True)
