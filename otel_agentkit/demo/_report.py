"""What the demo prints: two trace trees, their log lines, the summary, where to look next."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from otel_agentkit import semconv
from otel_agentkit.demo._driver import Sent
from otel_agentkit.demo._scrape import ROUTE, Summary
from otel_agentkit.telemetry.tree import render_trace

#: Log lines shown under the request's tree.
_LOG_LINES = 3


def _traces(spans: Iterable[ReadableSpan]) -> dict[int, list[ReadableSpan]]:
    found: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        found.setdefault(span.context.trace_id, []).append(span)
    return found


def _by_request_id(spans: Iterable[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    """Request id -> the spans of the trace whose server span carries it."""
    found: dict[str, list[ReadableSpan]] = {}
    for trace in _traces(spans).values():
        for span in trace:
            request_id = (span.attributes or {}).get(semconv.AGENTKIT_REQUEST_ID)
            if span.parent is None and isinstance(request_id, str):
                found[request_id] = trace
    return found


def _has_error(trace: Sequence[ReadableSpan]) -> bool:
    return any(s.status.status_code is StatusCode.ERROR for s in trace)


@dataclass
class Report:
    """Everything one run produced, ready to print or to dump as JSON."""

    sent: list[Sent]
    spans: list[ReadableSpan]
    summary: Summary
    app_url: str
    health: Mapping[str, Any]
    log_file: str
    otlp: list[str]
    fake_model: bool
    _traces: dict[str, list[ReadableSpan]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._traces = _by_request_id(self.spans)

    # -- choosing what to show ----------------------------------------------------

    def example(self) -> Sent | None:
        """The answered request with the richest trace (the first of equals)."""
        answered = [
            s for s in self.sent if s.status == 200 and s.planned.request_id in self._traces
        ]
        if not answered:
            return None
        return max(answered, key=lambda s: len(self._traces[s.planned.request_id]))

    def failed(self) -> Sent | None:
        """The first request the server failed (5xx), else the first with an error span."""
        for sent in self.sent:
            if sent.status >= 500 and sent.planned.request_id in self._traces:
                return sent
        for sent in self.sent:
            trace = self._traces.get(sent.planned.request_id)
            if trace is not None and _has_error(trace):
                return sent
        return None

    def trace_of(self, sent: Sent) -> list[ReadableSpan]:
        """The spans of ``sent``'s trace."""
        return self._traces.get(sent.planned.request_id, [])

    def log_lines(self, request_id: str) -> list[str]:
        """The JSON log lines written while ``request_id`` was handled."""
        lines = []
        try:
            with open(self.log_file, encoding="utf-8") as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict) and record.get("request_id") == request_id:
                        lines.append(line.rstrip("\n"))
        except OSError:
            return []
        return lines

    # -- output -----------------------------------------------------------------------

    def to_json(self) -> str:
        """The run as one JSON object (the ``--json`` output)."""
        example, failed = self.example(), self.failed()

        def trace_id(sent: Sent | None) -> str | None:
            if sent is None:
                return None
            return f"{self.trace_of(sent)[0].context.trace_id:032x}"

        return json.dumps(
            {
                "requests": [
                    {"request_id": s.planned.request_id, "status": s.status} for s in self.sent
                ],
                "summary": self.summary.to_dict(),
                "example_request": example.planned.request_id if example else None,
                "example_trace_id": trace_id(example),
                "failed_request": failed.planned.request_id if failed else None,
                "failed_trace_id": trace_id(failed),
                "metrics_url": f"{self.app_url}/metrics",
                "health_url": f"{self.app_url}/health",
                "health": self.health.get("status"),
                "log_file": self.log_file,
                "otlp_endpoints": self.otlp,
            },
            sort_keys=True,
        )

    def print(self, out: TextIO) -> None:
        """The human report."""
        color = bool(getattr(out, "isatty", lambda: False)())
        encoding = (getattr(out, "encoding", None) or "").lower().replace("-", "")
        unicode = encoding.startswith("utf")
        write = out.write
        statuses = ", ".join(f"{n} x {code}" for code, n in sorted(self._status_counts().items()))
        model = "the fake model server" if self.fake_model else "your model server"
        write(
            f"\nSent {len(self.sent)} requests to {self.app_url}{ROUTE} "
            f"(agent -> {model}): {statuses}\n"
        )
        example = self.example()
        if example is not None:
            self._print_trace(out, "One request", example, color, unicode, logs=True)
        failed = self.failed()
        if failed is not None:
            title = "A failed request" if failed.status >= 500 else "A request where a step failed"
            self._print_trace(out, title, failed, color, unicode, logs=False)
        else:
            write("\nNo request failed.\n")
        self._print_summary(out)
        self._print_next(out)
        out.flush()

    def _status_counts(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for sent in self.sent:
            counts[sent.status] = counts.get(sent.status, 0) + 1
        return counts

    def _print_trace(
        self, out: TextIO, title: str, sent: Sent, color: bool, unicode: bool, *, logs: bool
    ) -> None:
        answer = sent.body.get("answer") or sent.body.get("error") or ""
        out.write(
            f"\n{title}: {sent.planned.request_id} {sent.planned.question!r} -> "
            f"{sent.status} {str(answer)[:80]!r}\n\n"
        )
        out.write(render_trace(self.trace_of(sent), color=color, unicode=unicode))
        if logs:
            lines = self.log_lines(sent.planned.request_id)
            out.write(f"\nIts log lines (JSON, {len(lines)} in {self.log_file}), for example:\n")
            for line in lines[:_LOG_LINES]:
                out.write(f"  {line}\n")

    def _print_summary(self, out: TextIO) -> None:
        s = self.summary
        rows: list[tuple[str, str]] = []
        statuses = ", ".join(f"{n} x {code}" for code, n in sorted(s.requests.items()))
        rows.append(("requests", f"{s.total_requests} ({statuses})"))
        p95 = "n/a" if s.p95_seconds is None else f"{s.p95_seconds * 1000:.0f} ms"
        rows.append(("p95 latency", f"{p95} (POST {ROUTE}, from the histogram buckets)"))
        calls = ", ".join(f"{n} {op}" for op, n in sorted(s.llm_calls.items()))
        rows.append(
            ("model calls", f"{sum(s.llm_calls.values())}: {calls} ({s.llm_errors} failed)")
        )
        rows.append(("tokens by model", _tokens(s.tokens_by_model)))
        rows.append(
            (
                "tokens by agent",
                _tokens(s.tokens_by_agent)
                if s.tokens_by_agent is not None
                else "(the token metric has no gen_ai.agent.name label)",
            )
        )
        tools = ", ".join(
            f"{tool} {n}" + (f" ({s.tool_errors[tool]} failed)" if s.tool_errors.get(tool) else "")
            for tool, n in sorted(s.tool_calls.items())
        )
        rows.append(("tool calls", tools or "none"))
        blocks = sum(s.guardrail_blocks.values())
        names = ", ".join(sorted(s.guardrail_blocks))
        rows.append(("guardrail blocks", f"{blocks}" + (f" ({names})" if names else "")))
        rows.append(("vector-store calls", str(s.vector_queries)))
        rows.append(("estimated cost", f"${s.cost_usd:.6f} (prices set for the demo)"))
        checks = self.health.get("checks")
        details = ""
        if isinstance(checks, Mapping):
            details = (
                " ("
                + ", ".join(
                    f"{name} {c.get('status')}"
                    for name, c in checks.items()
                    if isinstance(c, Mapping)
                )
                + ")"
            )
        rows.append(("health", f"{self.health.get('status')}{details}"))
        width = max(len(k) for k, _ in rows)
        out.write(f"\nSummary, from a live scrape of {self.app_url}/metrics:\n")
        for key, value in rows:
            out.write(f"  {key.ljust(width)}  {value}\n")

    def _print_next(self, out: TextIO) -> None:
        rows = [
            (f"{self.app_url}/metrics", "the Prometheus metrics (--serve keeps them up to scrape)"),
            (f"{self.app_url}/health", "the health checks"),
        ]
        if self.otlp:
            rows.append((", ".join(self.otlp), "got these traces, metrics and logs over OTLP"))
        else:
            rows.append(
                (
                    "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 otel-agentkit demo",
                    "the same traces in Jaeger",
                )
            )
        rows += [
            ("otel-agentkit stack", "a local Jaeger, Prometheus, Alertmanager and Grafana"),
            ("OTEL_TRACES_EXPORTER=tree", "these trees for your own app"),
            ("otel-agentkit doctor", "check your own setup"),
        ]
        out.write("\nWhere to look next:\n")
        for where, what in rows:
            out.write(f"  {where}\n      {what}\n")


def _tokens(table: Mapping[str, Mapping[str, int]]) -> str:
    if not table:
        return "none"
    return "; ".join(
        f"{key}: " + " / ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        for key, kinds in sorted(table.items())
    )
