"""Cost of one enriched JSON log line against the stdlib's plain JSON formatting.

Both formatters format the same record (two ``extra=`` fields) inside the same
recording SDK span with a request id set. The baseline is what one would
write with the standard library alone: a ``logging.Formatter`` subclass that
``json.dumps`` timestamp, level, logger and message. The enriched formatter
adds service.name, trace/span/request ids and the extras, timestamps in
RFC 3339 UTC. Target: at most 1.5x the baseline.
"""

from __future__ import annotations

import json
import logging

from benchmarks._timing import per_call, table


class PlainJsonFormatter(logging.Formatter):
    """The stdlib-only baseline: the four basic fields through json.dumps."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "timestamp": self.formatTime(record),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
            }
        )


def main() -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    from otel_agentkit.context import request_id
    from otel_agentkit.logs import ContextFilter, JsonFormatter

    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    trace.set_tracer_provider(provider)  # as configure() does
    tracer = provider.get_tracer("bench")
    logger = logging.getLogger("bench.app")
    record = logger.makeRecord(
        logger.name,
        logging.INFO,
        __file__,
        1,
        "handled %s in %d ms",
        ("chat", 42),
        None,
        extra={"user_tier": "pro", "tokens": 812},
    )
    plain = PlainJsonFormatter()
    enriched = JsonFormatter(service_name="bench")
    enriched_lookup = JsonFormatter()  # service.name looked up per record
    context_filter = ContextFilter(service_name="bench")

    def filtered() -> str:
        # What a handler installed by configure_logging does: filter, then format.
        record.__dict__.pop("trace_id", None)
        record.__dict__.pop("span_id", None)
        context_filter.filter(record)
        return enriched.format(record)

    with tracer.start_as_current_span("chat gpt-4o") as span, request_id("req-1234"):
        span.set_attribute("gen_ai.response.id", "chatcmpl-abc123")
        assert "trace_id" in json.loads(enriched.format(record))
        t_plain = per_call(lambda: plain.format(record))
        t_enriched = per_call(lambda: enriched.format(record))
        t_lookup = per_call(lambda: enriched_lookup.format(record))
        t_filtered = per_call(filtered)
    provider.shutdown()

    def row(name: str, seconds: float) -> list[object]:
        return [name, f"{seconds * 1e6:.2f}", f"{seconds / t_plain:.2f}x"]

    print(
        table(
            "Logs: one JSON record (inside an LLM span, request id set, 2 extras)",
            ["formatter", "µs/record", "vs stdlib plain JSON"],
            [
                row("stdlib Formatter + json.dumps (4 fields)", t_plain),
                row("JsonFormatter (enriched, fixed service name)", t_enriched),
                row("JsonFormatter (service.name from the provider)", t_lookup),
                row("ContextFilter + JsonFormatter (configure_logging)", t_filtered),
            ],
        )
    )


if __name__ == "__main__":
    main()
