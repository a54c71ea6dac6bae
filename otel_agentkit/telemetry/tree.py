"""A span exporter that prints one compact tree per trace, for the terminal.

::

    import otel_agentkit as agentkit

    agentkit.configure(traces_exporter="tree")   # or OTEL_TRACES_EXPORTER=tree

prints, when a trace's root span ends::

    POST /ask  42.1 ms  200  request demo-0001  trace 4bf92f3577b34da6a3ce929d0e0e4736
    ├── apply_guardrail no_card_numbers  0.1 ms  allow
    └── invoke_agent planner  40.2 ms
        ├── chat fake-model  11.0 ms  40 in / 8 out tokens  $0.000012  tool_calls
        └── execute_tool convert_currency  0.1 ms  ERROR TimeoutError: upstream timed out

Spans are held until the root span of their trace (a span with no parent, or
a remote one) has been exported, so children that end first, traces that
interleave and batches that split a trace all print as one tree per trace.
A span that ends after its trace was printed is printed on its own, under a
line naming its parent; spans whose root never ended are printed at
shutdown. Colour is used on a terminal (not with ``NO_COLOR``; always with
``FORCE_COLOR``), box-drawing characters when the stream can encode them.

The class is registered in the SDK's ``opentelemetry_traces_exporter``
entry-point group as ``tree``, so ``OTEL_TRACES_EXPORTER=tree`` works under
``opentelemetry-instrument`` with any configurator. :func:`render_trace`
draws the same tree from any list of finished spans.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, TextIO

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from otel_agentkit import semconv
from otel_agentkit.pricing import price_for

__all__ = ["TreeSpanExporter", "render_trace"]

#: Characters of a span's status description shown.
_DESCRIPTION_LIMIT: Final = 80
#: Span ids remembered per exporter after their trace printed (to place late spans).
_PRINTED_LIMIT: Final = 10_000
_UNICODE: Final = ("├── ", "└── ", "│   ", "    ")
_ASCII: Final = ("|-- ", "`-- ", "|   ", "    ")
_RESET: Final = "\033[0m"
_STYLES: Final = {
    "name": "\033[1m",
    "dim": "\033[2m",
    "error": "\033[31m",
    "warn": "\033[33m",
    "tokens": "\033[32m",
}


def _use_color(out: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(out, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _can_draw_boxes(out: TextIO) -> bool:
    encoding = (getattr(out, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    return encoding in ("utf8", "utf16", "utf32")


def _duration(span: ReadableSpan) -> str:
    if span.start_time is None or span.end_time is None:
        return "not ended"
    seconds = (span.end_time - span.start_time) / 1e9
    if seconds >= 1:
        return f"{seconds:.2f} s"
    millis = seconds * 1000
    return f"{millis:.2f} ms" if millis < 1 else f"{millis:.1f} ms"


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, style: str, text: str) -> str:
        return f"{_STYLES[style]}{text}{_RESET}" if self.color else text


def _tokens(attrs: Mapping[str, Any], paint: _Painter) -> list[str]:
    """Token counts and, when prices are set for the model, the estimated cost."""
    input_tokens = attrs.get(semconv.GEN_AI_USAGE_INPUT_TOKENS)
    output_tokens = attrs.get(semconv.GEN_AI_USAGE_OUTPUT_TOKENS)
    if input_tokens is None and output_tokens is None:
        return []
    counts = [f"{input_tokens} in"] if input_tokens is not None else []
    counts += [f"{output_tokens} out"] if output_tokens is not None else []
    parts = [paint("tokens", " / ".join(counts) + " tokens")]
    price = price_for(
        None, attrs.get(semconv.GEN_AI_RESPONSE_MODEL), attrs.get(semconv.GEN_AI_REQUEST_MODEL)
    )
    if price is not None:
        cost = price.input_cost(
            int(input_tokens or 0),
            attrs.get(semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
            attrs.get(semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS),
        ) + price.output_cost(int(output_tokens or 0))
        parts.append(f"${cost:.6f}")
    return parts


def _details(span: ReadableSpan, paint: _Painter) -> list[str]:
    """The key attributes of a span, short: model, tokens, rows, decision, status."""
    attrs: Mapping[str, Any] = span.attributes or {}
    parts: list[str] = []
    status_code = attrs.get(semconv.HTTP_RESPONSE_STATUS_CODE)
    if status_code is not None:
        parts.append(str(status_code))
    request_id = attrs.get(semconv.AGENTKIT_REQUEST_ID)
    if request_id is not None:
        parts.append(f"request {request_id}")
    request_model = attrs.get(semconv.GEN_AI_REQUEST_MODEL)
    response_model = attrs.get(semconv.GEN_AI_RESPONSE_MODEL)
    if response_model and response_model != request_model:
        parts.append(f"model {response_model}")
    if semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in attrs:
        first = float(attrs[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]) * 1000
        parts.append(f"stream, first chunk {first:.1f} ms")
    parts += _tokens(attrs, paint)
    finish = attrs.get(semconv.GEN_AI_RESPONSE_FINISH_REASONS)
    if finish:
        parts.append(",".join(map(str, finish)))
    tool_calls = attrs.get(semconv.AGENTKIT_RESPONSE_TOOL_CALL_NAMES)
    if tool_calls:
        parts.append("calls " + ",".join(map(str, tool_calls)))
    if semconv.DB_SYSTEM_NAME in attrs and semconv.GEN_AI_OPERATION_NAME not in attrs:
        parts.append(str(attrs[semconv.DB_SYSTEM_NAME]))
    rows = attrs.get(semconv.DB_RESPONSE_RETURNED_ROWS)
    if rows is not None:
        parts.append(f"{rows} rows")
    documents = attrs.get(semconv.AGENTKIT_RETRIEVAL_RETURNED_DOCUMENTS)
    if documents is not None:
        parts.append(f"{documents} docs")
    decision = attrs.get(semconv.AGENTKIT_GUARDRAIL_DECISION)
    if decision is not None:
        reason = attrs.get(semconv.AGENTKIT_GUARDRAIL_REASON)
        text = f"{decision}: {reason}" if reason else str(decision)
        parts.append(paint("warn", text) if decision != semconv.GUARDRAIL_ALLOW else text)
    if span.status.status_code is StatusCode.ERROR:
        error = str(attrs.get(semconv.ERROR_TYPE) or "error")
        description = " ".join((span.status.description or "").split())
        if description.startswith(error):  # "TimeoutError: ..." already names the type
            description = description[len(error) :].lstrip(": ")
        if len(description) > _DESCRIPTION_LIMIT:
            description = description[: _DESCRIPTION_LIMIT - 3] + "..."
        parts.append(paint("error", f"ERROR {error}" + (f": {description}" if description else "")))
    return parts


def _line(span: ReadableSpan, paint: _Painter) -> str:
    return "  ".join(
        [paint("name", span.name), paint("dim", _duration(span)), *_details(span, paint)]
    )


def _start(span: ReadableSpan) -> int:
    return span.start_time or 0


def _draw(
    span: ReadableSpan,
    children: Mapping[int, list[ReadableSpan]],
    paint: _Painter,
    glyphs: tuple[str, str, str, str],
    lines: list[str],
    prefix: str = "",
) -> None:
    kids = sorted(children.get(span.context.span_id, ()), key=_start)
    for index, child in enumerate(kids):
        last = index == len(kids) - 1
        lines.append(prefix + glyphs[1 if last else 0] + _line(child, paint))
        _draw(child, children, paint, glyphs, lines, prefix + glyphs[3 if last else 2])


def _render(
    heads: Sequence[ReadableSpan],
    spans: Iterable[ReadableSpan],
    *,
    color: bool,
    unicode: bool,
    note: str | None = None,
) -> str:
    """Draw each head span with its descendants among ``spans``."""
    paint = _Painter(color)
    glyphs = _UNICODE if unicode else _ASCII
    children: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        if span.parent is not None:
            children.setdefault(span.parent.span_id, []).append(span)
    lines: list[str] = []
    if note is not None:
        lines.append(paint("dim", note))
    for head in sorted(heads, key=_start):
        trace_id = paint("dim", f"trace {head.context.trace_id:032x}")
        lines.append(f"{_line(head, paint)}  {trace_id}")
        _draw(head, children, paint, glyphs, lines)
    return "\n".join(lines) + "\n"


def _is_root(span: ReadableSpan) -> bool:
    return span.parent is None or span.parent.is_remote


def render_trace(
    spans: Iterable[ReadableSpan], *, color: bool = False, unicode: bool = True
) -> str:
    """The tree of finished ``spans`` (one trace, or several), as printed by the exporter.

    Spans whose parent is not among ``spans`` are drawn as roots of their own.
    """
    spans = list(spans)
    ids = {s.context.span_id for s in spans}
    heads = [s for s in spans if _is_root(s) or s.parent is None or s.parent.span_id not in ids]
    return _render(heads, spans, color=color, unicode=unicode)


class TreeSpanExporter(SpanExporter):
    """Print one compact tree per trace to ``out`` (default: standard output).

    Args:
        out: a text stream; default ``sys.stdout`` (looked up at each write).
        color: force colour on or off; default: on for a terminal.
        max_pending_spans: spans held waiting for their root; past it the
            oldest trace is printed as it is, so memory stays bounded.
    """

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        color: bool | None = None,
        max_pending_spans: int = 10_000,
    ) -> None:
        self._out = out
        self._color = color
        self._max_pending = max_pending_spans
        self._lock = threading.Lock()
        #: trace id -> span id -> span, for traces whose root has not been printed.
        self._pending: OrderedDict[int, dict[int, ReadableSpan]] = OrderedDict()
        self._pending_count = 0
        #: span id -> span name, of spans already printed (bounded).
        self._printed: OrderedDict[int, str] = OrderedDict()
        self._shut_down = False

    # -- SpanExporter -----------------------------------------------------------

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Hold the spans; print every subtree whose head is now known."""
        if self._shut_down:
            return SpanExportResult.FAILURE
        with self._lock:
            heads: list[ReadableSpan] = []
            for span in spans:
                trace = self._pending.setdefault(span.context.trace_id, {})
                trace[span.context.span_id] = span
                self._pending_count += 1
                if _is_root(span) or (
                    span.parent is not None and span.parent.span_id in self._printed
                ):
                    heads.append(span)
            for head in heads:
                self._print_subtree(head)
            while self._pending_count > self._max_pending and self._pending:
                self._print_incomplete(next(iter(self._pending)), "spans held too long")
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing is buffered for writing; traces still waiting for their root stay held."""
        return True

    def shutdown(self) -> None:
        """Print the traces whose root never ended, then stop."""
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
            for trace_id in list(self._pending):
                self._print_incomplete(trace_id, "root span did not end before shutdown")

    # -- internals (called with the lock held) ------------------------------------

    def _stream(self) -> TextIO:
        return self._out if self._out is not None else sys.stdout

    def _write(
        self, heads: Sequence[ReadableSpan], spans: Iterable[ReadableSpan], note: str | None
    ) -> None:
        out = self._stream()
        color = _use_color(out) if self._color is None else self._color
        text = _render(heads, spans, color=color, unicode=_can_draw_boxes(out), note=note)
        try:
            out.write(text)
            out.flush()
        except (OSError, ValueError):  # a closed or broken stream must not break the app
            pass

    def _take(self, trace_id: int, head: ReadableSpan) -> list[ReadableSpan]:
        """Remove ``head`` and its pending descendants from the trace; return them."""
        trace = self._pending.get(trace_id, {})
        children: dict[int, list[ReadableSpan]] = {}
        for span in trace.values():
            if span.parent is not None:
                children.setdefault(span.parent.span_id, []).append(span)
        taken, stack = [], [head]
        while stack:
            span = stack.pop()
            if trace.pop(span.context.span_id, None) is None:
                continue
            taken.append(span)
            stack.extend(children.get(span.context.span_id, ()))
        self._pending_count -= len(taken)
        if not trace:
            self._pending.pop(trace_id, None)
        for span in taken:
            self._printed[span.context.span_id] = span.name
            if len(self._printed) > _PRINTED_LIMIT:
                self._printed.popitem(last=False)
        return taken

    def _print_subtree(self, head: ReadableSpan) -> None:
        trace_id = head.context.trace_id
        if head.context.span_id not in self._pending.get(trace_id, {}):
            return  # already printed as part of an earlier head's subtree
        note = None
        if not _is_root(head) and head.parent is not None:
            parent = self._printed.get(head.parent.span_id, "?")
            note = f"(ended after its trace was printed; parent: {parent})"
        self._write([head], self._take(trace_id, head), note)

    def _print_incomplete(self, trace_id: int, why: str) -> None:
        trace = self._pending.get(trace_id, {})
        tops = [s for s in trace.values() if s.parent is None or s.parent.span_id not in trace]
        spans: list[ReadableSpan] = []
        for top in tops:
            spans += self._take(trace_id, top)
        self._pending.pop(trace_id, None)
        if spans:
            self._write(tops, spans, f"trace {trace_id:032x} ({why}):")
