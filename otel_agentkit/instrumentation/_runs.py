"""Framework runs as spans: an operation started on one callback and ended on another.

Agent frameworks report an agent run, a tool call or a guardrail as two
events (the OpenAI Agents SDK's ``on_span_start`` / ``on_span_end``,
LangChain's ``on_tool_start`` / ``on_tool_end``) with an id of their own.
:class:`OpenRuns` keeps the :class:`~otel_agentkit.decorators.TracedOperation`
of each run between the two (so the span, its attributes and its duration
metric are the decorators', not a second copy), and makes the run's span
current from its start to its end, so that what runs inside it (a provider
instrumentor's ``chat`` span, a nested run) becomes its child.

Making a span current from one callback to the other is an ``attach`` in
the first and a ``detach`` in the second; both run in the same context when
the framework's own context handling does (it sets its own context variable
the same way), and the detach is skipped, never forced, when something else
is current by then.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from opentelemetry import context as otel_context

from otel_agentkit.decorators import TracedOperation
from otel_agentkit.instrumentation._base import log_internal_error

__all__ = ["OpenRuns"]


class _Run:
    __slots__ = ("context", "operation", "token")

    def __init__(self, operation: TracedOperation, context: otel_context.Context | None) -> None:
        self.operation = operation
        self.context = context  # what was attached (None: nothing)
        self.token: Any = None


class OpenRuns:
    """The operations a framework has started and not yet ended, by the framework's run id."""

    def __init__(self) -> None:
        self._runs: dict[Hashable, _Run] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._runs)

    def context_of(self, run_id: Hashable | None) -> otel_context.Context | None:
        """The context of the open run ``run_id`` (its span current); None if unknown."""
        if run_id is None:
            return None
        run = self._runs.get(run_id)
        return None if run is None else run.operation.context

    def operation(self, run_id: Hashable) -> TracedOperation | None:
        """The operation of the open run ``run_id``, if any."""
        run = self._runs.get(run_id)
        return None if run is None else run.operation

    def start(
        self,
        run_id: Hashable,
        operation: TracedOperation,
        parent: otel_context.Context | None = None,
        *,
        current: bool = True,
        context: otel_context.Context | None = None,
        start_time: int | None = None,
    ) -> None:
        """Start ``operation`` as a child of ``parent`` (default: the current span) and
        keep it as ``run_id``; with ``current``, attach its context (or ``context``,
        built on it) until :meth:`end`. ``start_time`` back-dates it
        (:meth:`TracedOperation.start`)."""
        operation.start(parent, start_time=start_time)
        attach = context if context is not None else operation.context
        run = _Run(operation, attach if current else None)
        if run.context is not None:
            run.token = otel_context.attach(run.context)
        with self._lock:
            self._runs[run_id] = run

    def end(
        self,
        run_id: Hashable,
        exc: BaseException | None = None,
        *,
        error_type: str | None = None,
        description: str | None = None,
    ) -> TracedOperation | None:
        """End run ``run_id``: a success, or a failure with ``exc`` or ``error_type``.

        Detaches its context when it is still the current one. Returns the
        operation (None for an unknown run: ended already, or never started).
        """
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None:
            return None
        if run.context is not None and otel_context.get_current() is run.context:
            try:
                otel_context.detach(run.token)
            except Exception:  # pragma: no cover - defensive
                log_internal_error("framework run detach")
        if error_type is not None:
            run.operation.end_with_error(error_type, description)
        else:
            run.operation.end(exc)
        return run.operation

    def end_all(self) -> None:
        """End every open run (the framework shut down), without detaching."""
        with self._lock:
            runs, self._runs = list(self._runs.values()), {}
        for run in runs:
            run.operation.end()
